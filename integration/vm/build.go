package vm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// initPackage is the harness's init program.
const initPackage = "github.com/factstream/factstream/integration/vm/init"

// BuildTestBinary builds the test binary of pkg (an import path or a path relative to the module root),
// static, with `CGO_ENABLED=0 go test -c` from the module root and returns its path. Within one test
// process a second call with the same arguments returns the same file without building again.
func BuildTestBinary(t testing.TB, pkg string, extraFlags ...string) string {
	t.Helper()
	args := append([]string{"test", "-c"}, extraFlags...)
	path, err := goBuildCached(t.Context(), append(args, pkg))
	if err != nil {
		t.Fatalf("building test binary of %s: %v", pkg, err)
	}
	return path
}

// buildInit builds the init program, cached for the process like BuildTestBinary.
func buildInit(ctx context.Context) (string, error) {
	return goBuildCached(ctx, []string{"build", "-trimpath", initPackage})
}

// goBuildCached runs `go <args> -o <file>` unless this process already did. The file lives in the cache
// directory, named by the arguments and this process; a lock file beside it makes concurrent callers in
// the process wait for one build. Files left by processes that have ended are removed.
func goBuildCached(ctx context.Context, args []string) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("creating binary cache: %w", err)
	}
	self, ok := processID(os.Getpid())
	if !ok {
		return "", errors.New("building: cannot identify this process in /proc")
	}
	out := filepath.Join(dir, buildKey(args)+"-"+self)
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	unlock, err := lockFile(ctx, out+".lock")
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(out); err == nil {
		return out, nil // built while this caller waited
	}
	removeStale(dir)
	if err := goBuild(ctx, args, out); err != nil {
		return "", err
	}
	return out, nil
}

func buildKey(args []string) string {
	sum := sha256.Sum256([]byte(strings.Join(args, "\x00")))
	return hex.EncodeToString(sum[:8])
}

// processID names a process by its pid and start time, so that a reused pid is a different process.
func processID(pid int) (string, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", false
	}
	// The fields after the command name, which may hold spaces, start at field 3; start time is field 22.
	_, rest, ok := strings.Cut(string(b), ") ")
	fields := strings.Fields(rest)
	if !ok || len(fields) < 20 {
		return "", false
	}
	return strconv.Itoa(pid) + "." + fields[19], true
}

// removeStale deletes the files ("<key>-<pid>.<start>[.tmp|.lock]") of processes that no longer run.
func removeStale(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "*-*"))
	for _, f := range files {
		_, owner, _ := strings.Cut(filepath.Base(f), "-")
		parts := strings.SplitN(owner, ".", 3)
		if len(parts) < 2 {
			continue
		}
		pid, err := strconv.Atoi(parts[0])
		if err != nil {
			continue
		}
		if id, alive := processID(pid); !alive || id != parts[0]+"."+parts[1] {
			os.Remove(f)
		}
	}
}

// goBuild runs go from the module root with CGO disabled, writing to a temporary name and renaming.
func goBuild(ctx context.Context, args []string, out string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	tmp := out + ".tmp"
	full := append(append([]string(nil), args[:len(args)-1]...), "-o", tmp, args[len(args)-1])
	cmd := exec.CommandContext(ctx, "go", full...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("running go %s: %w\n%s", strings.Join(full, " "), err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("renaming built binary: %w", err)
	}
	return nil
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("finding the module root: not inside a module")
	}
	return filepath.Dir(gomod), nil
}

// HasTests tells whether pkg exists and has test files, so that a caller can skip with a reason instead
// of failing while a package is still being written.
func HasTests(ctx context.Context, pkg string) (bool, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return false, err
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-e", "-f", "{{len .TestGoFiles}} {{len .XTestGoFiles}} {{if .Error}}{{.Error}}{{end}}", pkg)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return false, fmt.Errorf("listing %s: %w", pkg, err)
	}
	fields := strings.Fields(string(out))
	if len(fields) < 2 {
		return false, fmt.Errorf("listing %s: unexpected output %q", pkg, out)
	}
	return fields[0] != "0" || fields[1] != "0", nil
}
