package main

import (
	"syscall"
	"unsafe"
)

// tcsbrk with a non-zero argument is tcdrain(3): wait until the output has been sent.
const tcsbrk = 0x5409

// sysFinitModule is finit_module(2) on x86-64, the only architecture the harness boots; the standard
// library's syscall package predates it.
const sysFinitModule = 313

func ioctl(fd int, req, arg uintptr) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, arg); errno != 0 {
		return errno
	}
	return nil
}

// finitModule loads the module in the open file fd, without parameters.
func finitModule(fd int) error {
	params := [1]byte{} // an empty C string
	_, _, errno := syscall.Syscall(sysFinitModule, uintptr(fd), uintptr(unsafe.Pointer(&params[0])), 0)
	if errno != 0 {
		return errno
	}
	return nil
}
