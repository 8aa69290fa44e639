package sensor

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
)

// TestMain fails the run when a goroutine outlives the tests: every one Run starts must have ended when
// it returns. Only the NATS libraries' own lingering goroutines are ignored
// (natsservertest.LingeringGoroutines says which and why).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, natsservertest.LingeringGoroutines()...)
}
