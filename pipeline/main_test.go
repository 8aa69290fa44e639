package pipeline

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
)

// TestMain fails the run when a goroutine outlives the tests: a partition's feeds and snapshot uploads
// must have ended when its runner does, and every runner when Run or Close returns. Only the NATS
// libraries' own lingering goroutines are ignored (natsservertest.LingeringGoroutines says which and why).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, natsservertest.LingeringGoroutines()...)
}
