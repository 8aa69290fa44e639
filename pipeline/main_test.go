package pipeline

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine outlives the tests: a partition's feeds and snapshot uploads
// must have ended when its runner does, and every runner when Run or Close returns.
//
// The embedded server (nats-server v2.15) leaves behind the file stores it opens for JetStream atomic
// batches, which commits publish (see commit.go): their flush loops, and the access-time ticker they
// register, outlive the server's Shutdown and WaitForShutdown, while every other goroutine of the
// server has ended; so, for a moment after it, may a stream's internal loop that is still opening one
// for a batch that came as the server stopped. They are nats-server's alone and hold nothing of the
// tests; only they are ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*msgBlock).flushLoop"),
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).flushStreamStateLoop"),
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server/ats.Register.func1"),
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*stream).processJetStreamAtomicBatchMsg"),
	)
}
