package hasher

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkHash is one worker's throughput (MB/s, on one core) hashing a 16 MiB file from the page
// cache, unpaced, open to stat after, for each algorithm.
func BenchmarkHash(b *testing.B) {
	const size = 16 << 20
	path := filepath.Join(b.TempDir(), "f")
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		b.Fatal(err)
	}
	req := requestFor(b, path)
	for _, algorithm := range []string{"sha256", "sha512"} {
		b.Run(algorithm, func(b *testing.B) {
			h, err := New(Config{Algorithm: algorithm, BytesPerSecond: -1, OnResult: func(Result) {}})
			if err != nil {
				b.Fatal(err)
			}
			w := &worker{h: h, buf: make([]byte, h.chunk)}
			b.SetBytes(size)
			for b.Loop() {
				if r, err := w.hash(context.Background(), req); err != nil || r.State != StateOK {
					b.Fatalf("hash: %s (%s), %v", r.State, r.Reason, err)
				}
			}
		})
	}
}
