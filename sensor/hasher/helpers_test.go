package hasher

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/factstream/factstream/internal/testtime"
)

// start runs a Hasher with cfg (OnResult set to a channel) until the test ends.
func start(t *testing.T, cfg Config) (*Hasher, <-chan Result) {
	t.Helper()
	results := make(chan Result, 1024)
	cfg.OnResult = func(r Result) { results <- r }
	h, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h, results
}

// waitResult waits (generously) for the next result, naming what it waited for when none comes.
func waitResult(t *testing.T, results <-chan Result, what string) Result {
	t.Helper()
	select {
	case r := <-results:
		return r
	case <-time.After(testtime.Scaled(20 * time.Second)):
		t.Fatalf("no result within %v: waited for %s", testtime.Scaled(20*time.Second), what)
		return Result{}
	}
}

// noResult checks that no result comes within d.
func noResult(t *testing.T, results <-chan Result, d time.Duration, why string) {
	t.Helper()
	select {
	case r := <-results:
		t.Fatalf("unexpected result %s (%s) %+v: %s", r.State, r.Reason, r.ID, why)
	case <-time.After(d):
	}
}

// writeFile writes data to dir/name and returns a request for it, path included.
func writeFile(t testing.TB, dir, name string, data []byte) Request {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return requestFor(t, path)
}

// requestFor stats path into a request as the kernel would send it, with the path.
func requestFor(t testing.TB, path string) Request {
	t.Helper()
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	id := Identity{Dev: st.Dev, Ino: st.Ino}
	if gen, ok := generation(fd, nil); ok {
		id.Gen = gen
	} else if fh, _, err := unix.NameToHandleAt(fd, "", unix.AT_EMPTY_PATH); err == nil && len(fh.Bytes()) == 12 {
		id.Gen = word(fh.Bytes(), 0) // tmpfs: generation, inode low, inode high
	}
	return Request{ID: id, Size: st.Size, Ctime: time.Unix(st.Ctim.Unix()), Path: path, Token: path}
}

// appendEvery appends a line to path every period until the returned stop is called (once or more).
func appendEvery(t *testing.T, path string, period time.Duration) (stop func()) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	quit, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		defer f.Close()
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				return
			case <-tick.C:
				if _, err := f.Write([]byte("more\n")); err != nil {
					t.Errorf("appending to %s: %v", path, err)
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(quit) })
		<-stopped
	}
}

// mountTmpfs mounts a tmpfs in a temporary directory for the test, or skips it.
func mountTmpfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64m"); err != nil {
		t.Skipf("mounting a tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { unmount(t, dir) })
	return dir
}

// mountExt4Image makes a small ext4 image and loop-mounts it, or skips the test.
func mountExt4Image(t *testing.T) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "fs.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		t.Skipf("mkfs.ext4 is not usable: %v: %s", err, out)
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-o", "loop", img, dir).CombinedOutput(); err != nil {
		t.Skipf("loop-mounting an ext4 image: %v: %s", err, out)
	}
	t.Cleanup(func() { unmount(t, dir) })
	return dir
}

// unmount unmounts dir, waiting a while for it to be no longer busy.
func unmount(t *testing.T, dir string) {
	deadline := time.Now().Add(testtime.Scaled(5 * time.Second))
	for {
		err := unix.Unmount(dir, 0)
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			if err != nil {
				t.Errorf("unmounting %s: %v", dir, err)
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hashing tells whether a worker has id.
func (h *Hasher) hashing(id Identity) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.entries[id]
	return e != nil && e.hashing
}
