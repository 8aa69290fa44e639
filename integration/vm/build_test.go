package vm

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestBuildConcurrently builds one package from parallel callers, as TestLSM's kernels do with init.
func TestBuildConcurrently(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries; not with -short")
	}
	t.Setenv(envCache, t.TempDir())
	stale := filepath.Join(os.Getenv(envCache), "bin", "0123456789abcdef-999999999.1")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	paths := make([]string, 4)
	for i := range paths {
		wg.Go(func() {
			p, err := buildInit(t.Context())
			if err != nil {
				t.Errorf("build %d: %v", i, err)
			}
			paths[i] = p
		})
	}
	wg.Wait()
	for i, p := range paths {
		if p != paths[0] {
			t.Errorf("build %d gave %s, build 0 %s", i, p, paths[0])
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the binary of a dead process was kept: %v", err)
	}
}
