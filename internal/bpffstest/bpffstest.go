// Package bpffstest gives tests a private BPF filesystem to pin probes in.
package bpffstest

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// Mount mounts a BPF filesystem on a fresh temporary directory and returns it; it is unmounted when the
// test ends, which also drops whatever was pinned there. It skips the test when it cannot mount (not root).
func Mount(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a BPF filesystem needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		t.Skipf("cannot mount a BPF filesystem: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}
