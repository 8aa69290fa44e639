package natsservertest

import "go.uber.org/goleak"

// LingeringGoroutines are the goroutines of the NATS libraries that outlive a clean shutdown, for the
// tests' goleak checks to ignore by name, and nothing else:
//
//   - the embedded server (nats-server v2.15) leaves behind the file stores it opens for JetStream
//     atomic batches: their flush loops and the access-time ticker they register outlive Shutdown and
//     WaitForShutdown, and so, for a moment, may a stream's loop still opening one for a batch that came
//     as the server stopped;
//   - nats.go's jetstream (v1.55): the goroutine an async publish starts to fail pending acks on
//     reconnect reads the publisher's status channel under a lock and then waits on it; when the context
//     is torn down before that goroutine first runs, the channel it read is nil and it waits forever,
//     although the connection is closed (seen once in a clean-clone CI run).
func LingeringGoroutines() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*msgBlock).flushLoop"),
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server.(*fileStore).flushStreamStateLoop"),
		goleak.IgnoreTopFunction("github.com/nats-io/nats-server/v2/server/ats.Register.func1"),
		goleak.IgnoreAnyFunction("github.com/nats-io/nats-server/v2/server.(*stream).processJetStreamAtomicBatchMsg"),
		goleak.IgnoreTopFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect"),
	}
}
