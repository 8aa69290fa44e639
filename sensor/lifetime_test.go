package sensor

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRunLeavesNoGoroutine ends Run both ways it ends on its own terms, its ctx and the ring buffer
// closing, and checks that no goroutine it started is left once it has returned.
func TestRunLeavesNoGoroutine(t *testing.T) {
	for _, how := range []string{"ctx ends", "ring buffer closed"} {
		t.Run(how, func(t *testing.T) {
			before := goleak.IgnoreCurrent()
			r := startSensor(t, testConfig(t, t.TempDir()+"/**"), Deps{Publisher: &capture{}})
			if how == "ring buffer closed" {
				r.probes.Close()
				select {
				case err := <-r.done:
					if err != nil {
						t.Errorf("Run: %v", err)
					}
					close(r.done) // r.stop, at cleanup, then has nothing to wait for
				case <-time.After(30 * time.Second):
					t.Fatal("Run did not return when the ring buffer closed")
				}
			}
			r.stop(t)
			goleak.VerifyNone(t, before)
		})
	}
}
