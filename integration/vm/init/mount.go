package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"syscall"

	"github.com/factstream/factstream/integration/vm/internal/protocol"
)

// mountPoint is one file system init mounts.
type mountPoint struct {
	fstype string
	target string
	flags  uintptr
	data   string
}

// mountTable is in order: /proc first (it tells which file systems exist), /sys before what lives under
// it.
func mountTable() []mountPoint {
	return []mountPoint{
		{"proc", "/proc", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, ""},
		{"sysfs", "/sys", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, ""},
		{"devtmpfs", "/dev", syscall.MS_NOSUID, "mode=0755"},
		{"tmpfs", "/dev/shm", syscall.MS_NOSUID | syscall.MS_NODEV, "mode=1777"},
		{"tmpfs", "/tmp", syscall.MS_NOSUID | syscall.MS_NODEV, "mode=1777"},
		{"tmpfs", "/run", syscall.MS_NOSUID | syscall.MS_NODEV, "mode=0755"},
		{"bpf", "/sys/fs/bpf", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, "mode=0700"},
		{"cgroup2", "/sys/fs/cgroup", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, ""},
		{"securityfs", "/sys/kernel/security", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, ""},
		{"debugfs", "/sys/kernel/debug", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, ""},
		{"tracefs", "/sys/kernel/tracing", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC, ""},
	}
}

// mountAll mounts every file system the kernel knows; a failure is logged, not fatal: the program
// decides whether it can do without.
func mountAll(out io.Writer) {
	var known map[string]bool
	for _, m := range mountTable() {
		if known != nil && !known[m.fstype] {
			fmt.Fprint(out, protocol.Line(protocol.KindLog, fmt.Sprintf("no %s in this kernel, not mounting %s", m.fstype, m.target)))
			continue
		}
		if err := mountOne(m); err != nil {
			fmt.Fprint(out, protocol.Line(protocol.KindLog, err.Error()))
		}
		if m.target == "/proc" {
			known = fileSystems()
		}
	}
}

func mountOne(m mountPoint) error {
	if err := os.MkdirAll(m.target, 0o755); err != nil {
		return fmt.Errorf("creating mount point %s: %w", m.target, err)
	}
	if err := syscall.Mount(m.fstype, m.target, m.fstype, m.flags, m.data); err != nil {
		return fmt.Errorf("mounting %s on %s: %w", m.fstype, m.target, err)
	}
	return nil
}

// fileSystems reads /proc/filesystems; nil means unknown (then init tries every mount).
func fileSystems() map[string]bool {
	f, err := os.Open("/proc/filesystems")
	if err != nil {
		return nil
	}
	defer f.Close()
	known := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 {
			known[fields[len(fields)-1]] = true
		}
	}
	return known
}
