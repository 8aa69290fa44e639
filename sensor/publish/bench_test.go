package publish_test

import (
	"context"
	"encoding/binary"
	"strconv"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Benchmark workload: synthetic raw events of eventBytes each, as they would leave the ring buffer,
// published as batches of batchEvents through the Publisher, or one event per message.
const (
	eventBytes  = 100
	batchEvents = 256
	benchEvents = 256 * 2048 // per measured run: 524,288 events, 50 MiB
)

// BenchmarkPublish measures, in the same run and against the same embedded JetStream server (file
// storage, in-process connection), events per second through the Publisher in batches of 256 events
// (~25 KiB messages with Nats-Msg-Id) and through plain one-event-per-message async publishes, and
// reports both rates and their ratio. Each b.Loop iteration publishes benchEvents both ways into a
// purged FACT_RAW; the rates are totals over all iterations. The in-process connection is what the
// sensor uses with the embedded server; tcp is loopback TCP, as with an external server.
//
//	go test -run '^$' -bench BenchmarkPublish -benchtime 3x ./sensor/publish/
func BenchmarkPublish(b *testing.B) {
	b.Run("conn=inprocess", func(b *testing.B) {
		s := natsservertest.RunServer(b)
		benchPublish(b, natsservertest.Connect(b, s, publish.ConnOptions()...))
	})
	b.Run("conn=tcp", func(b *testing.B) {
		s := natsservertest.RunServer(b)
		benchPublish(b, tcpConn(b, s.ClientURL()))
	})
}

func benchPublish(b *testing.B, nc *nats.Conn) {
	ensureStream(b, nc)
	js := jsFor(b, nc)
	events := syntheticEvents(benchEvents)
	batches := batchesOf(events, batchEvents)
	var batched, plain time.Duration
	var runs int
	for b.Loop() {
		resetStream(b, js)
		batched += runBatched(b, nc, batches)
		resetStream(b, js)
		plain += runPlain(b, js, events)
		runs++
	}
	total := float64(runs * benchEvents)
	batchedRate, plainRate := total/batched.Seconds(), total/plain.Seconds()
	b.ReportMetric(batchedRate, "batched_events/s")
	b.ReportMetric(plainRate, "plain_events/s")
	b.ReportMetric(batchedRate/plainRate, "batched/plain")
	b.ReportMetric(0, "ns/op")
}

// syntheticEvents returns n events of eventBytes, each distinct.
func syntheticEvents(n int) [][]byte {
	buf := make([]byte, n*eventBytes)
	events := make([][]byte, n)
	for i := range events {
		e := buf[i*eventBytes : (i+1)*eventBytes : (i+1)*eventBytes]
		binary.LittleEndian.PutUint64(e, uint64(i))
		for j := 8; j < eventBytes; j++ {
			e[j] = byte(i + j)
		}
		events[i] = e
	}
	return events
}

// batchesOf concatenates events into Msgs of size events each, as the sensor's batcher would.
func batchesOf(events [][]byte, size int) []publish.Msg {
	var out []publish.Msg
	const dev = 2049
	subject := schemas.IngestSubject("bench", dev)
	for i := 0; i < len(events); i += size {
		end := min(i+size, len(events))
		data := make([]byte, 0, (end-i)*eventBytes)
		for _, e := range events[i:end] {
			data = append(data, e...)
		}
		out = append(out, publish.Msg{
			Subject: subject, Dev: dev, MsgID: "bench:boot:" + strconv.Itoa(i/size), Data: data,
			Events: end - i, FirstSeq: uint64(i), LastSeq: uint64(end - 1),
		})
	}
	return out
}

// runBatched publishes batches through a fresh Publisher and returns the time until Close has seen
// every acknowledgement.
func runBatched(b *testing.B, nc *nats.Conn, batches []publish.Msg) time.Duration {
	b.Helper()
	p, err := publish.New(context.Background(), publish.Config{Conn: nc, SpoolDir: b.TempDir(), Logger: zap.NewNop()})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	for i, m := range batches {
		m.MsgID += ":" + strconv.Itoa(b.N) + ":" + strconv.FormatInt(start.UnixNano(), 36)
		if err := p.Publish(ctx, m); err != nil {
			b.Fatalf("publish %d: %v", i, err)
		}
	}
	closeCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := p.Close(closeCtx); err != nil {
		b.Fatal(err)
	}
	d := time.Since(start)
	checkStored(b, jsFor(b, nc), uint64(len(batches)))
	return d
}

// runPlain publishes each event as its own message with async publishes, as `nats bench` does, and
// returns the time until every acknowledgement arrived.
func runPlain(b *testing.B, js jetstream.JetStream, events [][]byte) time.Duration {
	b.Helper()
	subject := schemas.IngestSubject("bench", 2049)
	pub, err := jetstream.New(js.Conn(), jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i, e := range events {
		if _, err := pub.PublishAsync(subject, e, jetstream.WithStallWait(time.Minute)); err != nil {
			b.Fatalf("plain publish %d: %v", i, err)
		}
	}
	select {
	case <-pub.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("plain publishes not acknowledged within a minute")
	}
	d := time.Since(start)
	checkStored(b, js, uint64(len(events)))
	return d
}

func resetStream(b *testing.B, js jetstream.JetStream) {
	b.Helper()
	// FACT_RAW denies purges: start again from a new stream.
	if err := js.DeleteStream(context.Background(), schemas.RawStream); err != nil {
		b.Fatal(err)
	}
	if err := publish.EnsureRawStream(context.Background(), js, publish.RawStreamConfig{}); err != nil {
		b.Fatal(err)
	}
}

func checkStored(b *testing.B, js jetstream.JetStream, want uint64) {
	b.Helper()
	s, err := js.Stream(context.Background(), schemas.RawStream)
	if err != nil {
		b.Fatal(err)
	}
	if got := s.CachedInfo().State.Msgs; got != want {
		b.Fatalf("FACT_RAW holds %d messages, want %d", got, want)
	}
}
