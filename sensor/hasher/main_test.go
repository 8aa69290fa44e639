package hasher

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a worker outlives Run, or a descriptor (a mount descriptor, a file being
// hashed) stays open after every test has cleaned up.
func TestMain(m *testing.M) {
	fds := func() int {
		entries, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return -1
		}
		return len(entries)
	}
	before := fds()
	code := m.Run()
	if after := fds(); code == 0 && after > before {
		fmt.Fprintf(os.Stderr, "descriptors left open: %d before the tests, %d after\n", before, after)
		code = 1
	}
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintf(os.Stderr, "goroutines outlived the tests: %v\n", err)
		code = 1
	}
	os.Exit(code)
}
