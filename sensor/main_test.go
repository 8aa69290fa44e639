package sensor

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine outlives the tests: every one Run starts must have ended when
// it returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
