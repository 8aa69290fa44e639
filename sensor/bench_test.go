package sensor

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// benchSource hands out decoded records as fast as the drain loop takes them, as if the ring buffer
// were never empty: the records are injected after the ring buffer, everything after it is measured.
// It blocks (until its deadline) before go is closed and after total records.
type benchSource struct {
	*fakeProbes
	evs   []bpf.Event
	total uint64
	next  atomic.Uint64
	start chan struct{}
}

func (s *benchSource) ReadInto(ev *bpf.Event) error {
	select {
	case <-s.start:
		if n := s.next.Load(); n < s.total {
			*ev = s.evs[n%uint64(len(s.evs))]
			ev.Seq = n + 1
			s.next.Store(n + 1)
			return nil
		}
	default:
	}
	return s.fakeProbes.ReadInto(ev)
}

// benchEvents are a mix of file events with short names, as a busy monitored tree produces.
func benchEvents() []bpf.Event {
	kinds := []bpf.Kind{bpf.KindOpen, bpf.KindOpen, bpf.KindCreation, bpf.KindUnlink, bpf.KindRename, bpf.KindPermission}
	evs := make([]bpf.Event, 4096)
	for i := range evs {
		ev := kernelEvent(kinds[i%len(kinds)])
		ev.Ino, ev.ParentIno, ev.Tgid, ev.Pid = uint64(100_000+i), uint64(1000+i%64), uint32(3000+i%50), uint32(3000+i%50)
		ev.Name = fmt.Appendf(nil, "file-%05d.log", i)
		if ev.EventKind() == bpf.KindRename {
			ev.Name2 = fmt.Appendf(nil, "file-%05d.tmp", i)
		}
		evs[i] = ev
	}
	return evs
}

// ackedEvents reads factstream_publish_events_total: events in batches JetStream acknowledged.
func ackedEvents(reg *prometheus.Registry) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "factstream_publish_events_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// BenchmarkPublishPath measures raw events per second from the ring buffer's reader to acknowledged
// batches in an embedded JetStream server with file storage, and beside it, in the same run, plain
// one-event-per-message async publishes of the same events (each converted and encoded on its own),
// reporting both rates and their ratio. Targets (issue 4): 1,000,000 events/s and 3× the plain rate.
func BenchmarkPublishPath(b *testing.B) {
	srv := natsservertest.RunServer(b)
	nc, err := srv.Connect(publish.ConnOptions()...)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	const sensorEvents, plainEvents = 3_000_000, 300_000
	evs := benchEvents()
	var sensorSecs, plainSecs float64
	for b.Loop() {
		sensorSecs += runSensorPath(b, nc, evs, sensorEvents)
		plainSecs += runPlain(b, nc, evs, plainEvents)
	}
	sensorRate := float64(sensorEvents*b.N) / sensorSecs
	plainRate := float64(plainEvents*b.N) / plainSecs
	b.ReportMetric(sensorRate, "events/s")
	b.ReportMetric(plainRate, "plain_events/s")
	b.ReportMetric(sensorRate/plainRate, "x_plain")
}

// runSensorPath runs a sensor on nc, lets the drain loop take total records and returns the seconds
// until JetStream acknowledged all of them.
func runSensorPath(b testing.TB, nc *nats.Conn, evs []bpf.Event, total uint64) float64 {
	b.Helper()
	src := &benchSource{fakeProbes: newFakeProbes(), evs: evs, total: total, start: make(chan struct{})}
	cfg := testConfig(b, b.TempDir()+"/**")
	cfg.Batch = DefaultConfig().Batch
	reg := prometheus.NewRegistry()
	s, err := New(cfg, Deps{Probes: src, Conn: nc, Registry: reg, Logger: zap.NewNop(), Clock: FixedBootClock(0)})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(b, 10*time.Second, "ready", s.Ready)
	base := ackedEvents(reg)
	start := time.Now()
	close(src.start)
	waitFor(b, 2*time.Minute, "the events to be acknowledged", func() bool { return ackedEvents(reg)-base >= float64(total) })
	secs := time.Since(start).Seconds()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return secs
}

// runPlain publishes each event as its own message, asynchronously with a bounded window, and returns
// the seconds until all are acknowledged.
func runPlain(b *testing.B, nc *nats.Conn, evs []bpf.Event, total int) float64 {
	b.Helper()
	var failed atomic.Int64
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096),
		jetstream.WithPublishAsyncErrHandler(func(jetstream.JetStream, *nats.Msg, error) { failed.Add(1) }))
	if err != nil {
		b.Fatal(err)
	}
	clock := FixedBootClock(0)
	var raw schemas.RawEvent
	batch := schemas.Batch{Host: "plain", BootID: "boot1", Events: make([]schemas.RawEvent, 1)}
	start := time.Now()
	for i := range total {
		ev := &evs[i%len(evs)]
		if err := Convert(&raw, ev, clock); err != nil {
			b.Fatal(err)
		}
		raw.Seq = uint64(i + 1)
		batch.BatchSeq, batch.Dev, batch.Events[0] = uint64(i+1), uint64(ev.Dev), raw
		data, err := schemas.EncodeBatch(nil, &batch)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := js.PublishAsync(schemas.IngestSubject("plain", uint64(ev.Dev)), data); err != nil {
			b.Fatalf("plain publish: %v", err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		b.Fatal("plain publishes not acknowledged")
	}
	secs := time.Since(start).Seconds()
	if n := failed.Load(); n > 0 {
		b.Fatalf("plain publish: %d of %d failed", n, total)
	}
	return secs
}
