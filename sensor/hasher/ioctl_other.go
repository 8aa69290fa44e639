//go:build !(amd64 || arm64 || 386 || arm || riscv64 || loong64 || s390x)

package hasher

import "golang.org/x/sys/unix"

// getVersion fails on architectures whose ioctl numbers are laid out otherwise (mips, powerpc,
// sparc): the generation is then read from the file's handle where the layout is known.
func getVersion(int) (uint32, error) { return 0, unix.ENOTSUP }
