// Package containertest sets up what a container runtime would, for tests that need a process to name a
// file from another mount namespace: a thread in its own mount namespace, with a directory bind-mounted
// inside a new root. It needs root (CAP_SYS_ADMIN) and Linux. Run may be called from several goroutines
// at once: each call has a thread of its own.
package containertest

import (
	"fmt"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// Run runs fn on a thread of its own in a new mount namespace, with src bind-mounted at root/data (which
// must exist) and root as the thread's root directory, so fn sees src's files as /data/…. The thread
// ends with fn; the rest of the process never sees the namespace or the new root.
func Run(root, src string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		done <- enter(root, src, fn)
	}()
	return <-done
}

// enter switches the calling thread into the container and runs fn there.
func enter(root, src string, fn func() error) error {
	// CLONE_FS too: the thread's root and working directory become its own, so chroot stays on it.
	if err := unix.Unshare(unix.CLONE_NEWNS | unix.CLONE_FS); err != nil {
		return fmt.Errorf("unsharing the mount namespace: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if err := unix.Mount(src, filepath.Join(root, "data"), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind-mounting %s: %w", src, err)
	}
	if err := unix.Chroot(root); err != nil {
		return fmt.Errorf("changing root to %s: %w", root, err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("changing directory: %w", err)
	}
	return fn()
}
