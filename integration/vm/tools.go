package vm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// ToolsPackage is the Debian package whose static busybox gives the guest a shell and the usual commands
// (sh, mkdir, mv, chmod, …), for tests that drive programs the way a user would.
const ToolsPackage = "busybox-static"

// GuestBusybox is where Options.Files must put the busybox binary: init installs a link for each of its
// applets in /bin before the program starts.
const GuestBusybox = "/bin/busybox"

// EnsureBusybox returns the host path of a static busybox from Debian's busybox-static package, fetching
// and caching it like the kernels (the host's own busybox, if any, is neither used nor replaced).
func EnsureBusybox(ctx context.Context) (string, error) {
	dir, err := CacheDir()
	if err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, lockName))
	if err != nil {
		return "", err
	}
	defer unlock()
	bin := filepath.Join(dir, ToolsPackage, "bin", "busybox")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	hasBusybox := func(root string) error {
		if _, err := os.Stat(filepath.Join(root, "bin", "busybox")); err != nil {
			return fmt.Errorf("no bin/busybox in the package: %w", err)
		}
		return nil
	}
	if _, err := fetchPackage(ctx, dir, ToolsPackage, hasBusybox); err != nil {
		return "", fmt.Errorf("fetching %s: %w", ToolsPackage, err)
	}
	return bin, nil
}
