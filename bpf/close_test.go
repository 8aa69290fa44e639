package bpf

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// closeChildEnv names the file a child process of TestCloseWrite writes and leaves open when it exits.
const closeChildEnv = "FACTSTREAM_CLOSE_CHILD_FILE"

// TestCloseWrite: with ReportCloses, the last release of a file opened for writing in a tracked directory
// gives one close_write record with the inode's identity and size, however the last descriptor goes (close,
// a second descriptor closed later, dup2 over it, close_range, the process exiting), and a file opened only
// for reading gives none.
func TestCloseWrite(t *testing.T) {
	if name := os.Getenv(closeChildEnv); name != "" {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE, 0o644)
		if err == nil {
			_, err = f.WriteString("child")
		}
		if err != nil {
			os.Exit(2)
		}
		os.Exit(0) // f is still open: the exit releases it
	}
	p := loadForTest(t, Options{ReportCloses: true})
	c := collect(t, p)
	mon := t.TempDir()
	must(t, p.TrackPath(mon))

	cases := []struct {
		name string
		do   func(t *testing.T, path string) // leaves path written and released
		size int64
	}{
		{"close", func(t *testing.T, path string) {
			must(t, os.WriteFile(path, []byte("abc"), 0o644))
		}, 3},
		{"second descriptor closed last", func(t *testing.T, path string) {
			fd := openWrite(t, path, "abcd")
			dup, err := unix.Dup(fd)
			must(t, err)
			must(t, unix.Close(fd))
			c.none(t, mon, path, "after closing the first of two descriptors")
			must(t, unix.Close(dup))
		}, 4},
		{"dup2 over it", func(t *testing.T, path string) {
			fd := openWrite(t, path, "ab")
			null, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			must(t, err)
			must(t, unix.Dup2(null, fd))
			must(t, unix.Close(fd))
			must(t, unix.Close(null))
		}, 2},
		{"close_range", func(t *testing.T, path string) {
			fd := openWrite(t, path, "abcde")
			must(t, unix.CloseRange(uint(fd), uint(fd), 0))
		}, 5},
		{"process exit", func(t *testing.T, path string) {
			self, err := os.Executable()
			must(t, err)
			cmd := exec.Command(self, "-test.run=^TestCloseWrite$")
			cmd.Env = append(os.Environ(), closeChildEnv+"="+path)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("child: %v: %s", err, out)
			}
		}, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(mon, "f-"+filepath.Base(t.Name()))
			tc.do(t, path)
			st := stat(t, path)
			got := c.closes(t, mon, st.Ino)
			if len(got) != 1 {
				t.Fatalf("%d close_write records of %s, want 1: %s", len(got), path, describe(got))
			}
			e := got[0]
			if uint64(e.Dev) != uint64(unix.Mkdev(unix.Major(st.Dev), unix.Minor(st.Dev))) || int64(e.Close.Size) != tc.size {
				t.Errorf("close_write dev %d size %d, want dev %d size %d: %s", e.Dev, e.Close.Size, st.Dev, tc.size, e)
			}
			if string(e.Path) != path {
				t.Errorf("close_write path %q, want %q (the sensor opens the file by it where it has no handle)", e.Path, path)
			}
			if gen, err := generation(path); err == nil && e.Close.Generation != gen {
				t.Errorf("close_write generation %d, want %d", e.Close.Generation, gen)
			}
			if e.Close.CtimeSec != st.Ctim.Sec || int64(e.Close.CtimeNsec) != st.Ctim.Nsec {
				t.Errorf("close_write ctime %d.%09d, want %d.%09d", e.Close.CtimeSec, e.Close.CtimeNsec, st.Ctim.Sec, st.Ctim.Nsec)
			}
		})
	}
	t.Run("read only", func(t *testing.T) {
		path := filepath.Join(mon, "read-only")
		must(t, os.WriteFile(path, nil, 0o644))
		c.closes(t, mon, stat(t, path).Ino) // the write's
		_, err := os.ReadFile(path)
		must(t, err)
		if got := c.closes(t, mon, stat(t, path).Ino); len(got) != 0 {
			t.Errorf("close_write records for a file only read: %s", describe(got))
		}
	})
}

// TestCloseWriteOff: without ReportCloses, no close_write record.
func TestCloseWriteOff(t *testing.T) {
	p := loadForTest(t, Options{})
	c := collect(t, p)
	mon := t.TempDir()
	must(t, p.TrackPath(mon))
	path := filepath.Join(mon, "f")
	must(t, os.WriteFile(path, []byte("abc"), 0o644))
	if got := c.closes(t, mon, stat(t, path).Ino); len(got) != 0 {
		t.Errorf("close_write records without ReportCloses: %s", describe(got))
	}
}

// closes returns the close_write records of inode ino seen before a marker in mon.
func (c *collector) closes(t *testing.T, mon string, ino uint64) []*Event {
	t.Helper()
	var out []*Event
	for _, e := range c.marker(t, mon) {
		if e.EventKind() == KindCloseWrite && e.Ino == ino {
			out = append(out, e)
		}
	}
	return out
}

// none fails if path has close_write records so far.
func (c *collector) none(t *testing.T, mon, path, when string) {
	t.Helper()
	if got := c.closes(t, mon, stat(t, path).Ino); len(got) != 0 {
		t.Fatalf("close_write records %s: %s", when, describe(got))
	}
}

func openWrite(t *testing.T, path, data string) int {
	t.Helper()
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	must(t, err)
	_, err = unix.Write(fd, []byte(data))
	must(t, err)
	return fd
}

// fsIocGetVersion is FS_IOC_GETVERSION on 64-bit Linux, _IOR('v', 1, long), which x/sys/unix does not name.
const fsIocGetVersion = 0x80087601

// generation is the file's i_generation, where its filesystem tells it.
func generation(path string) (uint32, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	v, err := unix.IoctlGetUint32(int(f.Fd()), fsIocGetVersion)
	return v, err
}
