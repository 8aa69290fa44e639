package bpf

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// syscallNumbers are the x86-64 numbers of the system calls the tracepoint set handles, by the name its
// handlers carry (enter_NAME, exit_NAME). A number the running kernel does not implement is harmless: the
// call fails with ENOSYS and exit handlers report only successes.
var syscallNumbers = map[string]uint32{
	"open": unix.SYS_OPEN, "openat": unix.SYS_OPENAT, "openat2": unix.SYS_OPENAT2, "creat": unix.SYS_CREAT,
	"mkdir": unix.SYS_MKDIR, "mkdirat": unix.SYS_MKDIRAT, "mknod": unix.SYS_MKNOD, "mknodat": unix.SYS_MKNODAT,
	"symlink": unix.SYS_SYMLINK, "symlinkat": unix.SYS_SYMLINKAT, "unlink": unix.SYS_UNLINK,
	"unlinkat": unix.SYS_UNLINKAT, "rmdir": unix.SYS_RMDIR, "rename": unix.SYS_RENAME,
	"renameat": unix.SYS_RENAMEAT, "renameat2": unix.SYS_RENAMEAT2, "link": unix.SYS_LINK,
	"linkat": unix.SYS_LINKAT, "chmod": unix.SYS_CHMOD, "fchmod": unix.SYS_FCHMOD,
	"fchmodat": unix.SYS_FCHMODAT, "fchmodat2": unix.SYS_FCHMODAT2, "chown": unix.SYS_CHOWN,
	"lchown": unix.SYS_LCHOWN, "fchown": unix.SYS_FCHOWN, "fchownat": unix.SYS_FCHOWNAT,
	"setxattr": unix.SYS_SETXATTR, "lsetxattr": unix.SYS_LSETXATTR, "fsetxattr": unix.SYS_FSETXATTR,
	"removexattr": unix.SYS_REMOVEXATTR, "lremovexattr": unix.SYS_LREMOVEXATTR,
	"fremovexattr": unix.SYS_FREMOVEXATTR, "mount": unix.SYS_MOUNT, "umount": unix.SYS_UMOUNT2,
	"move_mount": unix.SYS_MOVE_MOUNT, "close": unix.SYS_CLOSE, "close_range": unix.SYS_CLOSE_RANGE,
	"dup2": unix.SYS_DUP2, "dup3": unix.SYS_DUP3,
}

// fillSyscallTables puts every system-call handler of coll at its number in the dispatchers' program
// arrays. A set without them (the LSM set) is left alone.
func fillSyscallTables(coll *ebpf.Collection, d tpObjects) error {
	if d.SysEnterCalls == nil {
		return nil
	}
	tables := map[string]*ebpf.Map{"enter_": d.SysEnterCalls, "exit_": d.SysExitCalls}
	for name, prog := range coll.Programs {
		for prefix, table := range tables {
			call, ok := strings.CutPrefix(name, prefix)
			if !ok {
				continue
			}
			nr, known := syscallNumbers[call]
			if !known {
				return fmt.Errorf("handler %s: no system call number for %q", name, call)
			}
			if err := table.Update(nr, prog, ebpf.UpdateAny); err != nil {
				return fmt.Errorf("install handler %s at %d: %w", name, nr, err)
			}
		}
	}
	return nil
}
