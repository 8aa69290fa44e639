package publish_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
)

// TestMain fails the run if files stay open after every test has cleaned up (a spool segment, a lock
// or a connection left behind) or if a goroutine outlives them (a publisher's sender after Close).
func TestMain(m *testing.M) {
	before := openFDs()
	code := m.Run()
	if code == 0 {
		code = checkFDs(before)
	}
	if code == 0 {
		if err := goleak.Find(natsservertest.LingeringGoroutines()...); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines outlived the tests: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

func checkFDs(before int) int {
	deadline := time.Now().Add(2 * time.Second) // servers close listeners asynchronously
	for {
		after := openFDs()
		if after <= before || before < 0 {
			return 0
		}
		if time.Now().After(deadline) {
			fmt.Fprintf(os.Stderr, "leaked file descriptors: %d open before the tests, %d after\n", before, after)
			return 1
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openFDs counts this process's open descriptors, -1 where /proc is missing.
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries)
}
