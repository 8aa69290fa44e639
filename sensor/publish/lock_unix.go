//go:build unix

package publish

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// spoolLockFile is held (flock) by the Publisher using a spool directory, so a second sensor on the same
// host path (a DaemonSet pod starting before the old one has exited) cannot interleave with its files.
const spoolLockFile = "lock"

func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating spool directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, spoolLockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening spool lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("locking spool %s: %w", dir, ErrSpoolLocked)
		}
		return nil, fmt.Errorf("locking spool %s: %w", dir, err)
	}
	return f, nil
}
