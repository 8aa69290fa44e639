//go:build !amd64

package scan

import "golang.org/x/sys/unix"

// lstatAt stats the entry nameZ (its name followed by a NUL) relative to dirfd without following a
// symlink.
func lstatAt(dirfd int, nameZ []byte, st *unix.Stat_t) error {
	return unix.Fstatat(dirfd, string(nameZ[:len(nameZ)-1]), st, unix.AT_SYMLINK_NOFOLLOW)
}
