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
	final := filepath.Join(dir, ToolsPackage)
	bin := filepath.Join(final, "bin", "busybox")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	removeAbandoned(dir)
	tmp, err := os.MkdirTemp(dir, ".fetch-*")
	if err != nil {
		return "", fmt.Errorf("creating download directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	root := filepath.Join(tmp, "root")
	if err := downloadAndUnpack(ctx, tmp, ToolsPackage, root); err != nil {
		return "", fmt.Errorf("fetching %s: %w", ToolsPackage, err)
	}
	if _, err := os.Stat(filepath.Join(root, "bin", "busybox")); err != nil {
		return "", fmt.Errorf("fetching %s: no bin/busybox in the package: %w", ToolsPackage, err)
	}
	if err := os.RemoveAll(final); err != nil {
		return "", fmt.Errorf("clearing %s: %w", final, err)
	}
	if err := os.Rename(root, final); err != nil {
		return "", fmt.Errorf("moving %s into the cache: %w", ToolsPackage, err)
	}
	return bin, nil
}
