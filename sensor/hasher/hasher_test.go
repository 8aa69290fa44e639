package hasher

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"

	"github.com/factstream/factstream/internal/testtime"
)

func TestConfigValidate(t *testing.T) {
	ok := func(Result) {}
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // "" valid
	}{
		{"defaults", Config{OnResult: ok}, ""},
		{"sha512", Config{OnResult: ok, Algorithm: "sha512"}, ""},
		{"unpaced", Config{OnResult: ok, BytesPerSecond: -1}, ""},
		{"no OnResult", Config{}, "OnResult is required"},
		{"md5", Config{OnResult: ok, Algorithm: "md5"}, `Algorithm "md5" is not one of sha256, sha512`},
		{"negative MaxSize", Config{OnResult: ok, MaxSize: -1}, "MaxSize -1 is negative"},
		{"negative Workers", Config{OnResult: ok, Workers: -2}, "Workers -2 is negative"},
		{"negative Quiet", Config{OnResult: ok, Quiet: -time.Second}, "Quiet -1s is negative"},
		{"negative QueueSize", Config{OnResult: ok, QueueSize: -1}, "QueueSize -1 is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want ErrInvalidConfig saying %q", err, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Config{OnResult: func(Result) {}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Algorithm != "sha256" || cfg.MaxSize != 100<<20 || cfg.BytesPerSecond != 50<<20 || cfg.Workers != 2 ||
		cfg.Quiet != 200*time.Millisecond || cfg.QueueSize != DefaultQueueSize || cfg.MaxRetries != 3 {
		t.Fatalf("defaults: %+v", cfg)
	}
}

func TestDigest(t *testing.T) {
	data := bytes.Repeat([]byte("factstream\n"), 20000) // 220000 bytes: several reads
	sum256, sum512 := sha256.Sum256(data), sha512.Sum512(data)
	empty := sha256.Sum256(nil)
	for _, tc := range []struct {
		name, algorithm string
		data            []byte
		learn           bool // AddFilesystem: open by handle, no path
		want            []byte
	}{
		{"sha256 by path", "sha256", data, false, sum256[:]},
		{"sha512 by path", "sha512", data, false, sum512[:]},
		{"sha256 by handle", "", data, true, sum256[:]},
		{"empty file", "", nil, true, empty[:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			h, results := start(t, Config{Algorithm: tc.algorithm, Quiet: time.Millisecond, BytesPerSecond: -1})
			req := writeFile(t, dir, "f", tc.data)
			if tc.learn {
				if err := h.AddFilesystem(dir); err != nil {
					t.Fatalf("AddFilesystem: %v", err)
				}
				req.Path = ""
			}
			if err := h.Submit(req); err != nil {
				t.Fatal(err)
			}
			r := waitResult(t, results, "the file's hash")
			if r.State != StateOK || !bytes.Equal(r.Digest, tc.want) {
				t.Fatalf("result %s (%s) digest %x, want ok %x", r.State, r.Reason, r.Digest, tc.want)
			}
			if r.ByHandle != tc.learn || r.Size != int64(len(tc.data)) || r.ID != req.ID || r.Request.Token != req.Token || r.Coalesced != 1 {
				t.Fatalf("result %+v, want by handle %v, size %d, the request echoed", r, tc.learn, len(tc.data))
			}
			if want := map[string]string{"": "sha256"}[tc.algorithm]; r.Algorithm != tc.algorithm && r.Algorithm != want {
				t.Fatalf("algorithm %q, want %q", r.Algorithm, tc.algorithm)
			}
		})
	}
}

func TestTooLarge(t *testing.T) {
	for _, tc := range []struct {
		size int
		want State
	}{
		{1000, StateOK},
		{1001, StateTooLarge},
	} {
		t.Run(string(tc.want), func(t *testing.T) {
			h, results := start(t, Config{MaxSize: 1000, Quiet: time.Millisecond})
			req := writeFile(t, t.TempDir(), "f", make([]byte, tc.size))
			if err := h.Submit(req); err != nil {
				t.Fatal(err)
			}
			r := waitResult(t, results, "the file's result")
			if r.State != tc.want || (tc.want == StateTooLarge) != (r.Digest == nil) || r.Size != int64(tc.size) {
				t.Fatalf("%d bytes with MaxSize 1000: %s (%s) size %d digest %x, want %s", tc.size, r.State, r.Reason, r.Size, r.Digest, tc.want)
			}
		})
	}
}

// TestChangedDuringHash hashes slowly a file appended to every 10ms: the first attempt sees the change,
// and the retry after the appends stop hashes the final content.
func TestChangedDuringHash(t *testing.T) {
	h, results := start(t, Config{BytesPerSecond: 128 << 10, Quiet: 50 * time.Millisecond, MaxRetries: 5})
	path := filepath.Join(t.TempDir(), "f")
	req := writeFile(t, filepath.Dir(path), "f", make([]byte, 128<<10)) // about a second to read
	stop := appendEvery(t, path, 10*time.Millisecond)
	if err := h.Submit(req); err != nil {
		t.Fatal(err)
	}
	first := waitResult(t, results, "the attempt during the appends")
	stop()
	if first.State != StateChangedDuringHash || !first.Retry || first.Digest != nil {
		t.Fatalf("first attempt: %s (%s) retry %v digest %x, want changed_during_hash, retry, no digest", first.State, first.Reason, first.Retry, first.Digest)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(data)
	for {
		r := waitResult(t, results, "the retry after the appends stopped")
		if r.State == StateChangedDuringHash && r.Retry {
			continue // an attempt that began before the last append
		}
		if r.State != StateOK || !bytes.Equal(r.Digest, want[:]) || r.Size != int64(len(data)) {
			t.Fatalf("after the appends: %s (%s) size %d digest %x, want ok with %d bytes %x", r.State, r.Reason, r.Size, r.Digest, len(data), want)
		}
		break
	}
	noResult(t, results, 300*time.Millisecond, "one ok ends the attempts")
}

// TestChangedNoRetry gives up at once with MaxRetries negative: one changed_during_hash, not retried.
func TestChangedNoRetry(t *testing.T) {
	h, results := start(t, Config{BytesPerSecond: 128 << 10, Quiet: time.Millisecond, MaxRetries: -1})
	path := filepath.Join(t.TempDir(), "f")
	req := writeFile(t, filepath.Dir(path), "f", make([]byte, 128<<10))
	stop := appendEvery(t, path, 10*time.Millisecond)
	defer stop()
	if err := h.Submit(req); err != nil {
		t.Fatal(err)
	}
	r := waitResult(t, results, "the attempt during the appends")
	if r.State != StateChangedDuringHash || r.Retry {
		t.Fatalf("with MaxRetries -1: %s (%s) retry %v, want changed_during_hash, no retry", r.State, r.Reason, r.Retry)
	}
	noResult(t, results, 300*time.Millisecond, "MaxRetries -1 never retries")
}

// TestOpenByHandle learns each filesystem's handles and hashes files without a path: one taken as a
// sample and one created after.
func TestOpenByHandle(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mount func(*testing.T) string
	}{
		{"root fs", func(t *testing.T) string { return t.TempDir() }},
		{"tmpfs", mountTmpfs},
		{"ext4 image", mountExt4Image},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.mount(t)
			h, results := start(t, Config{Quiet: time.Millisecond})
			sampled := writeFile(t, dir, "sampled", []byte("sampled"))
			if err := h.AddFilesystem(dir); err != nil {
				t.Fatalf("AddFilesystem(%s): %v", dir, err)
			}
			later := writeFile(t, dir, "later", []byte("created after learning"))
			for _, req := range []Request{sampled, later} {
				name := req.Path
				req.Path = ""
				if err := h.Submit(req); err != nil {
					t.Fatal(err)
				}
				r := waitResult(t, results, "the hash of "+name)
				data, _ := os.ReadFile(name)
				want := sha256.Sum256(data)
				if r.State != StateOK || !r.ByHandle || !bytes.Equal(r.Digest, want[:]) {
					t.Fatalf("%s without a path: %s (%s) by handle %v digest %x, want ok by handle %x", name, r.State, r.Reason, r.ByHandle, r.Digest, want)
				}
			}
		})
	}
}

// TestInodeReplaced removes a file and creates another at its path: the old identity is not hashed.
func TestInodeReplaced(t *testing.T) {
	for _, tc := range []struct {
		name, wantReason string
		learn, keepPath  bool
	}{
		{"by path", "inode reused", false, true},
		{"by handle then path", "inode reused", true, true},
		{"by handle, no path", "opening by handle", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			h, results := start(t, Config{Quiet: time.Millisecond})
			old := writeFile(t, dir, "f", []byte("old"))
			if tc.learn {
				if err := h.AddFilesystem(dir); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Remove(old.Path); err != nil {
				t.Fatal(err)
			}
			writeFile(t, dir, "f", []byte("new"))
			if !tc.keepPath {
				old.Path = ""
			}
			if err := h.Submit(old); err != nil {
				t.Fatal(err)
			}
			r := waitResult(t, results, "the replaced file's result")
			if r.State != StateUnreadable || r.Digest != nil || !strings.Contains(r.Reason, tc.wantReason) {
				t.Fatalf("replaced inode: %s (%s) digest %x, want unreadable saying %q", r.State, r.Reason, r.Digest, tc.wantReason)
			}
		})
	}
}

func TestCoalescing(t *testing.T) {
	quiet := testtime.Scaled(300 * time.Millisecond)
	h, results := start(t, Config{Quiet: quiet})
	req := writeFile(t, t.TempDir(), "f", []byte("data"))
	for i := range 10 {
		req.Token = i
		if err := h.Submit(req); err != nil {
			t.Fatal(err)
		}
	}
	r := waitResult(t, results, "the one hash of 10 requests")
	if r.State != StateOK || r.Coalesced != 10 || r.Request.Token != 9 {
		t.Fatalf("10 requests within Quiet: %s (%s) coalesced %d token %v, want one ok of 10 with the last token", r.State, r.Reason, r.Coalesced, r.Request.Token)
	}
	noResult(t, results, 3*quiet, "10 requests within Quiet give one hash")
}

func TestQueueFull(t *testing.T) {
	h, results := start(t, Config{QueueSize: 1, Quiet: time.Hour})
	dir := t.TempDir()
	a, b := writeFile(t, dir, "a", []byte("a")), writeFile(t, dir, "b", []byte("b"))
	for _, req := range []Request{a, a, b} {
		if err := h.Submit(req); err != nil {
			t.Fatal(err)
		}
	}
	r := waitResult(t, results, "the answer to a request beyond QueueSize")
	if r.State != StateRateLimited || r.ID != b.ID || r.Request.Token != b.Token || r.Digest != nil {
		t.Fatalf("request beyond QueueSize: %s (%s) for %+v, want rate_limited for %+v", r.State, r.Reason, r.ID, b.ID)
	}
	noResult(t, results, 100*time.Millisecond, "a repeated request is coalesced, not refused")
}

func TestStopped(t *testing.T) {
	h, err := New(Config{OnResult: func(Result) {}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := h.Submit(Request{}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Submit after Run: %v, want ErrStopped", err)
	}
	if err := h.Run(ctx); !errors.Is(err, ErrStopped) {
		t.Fatalf("Run again: %v, want ErrStopped", err)
	}
	if err := errors.Join(h.Close(), h.Close()); err != nil {
		t.Fatalf("Close twice: %v", err)
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, results := start(t, Config{MaxSize: 10, Quiet: time.Millisecond, Registerer: reg})
	dir := t.TempDir()
	small, large := writeFile(t, dir, "small", []byte("small")), writeFile(t, dir, "large", make([]byte, 11))
	for _, req := range []Request{small, large} {
		if err := h.Submit(req); err != nil {
			t.Fatal(err)
		}
		waitResult(t, results, "the result of "+req.Path)
	}
	for _, tc := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"hashed_total", h.metrics.hashed, 1},
		{"bytes_total", h.metrics.bytes, 5},
		{"skipped_total{too_large}", h.metrics.skipped.WithLabelValues("too_large"), 1},
		{"skipped_total{unreadable}", h.metrics.skipped.WithLabelValues("unreadable"), 0},
		{"queue_depth", h.metrics.queueDepth, 0},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, got, tc.want)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "factstream_sensor_hash_hashed_total", "factstream_sensor_hash_queue_depth"); err != nil || n != 2 {
		t.Errorf("registered metrics: %d, %v; want 2", n, err)
	}
}

// TestOtherGeneration asks for the right inode number with another generation: a reused inode number
// the path still leads to is not hashed.
func TestOtherGeneration(t *testing.T) {
	h, results := start(t, Config{Quiet: time.Millisecond})
	req := writeFile(t, t.TempDir(), "f", []byte("data"))
	req.ID.Gen++
	if err := h.Submit(req); err != nil {
		t.Fatal(err)
	}
	r := waitResult(t, results, "the result for another generation")
	if r.State != StateUnreadable || r.Reason != "inode reused" {
		t.Fatalf("another generation: %s (%s), want unreadable, inode reused", r.State, r.Reason)
	}
}

// TestLearnFromOpens starts from a filesystem too empty to learn (an empty tmpfs: one sample whose
// generation nothing tells) and learns it from a file the hasher opened by path.
func TestLearnFromOpens(t *testing.T) {
	dir := mountTmpfs(t)
	h, results := start(t, Config{Quiet: time.Millisecond})
	if err := h.AddFilesystem(dir); !errors.Is(err, ErrNoLayout) {
		t.Fatalf("AddFilesystem on an empty tmpfs: %v, want ErrNoLayout", err)
	}
	for _, tc := range []struct {
		name     string
		keepPath bool
	}{
		{"first", true},
		{"second", false},
	} {
		req := writeFile(t, dir, tc.name, []byte(tc.name))
		if !tc.keepPath {
			req.Path = ""
		}
		if err := h.Submit(req); err != nil {
			t.Fatal(err)
		}
		r := waitResult(t, results, "the hash of "+tc.name)
		if r.State != StateOK || r.ByHandle == tc.keepPath {
			t.Fatalf("%s: %s (%s) by handle %v, want ok by handle %v", tc.name, r.State, r.Reason, r.ByHandle, !tc.keepPath)
		}
	}
}

// TestRequestWhileHashing sends a request for a file being hashed: it is hashed once more after.
func TestRequestWhileHashing(t *testing.T) {
	h, results := start(t, Config{BytesPerSecond: 64 << 10, Quiet: time.Millisecond})
	req := writeFile(t, t.TempDir(), "f", make([]byte, 128<<10)) // about a second to read
	if err := h.Submit(req); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(testtime.Scaled(10 * time.Second))
	for !h.hashing(req.ID) {
		if time.Now().After(deadline) {
			t.Fatal("waited 10s for a worker to start hashing the file")
		}
		time.Sleep(time.Millisecond)
	}
	req.Token = "second"
	if err := h.Submit(req); err != nil {
		t.Fatal(err)
	}
	for i, wantToken := range []any{req.Path, "second"} {
		r := waitResult(t, results, fmt.Sprintf("attempt %d", i+1))
		if r.State != StateOK || r.Request.Token != wantToken || r.Coalesced != 1 {
			t.Fatalf("attempt %d: %s (%s) token %v coalesced %d, want ok for %v, 1 request", i+1, r.State, r.Reason, r.Request.Token, r.Coalesced, wantToken)
		}
	}
}

// TestNotHashed covers files that are refused before a byte is read.
func TestNotHashed(t *testing.T) {
	for _, tc := range []struct {
		name, wantReason string
		make             func(t *testing.T, path string) // creates path
		noPath           bool
	}{
		{"directory", "not a regular file", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"fifo, without blocking", "not a regular file", func(t *testing.T, path string) {
			if err := unix.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"no layout and no path", "no handle layout for the filesystem and no path", func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, results := start(t, Config{Quiet: time.Millisecond})
			path := filepath.Join(t.TempDir(), "f")
			tc.make(t, path)
			req := requestFor(t, path)
			if tc.noPath {
				req.Path = ""
			}
			if err := h.Submit(req); err != nil {
				t.Fatal(err)
			}
			r := waitResult(t, results, "the refusal of "+tc.name)
			if r.State != StateUnreadable || !strings.Contains(r.Reason, tc.wantReason) || r.Digest != nil {
				t.Fatalf("%s: %s (%s), want unreadable saying %q", tc.name, r.State, r.Reason, tc.wantReason)
			}
		})
	}
}

// TestManyFiles hashes files with several workers: each exactly once, each with its own digest.
func TestManyFiles(t *testing.T) {
	const files = 50
	h, results := start(t, Config{Workers: 4, Quiet: time.Millisecond, BytesPerSecond: 1 << 20})
	dir := t.TempDir()
	want := map[Identity][32]byte{}
	for i := range files {
		data := bytes.Repeat([]byte{byte(i)}, 1000+i)
		req := writeFile(t, dir, fmt.Sprint(i), data)
		want[req.ID] = sha256.Sum256(data)
		if err := h.Submit(req); err != nil {
			t.Fatal(err)
		}
	}
	for range files {
		r := waitResult(t, results, fmt.Sprintf("%d files' hashes", files))
		sum, ok := want[r.ID]
		if !ok || r.State != StateOK || !bytes.Equal(r.Digest, sum[:]) {
			t.Fatalf("result %s (%s) for %+v digest %x: a file hashed twice, or wrongly", r.State, r.Reason, r.ID, r.Digest)
		}
		delete(want, r.ID)
	}
	noResult(t, results, 100*time.Millisecond, "each file is hashed once")
}

// TestRepath: a file renamed while it waits (a vim-style save: written as a temporary name, renamed over
// the real one) is found by the path Repath gives where there is no handle to open it by, also when the
// Repath comes after an attempt found the old path empty (the sensor's drain lags the hasher); without
// it, the stale path finds nothing, and after the retries the file is unreadable.
func TestRepath(t *testing.T) {
	for _, tc := range []struct {
		name  string
		delay time.Duration // before Repath; negative: no Repath
	}{{"followed", 0}, {"followed after a failed attempt", 80 * time.Millisecond}, {"not followed", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			h, results := start(t, Config{Quiet: 50 * time.Millisecond, BytesPerSecond: -1})
			req := writeFile(t, dir, ".f.swp", []byte("saved"))
			if err := h.Submit(req); err != nil {
				t.Fatal(err)
			}
			final := filepath.Join(dir, "f")
			if err := os.Rename(req.Path, final); err != nil {
				t.Fatal(err)
			}
			if tc.delay >= 0 {
				time.Sleep(tc.delay)
				h.Repath(req.ID.Dev, req.ID.Ino, func(old string) string {
					if old != req.Path {
						t.Errorf("Repath saw %q, want %q", old, req.Path)
					}
					return final
				})
			}
			h.Repath(req.ID.Dev, req.ID.Ino+1, func(string) string { return "/nonexistent" }) // another inode: untouched
			r := waitResult(t, results, "the renamed file's hash")
			want := sha256.Sum256([]byte("saved"))
			switch {
			case tc.delay >= 0 && (r.State != StateOK || !bytes.Equal(r.Digest, want[:])):
				t.Fatalf("%s (%s), want ok %x", r.State, r.Reason, want)
			case tc.delay < 0 && r.State != StateUnreadable:
				t.Fatalf("%s (%s), want unreadable", r.State, r.Reason)
			}
			noResult(t, results, 200*time.Millisecond, "one result per file")
		})
	}
}
