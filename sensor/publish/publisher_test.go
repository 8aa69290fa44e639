package publish_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver"
	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestPublishDelivers(t *testing.T) {
	s := natsservertest.RunServer(t)
	nc := natsservertest.Connect(t, s, publish.ConnOptions()...)
	ensureStream(t, nc)
	reg := prometheus.NewRegistry()
	p := startPublisher(t, publish.Config{Conn: nc, SpoolDir: t.TempDir(), Registerer: reg})
	const n = 500
	for i := range n {
		if err := p.Publish(t.Context(), testMsg(i)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	closePublisher(t, p, 10*time.Second)
	js := jsFor(t, nc)
	if !assertExactlyOnce(t, readStream(t, js), indexes(0, n)) {
		t.Error("stream not in publish order")
	}
	if got := metric(t, reg, "factstream_publish_events_total"); got != n*eventsPerMsg {
		t.Errorf("events_total %v, want %d", got, n*eventsPerMsg)
	}
	if err := p.Publish(t.Context(), testMsg(n)); !errors.Is(err, publish.ErrClosed) {
		t.Errorf("publish after close: %v, want ErrClosed", err)
	}
	if err := p.Close(t.Context()); err != nil {
		t.Errorf("second close: %v", err)
	}
}

func TestConfigAndMsgValidation(t *testing.T) {
	s := natsservertest.RunServer(t)
	buffered := natsservertest.Connect(t, s) // default reconnect buffer
	_, err := publish.New(t.Context(), publish.Config{Conn: buffered, SpoolDir: t.TempDir()})
	if !errors.Is(err, publish.ErrReconnectBuffer) {
		t.Fatalf("buffering connection: %v, want ErrReconnectBuffer", err)
	}
	if _, err := publish.New(t.Context(), publish.Config{SpoolDir: t.TempDir()}); !errors.Is(err, publish.ErrInvalidConfig) {
		t.Fatalf("no connection: %v, want ErrInvalidConfig", err)
	}
	nc := natsservertest.Connect(t, s, publish.ConnOptions()...)
	p := startPublisher(t, publish.Config{Conn: nc, SpoolDir: t.TempDir()})
	defer closePublisher(t, p, time.Second)
	for _, m := range []publish.Msg{
		{Subject: "fact.in.h.1", Dev: 1, Data: []byte("x")},
		{Subject: "fact.in.h.1", Dev: 1, MsgID: "a", Data: make([]byte, nc.MaxPayload()+1)},
		{Subject: "fact.in.h.1", Dev: 1, MsgID: "a", Data: []byte("x"), FirstSeq: 5, LastSeq: 4},
	} {
		if err := p.Publish(t.Context(), m); !errors.Is(err, publish.ErrInvalidMsg) {
			t.Errorf("publish %.40v: %v, want ErrInvalidMsg", m, err)
		}
	}
}

// TestOutage is case (a): the server stops for ten seconds in the middle of a steady stream and comes
// back on the same store and port; every batch is in FACT_RAW exactly once, in order per subject (host and
// filesystem, what the design promises; assertExactlyOnce checks it). Order across subjects is only logged:
// a retry after the reconnect can land behind a later batch of another filesystem.
func TestOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 15 seconds")
	}
	s := natsservertest.RunServer(t)
	nc := tcpConn(t, s.ClientURL())
	ensureStream(t, nc)
	reg := prometheus.NewRegistry()
	p := startPublisher(t, publish.Config{Conn: nc, SpoolDir: t.TempDir(), Registerer: reg, MemoryBytes: 64 << 10})

	var sent atomic.Int64
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- produce(p, &sent, stop, 2*time.Millisecond) }()

	time.Sleep(2 * time.Second)
	s.Shutdown()
	t.Logf("server down after %d batches", sent.Load())
	time.Sleep(10 * time.Second)
	spooled := metric(t, reg, "factstream_publish_spool_bytes")
	s = natsservertest.RunServerWith(t, s.Config())
	t.Logf("server up after %d batches; spool held %.0f bytes", sent.Load(), spooled)
	time.Sleep(2 * time.Second)
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	n := int(sent.Load())
	closePublisher(t, p, 20*time.Second)
	if spooled == 0 {
		t.Error("the outage never reached the disk spool")
	}
	js := jsFor(t, tcpConn(t, s.ClientURL()))
	got := readStream(t, js)
	inOrder := assertExactlyOnce(t, got, indexes(0, n))
	t.Logf("%d batches stored, total order kept: %v, retries %.0f, duplicates dropped by the server %.0f",
		len(got), inOrder, metric(t, reg, "factstream_publish_retries_total"), metric(t, reg, "factstream_publish_duplicates_total"))
}

// produce publishes testMsg(0), testMsg(1), ... every period until stop.
func produce(p *publish.Publisher, sent *atomic.Int64, stop <-chan struct{}, period time.Duration) error {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
		if err := p.Publish(context.Background(), testMsg(i)); err != nil {
			return err
		}
		sent.Store(int64(i + 1))
	}
}

// TestSpoolSurvivesRestart is case (b): batches published while the server is down are spooled by
// Close, and a new publisher on the same directory sends them first, once, before new ones.
func TestSpoolSurvivesRestart(t *testing.T) {
	s := natsservertest.RunServer(t)
	ensureStream(t, natsservertest.Connect(t, s, publish.ConnOptions()...))
	s.Shutdown()
	dir := t.TempDir()

	nc := tcpConn(t, s.ClientURL())
	reg := prometheus.NewRegistry()
	p := startPublisher(t, publish.Config{Conn: nc, SpoolDir: dir, Registerer: reg, MemoryBytes: 16 << 10})
	const first, second = 300, 100
	for i := range first {
		if err := p.Publish(t.Context(), testMsg(i)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	closePublisher(t, p, 200*time.Millisecond)
	if got := metric(t, reg, "factstream_publish_spool_records"); got != first {
		t.Fatalf("spooled %v batches, want %d", got, first)
	}
	nc.Close()

	s = natsservertest.RunServerWith(t, s.Config())
	nc = tcpConn(t, s.ClientURL())
	var recovered, acked atomic.Int64
	p = startPublisher(t, publish.Config{Conn: nc, SpoolDir: dir, Registerer: reg, // same registry: counts go on
		OnRecovered: func(m publish.Msg) {
			if m.Header.Get(testHeader) != "" {
				recovered.Add(1)
			}
		},
		OnDone: func(publish.Msg) { acked.Add(1) },
	})
	if recovered.Load() != first {
		t.Errorf("OnRecovered saw %d spooled batches with their header, want %d", recovered.Load(), first)
	}
	for i := first; i < first+second; i++ {
		if err := p.Publish(t.Context(), testMsg(i)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	closePublisher(t, p, 10*time.Second)
	if got := metric(t, reg, "factstream_publish_batches_total"); got != first+second {
		t.Errorf("batches_total %v, want %d", got, first+second)
	}
	if acked.Load() != first+second {
		t.Errorf("OnDone saw %d batches, want %d", acked.Load(), first+second)
	}
	if !assertExactlyOnce(t, readStream(t, jsFor(t, nc)), indexes(0, first+second)) {
		t.Error("spooled batches did not come first, in order")
	}
}

// TestSpoolFull is case (c): with memory and spool full, batches are dropped, counted, and reported
// with the right counts and ranges once NATS is back, even across a publisher restart.
func TestSpoolFull(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run("restart="+strconv.FormatBool(restart), func(t *testing.T) { testSpoolFull(t, restart) })
	}
}

func testSpoolFull(t *testing.T, restart bool) {
	s := natsservertest.RunServer(t)
	ensureStream(t, natsservertest.Connect(t, s, publish.ConnOptions()...))
	s.Shutdown()
	dir := t.TempDir()
	losses := newLossRecorder()
	reg := prometheus.NewRegistry()
	cfg := publish.Config{
		Conn: tcpConn(t, s.ClientURL()), SpoolDir: dir, Registerer: reg, OnLoss: losses.onLoss,
		MemoryBytes: 2 << 10, SpoolBytes: 8 << 10, SegmentBytes: 2 << 10,
	}
	p := startPublisher(t, cfg)
	const n = 100
	var dropped, kept []int
	for i := range n {
		err := p.Publish(t.Context(), testMsg(i))
		var de *publish.DropError
		switch {
		case errors.As(err, &de) && de.Reason == publish.ReasonSpoolFull:
			dropped = append(dropped, i)
		case err != nil:
			t.Fatalf("publish %d: %v", i, err)
		default:
			kept = append(kept, i)
		}
	}
	if len(dropped) == 0 || len(kept) == 0 {
		t.Fatalf("kept %d, dropped %d: bounds not exercised", len(kept), len(dropped))
	}
	if got := metric(t, reg, "factstream_publish_dropped_events_total"); got != float64(len(dropped)*eventsPerMsg) {
		t.Errorf("dropped_events_total %v, want %d", got, len(dropped)*eventsPerMsg)
	}
	if restart {
		closePublisher(t, p, 200*time.Millisecond)
		cfg.Conn.Close()
	}
	s = natsservertest.RunServerWith(t, s.Config())
	if restart {
		cfg.Conn, cfg.Registerer = tcpConn(t, s.ClientURL()), nil
		p = startPublisher(t, cfg)
	}
	reports := losses.wait(t, 10*time.Second)
	closePublisher(t, p, 10*time.Second)
	checkLoss(t, reports, dropped)
	assertExactlyOnce(t, readStream(t, jsFor(t, cfg.Conn)), kept)
}

// checkLoss compares what was reported with the batches that were dropped.
func checkLoss(t *testing.T, reports []publish.LossReport, dropped []int) {
	t.Helper()
	if len(reports) != 1 {
		t.Fatalf("%d loss reports, want 1: %+v", len(reports), reports)
	}
	r := reports[0]
	if r.Events() != len(dropped)*eventsPerMsg || r.Batches() != len(dropped) {
		t.Errorf("report says %d events in %d batches, want %d in %d", r.Events(), r.Batches(), len(dropped)*eventsPerMsg, len(dropped))
	}
	want := make(map[uint64][]publish.SeqRange)
	for _, i := range dropped {
		m := testMsg(i)
		want[m.Dev] = append(want[m.Dev], publish.SeqRange{First: m.FirstSeq, Last: m.LastSeq})
	}
	for _, d := range r.Drops {
		if d.Reason != publish.ReasonSpoolFull || !slices.Equal(d.Ranges, want[d.Dev]) {
			t.Errorf("dev %d: reported %s %v, want spool_full %v", d.Dev, d.Reason, d.Ranges, want[d.Dev])
		}
		delete(want, d.Dev)
	}
	if len(want) > 0 {
		t.Errorf("drops not reported: %v", want)
	}
	t.Logf("report: %d events, %d batches, drops %+v", r.Events(), r.Batches(), r.Drops)
}

// TestUnreachableServer is case (e): with no server at the URL the publisher keeps accepting batches,
// spools them, retries and logs a clear, rate-limited warning; when a server appears on that address,
// everything is delivered once.
func TestUnreachableServer(t *testing.T) {
	port := natsservertest.FreePort(t)
	nc := tcpConn(t, "nats://127.0.0.1:"+strconv.Itoa(port))
	core, logs := observer.New(zapcore.WarnLevel)
	reg := prometheus.NewRegistry()
	p := startPublisher(t, publish.Config{
		Conn: nc, SpoolDir: t.TempDir(), Logger: zap.New(core), Registerer: reg, MemoryBytes: 4 << 10, WarnEvery: time.Hour,
	})
	const n = 200
	for i := range n {
		if err := p.Publish(t.Context(), testMsg(i)); err != nil {
			t.Fatalf("publish %d with no server: %v", i, err)
		}
	}
	time.Sleep(500 * time.Millisecond) // several retries
	warns := logs.FilterMessage("publishing to NATS failed; holding batches in memory and spool and retrying").All()
	if len(warns) != 1 {
		t.Fatalf("%d warnings, want exactly 1 (rate-limited)", len(warns))
	}
	t.Logf("warning: %s %v", warns[0].Message, warns[0].ContextMap())
	if metric(t, reg, "factstream_publish_spool_records") == 0 || metric(t, reg, "factstream_publish_retries_total") < 2 {
		t.Fatal("not spooling and retrying")
	}

	s := natsservertest.RunServerWith(t, natsserver.Config{StoreDir: t.TempDir(), Port: port})
	ensureStream(t, natsservertest.Connect(t, s, publish.ConnOptions()...))
	closePublisher(t, p, 10*time.Second)
	assertExactlyOnce(t, readStream(t, jsFor(t, natsservertest.Connect(t, s))), indexes(0, n))
}

// TestRejectedBatches: batches the stream refuses for good (too large for it) are dropped and reported
// as rejected; the others go through in order.
func TestRejectedBatches(t *testing.T) {
	s := natsservertest.RunServer(t)
	nc := natsservertest.Connect(t, s, publish.ConnOptions()...)
	src, dest := schemas.RawTransform(schemas.DefaultPartitions)
	_, err := jsFor(t, nc).CreateStream(t.Context(), jetstream.StreamConfig{
		Name: schemas.RawStream, Subjects: []string{src}, MaxMsgSize: 1000,
		SubjectTransform: &jetstream.SubjectTransformConfig{Source: src, Destination: dest},
	})
	if err != nil {
		t.Fatal(err)
	}
	losses := newLossRecorder()
	p := startPublisher(t, publish.Config{Conn: nc, SpoolDir: t.TempDir(), OnLoss: losses.onLoss})
	var kept, rejected []int
	for i := range 40 {
		m := testMsg(i)
		if i%10 == 3 {
			m.Data = append(m.Data, make([]byte, 2000)...)
			rejected = append(rejected, i)
		} else {
			kept = append(kept, i)
		}
		if err := p.Publish(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	want := len(rejected) * eventsPerMsg
	deadline := time.Now().Add(5 * time.Second)
	for losses.events(publish.ReasonRejected) < want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	closePublisher(t, p, 10*time.Second)
	if got := losses.events(publish.ReasonRejected); got != want {
		t.Errorf("reported %d rejected events, want %d", got, want)
	}
	assertExactlyOnce(t, readStream(t, jsFor(t, nc)), kept)
}

// TestKilledWriteAhead: with MemoryBytes < 0 every batch is on disk before Publish returns, so a
// publisher that stops without Close (as if killed) loses nothing: the next one republishes the spool,
// and the server drops what had already been stored.
func TestKilledWriteAhead(t *testing.T) {
	s := natsservertest.RunServer(t)
	nc := natsservertest.Connect(t, s, publish.ConnOptions()...)
	ensureStream(t, nc)
	reg := prometheus.NewRegistry()
	cfg := publish.Config{Conn: nc, SpoolDir: t.TempDir(), MemoryBytes: -1, Registerer: reg}
	p := startPublisher(t, cfg)
	const first, second = 1000, 200
	for i := range first {
		if err := p.Publish(t.Context(), testMsg(i)); err != nil {
			t.Fatal(err)
		}
	}
	for metric(t, reg, "factstream_publish_batches_total") < first/2 {
		time.Sleep(time.Millisecond)
	}
	if _, err := publish.New(t.Context(), cfg); !errors.Is(err, publish.ErrSpoolLocked) {
		t.Fatalf("second publisher on the spool: %v, want ErrSpoolLocked", err)
	}
	publish.Kill(p) // the publisher stops where it is; Close is never called
	t.Logf("killed after %.0f of %d batches were acknowledged", metric(t, reg, "factstream_publish_batches_total"), first)

	cfg.Registerer = prometheus.NewRegistry()
	p2 := startPublisher(t, cfg)
	for i := first; i < first+second; i++ {
		if err := p2.Publish(t.Context(), testMsg(i)); err != nil {
			t.Fatal(err)
		}
	}
	closePublisher(t, p2, 10*time.Second)
	t.Logf("the server dropped %.0f republished duplicates", metric(t, cfg.Registerer.(*prometheus.Registry), "factstream_publish_duplicates_total"))
	assertExactlyOnce(t, readStream(t, jsFor(t, nc)), indexes(0, first+second))
}

// TestDropWarningSampled: batches dropped one after another while the spool is full log one warning per
// WarnEvery, and each warning held back is counted in factstream_publish_log_lines_suppressed_total.
func TestDropWarningSampled(t *testing.T) {
	nc := tcpConn(t, "nats://127.0.0.1:"+strconv.Itoa(natsservertest.FreePort(t)))
	core, logs := observer.New(zapcore.WarnLevel)
	reg := prometheus.NewRegistry()
	p := startPublisher(t, publish.Config{
		Conn: nc, SpoolDir: t.TempDir(), Logger: zap.New(core), Registerer: reg, WarnEvery: time.Hour,
		MemoryBytes: 2 << 10, SpoolBytes: 8 << 10, SegmentBytes: 2 << 10,
	})
	dropped := 0
	for i := range 100 {
		if err := p.Publish(t.Context(), testMsg(i)); errors.Is(err, publish.ErrDropped) {
			dropped++
		} else if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	if dropped < 2 {
		t.Fatalf("%d batches dropped: the spool bound was not exercised", dropped)
	}
	warns := logs.FilterMessage("dropping batches; they will be in a loss report").All()
	if len(warns) != 1 {
		t.Fatalf("%d drop warnings for %d drops, want exactly 1", len(warns), dropped)
	}
	if got := warns[0].ContextMap()["reason"]; got != string(publish.ReasonSpoolFull) {
		t.Errorf("warning gives reason %v, want %s", got, publish.ReasonSpoolFull)
	}
	if got := metric(t, reg, "factstream_publish_log_lines_suppressed_total"); got < float64(dropped-1) {
		t.Errorf("log_lines_suppressed_total %v, want at least %d (the drop warnings held back)", got, dropped-1)
	}
	closePublisher(t, p, 200*time.Millisecond)
}
