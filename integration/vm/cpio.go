package vm

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"syscall"
)

// cpioWriter writes an archive in the "newc" format the kernel unpacks as its initramfs. Parent
// directories are added on first use.
type cpioWriter struct {
	w    *bufio.Writer
	ino  uint32
	dirs map[string]bool
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: bufio.NewWriterSize(w, 1<<20), dirs: map[string]bool{".": true, "/": true}}
}

// header writes one entry's header and name; name is relative ("init", "dev/console").
func (c *cpioWriter) header(name string, mode uint32, size int64, rdevMajor, rdevMinor uint32) error {
	c.ino++
	nlink := 1
	if mode&syscall.S_IFMT == syscall.S_IFDIR {
		nlink = 2
	}
	_, err := fmt.Fprintf(c.w, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%s\x00",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, rdevMajor, rdevMinor, len(name)+1, 0, name)
	if err != nil {
		return fmt.Errorf("writing cpio header of %s: %w", name, err)
	}
	return c.pad(110 + len(name) + 1)
}

// pad aligns to 4 bytes after n bytes.
func (c *cpioWriter) pad(n int) error {
	_, err := c.w.Write(make([]byte, (4-n%4)%4))
	return err
}

func (c *cpioWriter) parents(name string) error {
	dir := path.Dir(name)
	if c.dirs[dir] {
		return nil
	}
	if err := c.parents(dir); err != nil {
		return err
	}
	c.dirs[dir] = true
	return c.header(dir, syscall.S_IFDIR|0o755, 0, 0, 0)
}

// Dir adds a directory.
func (c *cpioWriter) Dir(name string) error {
	if err := c.parents(name + "/x"); err != nil {
		return err
	}
	return nil
}

// CharDev adds a character device node.
func (c *cpioWriter) CharDev(name string, perm, major, minor uint32) error {
	if err := c.parents(name); err != nil {
		return err
	}
	return c.header(name, syscall.S_IFCHR|perm, 0, major, minor)
}

// Bytes adds a regular file with the given content.
func (c *cpioWriter) Bytes(name string, perm uint32, data []byte) error {
	if err := c.parents(name); err != nil {
		return err
	}
	if err := c.header(name, syscall.S_IFREG|perm, int64(len(data)), 0, 0); err != nil {
		return err
	}
	if _, err := c.w.Write(data); err != nil {
		return fmt.Errorf("writing %s into cpio: %w", name, err)
	}
	return c.pad(len(data))
}

// File adds the host file src as name, keeping its permission bits.
func (c *cpioWriter) File(name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("opening %s: %w", src, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("reading %s: %w", src, err)
	}
	if err := c.parents(name); err != nil {
		return err
	}
	if err := c.header(name, syscall.S_IFREG|uint32(st.Mode().Perm()), st.Size(), 0, 0); err != nil {
		return err
	}
	n, err := io.Copy(c.w, f)
	if err != nil {
		return fmt.Errorf("copying %s into cpio: %w", src, err)
	}
	if n != st.Size() {
		return fmt.Errorf("copying %s into cpio: %d of %d bytes: %w", src, n, st.Size(), io.ErrUnexpectedEOF)
	}
	return c.pad(int(n % 4))
}

// Close writes the trailer and flushes.
func (c *cpioWriter) Close() error {
	if err := c.header("TRAILER!!!", 0, 0, 0, 0); err != nil {
		return err
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("flushing cpio: %w", err)
	}
	return nil
}
