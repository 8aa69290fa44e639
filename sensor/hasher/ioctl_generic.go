//go:build amd64 || arm64 || 386 || arm || riscv64 || loong64 || s390x

package hasher

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// fsIocGetVersion is FS_IOC_GETVERSION, _IOR('v', 1, long) in the asm-generic ioctl layout, which
// x/sys/unix does not define.
const fsIocGetVersion = 2<<30 | uint(unsafe.Sizeof(uintptr(0)))<<16 | 'v'<<8 | 1

// getVersion reads fd's inode generation (FS_IOC_GETVERSION; the kernel writes an int). It fails where
// the filesystem does not tell (tmpfs: ENOTTY).
func getVersion(fd int) (uint32, error) { return unix.IoctlGetUint32(fd, fsIocGetVersion) }
