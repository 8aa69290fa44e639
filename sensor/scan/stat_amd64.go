package scan

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// lstatAt stats the entry nameZ (its name followed by a NUL, as getdents(2) leaves it) relative to
// dirfd, without following a symlink and without copying the name.
func lstatAt(dirfd int, nameZ []byte, st *unix.Stat_t) error {
	_, _, e := unix.Syscall6(unix.SYS_NEWFSTATAT, uintptr(dirfd), uintptr(unsafe.Pointer(&nameZ[0])),
		uintptr(unsafe.Pointer(st)), unix.AT_SYMLINK_NOFOLLOW, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
