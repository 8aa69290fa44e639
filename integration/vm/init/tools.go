package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"

	"github.com/factstream/factstream/integration/vm/internal/protocol"
)

// busybox is where the harness puts a static busybox when a test needs a shell and commands.
const busybox = "/bin/busybox"

// guestHostname names the machine, so that programs that report their host see a plain name rather
// than the kernel's "(none)".
const guestHostname = "factstream-vm"

// setupSystem names the host, brings the loopback interface up (servers the program starts listen on
// 127.0.0.1) and, when the image carries busybox, links its applets into /bin. Failures are logged: the
// program decides whether it can do without.
func setupSystem(out io.Writer) {
	if err := unix.Sethostname([]byte(guestHostname)); err != nil {
		fmt.Fprint(out, protocol.Line(protocol.KindLog, fmt.Sprintf("setting the host name: %v", err)))
	}
	if err := loopbackUp(); err != nil {
		fmt.Fprint(out, protocol.Line(protocol.KindLog, fmt.Sprintf("bringing up lo: %v", err)))
	}
	if _, err := os.Stat(busybox); err != nil {
		return
	}
	if b, err := exec.Command(busybox, "--install", "-s", "/bin").CombinedOutput(); err != nil {
		fmt.Fprint(out, protocol.Line(protocol.KindLog, fmt.Sprintf("installing busybox applets: %v: %s", err, b)))
		return
	}
	fmt.Fprint(out, protocol.Line(protocol.KindLog, "busybox applets installed in /bin"))
}

// loopbackUp sets the IFF_UP flag of lo, which the kernel creates down.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening a socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("reading its flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("setting its flags: %w", err)
	}
	return nil
}
