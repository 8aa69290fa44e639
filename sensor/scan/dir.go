package scan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// dir lists one directory: it reports the entries that qualify, one chunk per getdents(2) call, and
// collects the subdirectories to walk in k.subs, queued only after their own entries reached the sink.
func (k *worker) dir(j job) error {
	fd, err := k.open(j)
	if err != nil {
		k.stats.fail(err)
		return nil
	}
	defer unix.Close(fd)
	k.stats.Dirs++
	for {
		n, err := unix.Getdents(fd, k.buf)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			k.stats.fail(fmt.Errorf("list %q: %w", j.host, err))
			return nil
		}
		if n <= 0 {
			return nil
		}
		k.chunk = k.chunk[:0]
		k.entries(fd, j, k.buf[:n])
		if len(k.chunk) > 0 {
			if err := k.w.sink(k.chunk); err != nil {
				return err
			}
		}
	}
}

// open opens the directory of j and checks that it is still the inode that was listed.
func (k *worker) open(j job) (int, error) {
	disk := k.w.disk(j.host)
	fd, err := unix.Open(disk, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1, fmt.Errorf("open %q: %w", j.host, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("stat %q: %w", j.host, err)
	}
	if st.Dev != j.dev || st.Ino != j.ino {
		unix.Close(fd)
		return -1, fmt.Errorf("open %q: %w", j.host, ErrChanged)
	}
	return fd, nil
}

// Offsets in struct linux_dirent64.
const (
	direntIno    = 0
	direntReclen = 16
	direntType   = 18
	direntName   = 19
)

// entries handles one getdents buffer.
func (k *worker) entries(fd int, j job, buf []byte) {
	for off := 0; off+direntName < len(buf); {
		reclen := int(binary.NativeEndian.Uint16(buf[off+direntReclen:]))
		if reclen == 0 || off+reclen > len(buf) {
			return
		}
		rec := buf[off : off+reclen]
		off += reclen
		nul := direntName
		for nul < len(rec) && rec[nul] != 0 {
			nul++
		}
		if nul == len(rec) {
			continue
		}
		name := rec[direntName:nul]
		if isDot(name) {
			continue
		}
		k.stats.Listed++
		k.entry(fd, j, rec[direntName:nul+1], rec[direntType])
	}
}

func isDot(name []byte) bool {
	return (len(name) == 1 && name[0] == '.') || (len(name) == 2 && name[0] == '.' && name[1] == '.')
}

// entry decides about one name: report it, walk it, or neither. nameZ ends with its NUL.
func (k *worker) entry(fd int, j job, nameZ []byte, dtype byte) {
	name := nameZ[:len(nameZ)-1]
	sname := unsafe.String(&name[0], len(name)) // the cursor does not keep it
	var st unix.Stat_t
	statted := false
	if dtype == unix.DT_UNKNOWN {
		if !k.lstat(fd, j, nameZ, &st) {
			return
		}
		statted = true
		dtype = dtypeOf(st.Mode)
	}
	if dtype != unix.DT_DIR {
		if !j.cur.ChildMatched(sname) {
			return
		}
		if !statted && !k.lstat(fd, j, nameZ, &st) {
			return
		}
		k.report(j, name, &st)
		return
	}
	cur := j.cur.Child(sname)
	report, descend := cur.Tracked(), cur.Descend()
	if !report && !descend {
		return
	}
	if !statted && !k.lstat(fd, j, nameZ, &st) {
		return
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR { // replaced since it was listed
		if report = j.cur.ChildMatched(sname); report {
			k.report(j, name, &st)
		}
		return
	}
	if st.Dev != j.dev && pseudo(k.w.disk(join(j.host, name))) {
		return
	}
	reported := report && k.report(j, name, &st)
	if descend {
		k.subs = append(k.subs, job{host: join(j.host, name), cur: cur, dev: st.Dev, ino: st.Ino, reported: reported})
	}
}

func (k *worker) lstat(fd int, j job, nameZ []byte, st *unix.Stat_t) bool {
	k.stats.Stats++
	if err := lstatAt(fd, nameZ, st); err != nil {
		if !errors.Is(err, unix.ENOENT) { // removed since it was listed: not an error
			k.stats.fail(fmt.Errorf("stat %q in %q: %w", nameZ[:len(nameZ)-1], j.host, err))
		}
		return false
	}
	return true
}

// report adds an entry to the chunk, as a root when its directory is not reported or it is the top of
// another filesystem. It returns false when the filesystem is filtered out.
func (k *worker) report(j job, name []byte, st *unix.Stat_t) bool {
	if !k.w.wantDev(st.Dev) {
		return false
	}
	e := entryOf(st, name, j.ino)
	e.Dir = j.host
	if !j.reported || st.Dev != j.dev {
		e.Root, e.Path, e.ParentIno = true, join(j.host, name), 0
	}
	k.count(&e)
	k.chunk = append(k.chunk, e)
	return true
}

// dtypeOf is the getdents type of a mode, as far as the walk cares: a directory or not.
func dtypeOf(mode uint32) byte {
	if mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.DT_DIR
	}
	return unix.DT_REG
}

// pseudo reports whether the directory at disk is on a pseudo filesystem, which a scan never enters:
// its files are not files, and some are endless.
func pseudo(disk string) bool {
	var fs unix.Statfs_t
	if err := unix.Statfs(disk, &fs); err != nil {
		return false
	}
	switch int64(fs.Type) {
	case unix.PROC_SUPER_MAGIC, unix.SYSFS_MAGIC, unix.CGROUP_SUPER_MAGIC, unix.CGROUP2_SUPER_MAGIC,
		unix.DEBUGFS_MAGIC, unix.TRACEFS_MAGIC, unix.SECURITYFS_MAGIC, unix.BPF_FS_MAGIC,
		unix.PSTOREFS_MAGIC, unix.EFIVARFS_MAGIC, unix.BINFMTFS_MAGIC, unix.NSFS_MAGIC,
		unix.DEVPTS_SUPER_MAGIC, fusectlMagic, configfsMagic:
		return true
	}
	return false
}

const (
	fusectlMagic  = 0x65735543
	configfsMagic = 0x62656570
)
