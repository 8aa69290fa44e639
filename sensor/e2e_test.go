package sensor

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver"
	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// tcpConn connects the way the sensor does, reconnecting quickly.
func tcpConn(t testing.TB, url string) *nats.Conn {
	t.Helper()
	opts := append(publish.ConnOptions(), nats.ReconnectWait(50*time.Millisecond), nats.ReconnectJitter(0, 0))
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("connecting to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// streamBatches reads every message of FACT_RAW and decodes it.
func streamBatches(t testing.TB, nc *nats.Conn) []schemas.Batch {
	t.Helper()
	var out []schemas.Batch
	for _, m := range streamMessages(t, nc) {
		out = append(out, m.batch)
	}
	return out
}

// storedBatch is a FACT_RAW message, decoded, with its headers.
type storedBatch struct {
	batch  schemas.Batch
	header nats.Header
}

// streamMessages reads every message of FACT_RAW with its headers and decodes it.
func streamMessages(t testing.TB, nc *nats.Conn) []storedBatch {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := js.Stream(ctx, schemas.RawStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []storedBatch
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("reading FACT_RAW message %d: %v", seq, err)
		}
		var b schemas.Batch
		if err := schemas.DecodeBatch(m.Data, &b); err != nil {
			t.Fatalf("message %d (%s): %v", seq, m.Subject, err)
		}
		out = append(out, storedBatch{batch: b, header: m.Header})
	}
	return out
}

// producer feeds the fake probes kernel records at a steady rate, numbering them 1, 2, ...
type producer struct {
	sent atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func produce(probes *fakeProbes, dev uint64, perTick int, tick time.Duration) *producer {
	p := &producer{stop: make(chan struct{})}
	p.wg.Go(func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
			for range perTick {
				seq := p.sent.Load() + 1
				probes.events <- openEvent(seq, dev, 1_000_000+seq)
				p.sent.Store(seq)
			}
		}
	})
	return p
}

func (p *producer) halt() uint64 {
	close(p.stop)
	p.wg.Wait()
	return p.sent.Load()
}

// TestOutageExactlyOnce publishes a steady stream of kernel records while the NATS server is stopped
// for ten seconds and started again, and checks that FACT_RAW holds every sensor sequence number
// exactly once, every kernel record once, and nothing reported lost.
func TestOutageExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("takes over ten seconds")
	}
	srv := natsservertest.RunServer(t)
	nc := tcpConn(t, srv.ClientURL())
	root := t.TempDir()
	r := startSensor(t, testConfig(t, root+"/**"), Deps{Conn: nc})
	dev, _ := statIno(t, root)

	p := produce(r.probes, dev, 20, 5*time.Millisecond) // 4,000 records/s
	time.Sleep(2 * time.Second)
	srv.Shutdown()
	t.Log("server stopped")
	time.Sleep(10 * time.Second)
	srv = restart(t, srv)
	t.Log("server started again")
	time.Sleep(2 * time.Second)
	sent := p.halt()
	// The last records may still wait in the probes' channel: drained means read up to sent, then published.
	waitFor(t, 30*time.Second, "the sensor to read every record and drain its backlog", func() bool {
		st := r.s.Status()
		return st.KernelSeq >= sent && st.Pending == 0 && st.Spool.Batches == 0 && st.Spool.MemoryBytes == 0 &&
			st.Spool.PendingAcks == 0
	})
	r.stop(t)
	lastSeq := r.s.seqs.Peek(0) - 1

	check := tcpConn(t, srv.ClientURL())
	seen := map[uint64]int{}
	kernel := map[uint64]int{}
	for _, b := range streamBatches(t, check) {
		for _, ev := range b.Events {
			seen[ev.Seq]++
			switch ev.Kind {
			case schemas.KindOpen:
				kernel[ev.Ino-1_000_000]++
			case schemas.KindLoss:
				t.Errorf("loss reported: %d at %s", ev.Lost, ev.Hook)
			}
		}
	}
	for seq := uint64(1); seq <= lastSeq; seq++ {
		if seen[seq] != 1 {
			t.Errorf("sensor sequence %d is in FACT_RAW %d times", seq, seen[seq])
		}
	}
	if len(seen) != int(lastSeq) {
		t.Errorf("FACT_RAW holds %d sequences, the sensor handed out %d", len(seen), lastSeq)
	}
	for k := uint64(1); k <= sent; k++ {
		if kernel[k] != 1 {
			t.Errorf("kernel record %d is in FACT_RAW %d times", k, kernel[k])
		}
	}
	t.Logf("%d kernel records, %d sensor sequences, each exactly once", sent, lastSeq)
}

// restart starts srv again on its store and port.
func restart(t *testing.T, srv *natsserver.Server) *natsserver.Server {
	t.Helper()
	return natsservertest.RunServerWith(t, srv.Config())
}

// TestControl answers rescan and status requests over NATS.
func TestControl(t *testing.T) {
	srv := natsservertest.RunServer(t)
	nc := tcpConn(t, srv.ClientURL())
	root := t.TempDir()
	r := startSensor(t, testConfig(t, root+"/**"), Deps{Conn: nc})
	first := r.s.Status().LastScan.Epoch

	msg, err := nc.Request(schemas.ControlSubject("node1", schemas.VerbRescan), []byte(root), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var rr RescanReply
	if err := json.Unmarshal(msg.Data, &rr); err != nil || rr.Error != "" || rr.Epoch <= first {
		t.Fatalf("rescan reply %s (%v), want an epoch after %d", msg.Data, err, first)
	}
	msg, err = nc.Request(schemas.ControlSubject("node1", schemas.VerbRescan), []byte("/not/monitored"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(msg.Data, &rr); err != nil || rr.Error == "" {
		t.Errorf("rescan of an unmonitored path: %s", msg.Data)
	}
	msg, err = nc.Request(schemas.ControlSubject("node1", schemas.VerbStatus), nil, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := json.Unmarshal(msg.Data, &st); err != nil || !st.Ready || st.ProbeSet != "tracepoint" || st.Sequence == 0 {
		t.Errorf("status %s (%v)", msg.Data, err)
	}
	r.stop(t)
	// The rescan's epoch is in FACT_RAW, begun and ended.
	ended := false
	for _, b := range streamBatches(t, nc) {
		for _, ev := range b.Events {
			if ev.Kind == schemas.KindScanEnd && ev.ScanEpoch == rr.Epoch {
				ended = true
			}
		}
	}
	if !ended {
		t.Errorf("epoch %d never ended in FACT_RAW", rr.Epoch)
	}
}

// TestResolverRescanRequest: a resolver publishes a schemas.RescanRequest (JSON, no reply wanted) when
// its view of a filesystem became uncertain; the sensor publishes a new scan epoch of that filesystem,
// and requests that arrive while another scan runs coalesce into one epoch. A request for another host, or one that
// cannot be read, starts nothing.
func TestResolverRescanRequest(t *testing.T) {
	srv := natsservertest.RunServer(t)
	nc := tcpConn(t, srv.ClientURL())
	root := t.TempDir()
	r := startSensor(t, testConfig(t, root+"/**"), Deps{Conn: nc})
	first := r.s.Status().LastScan.Epoch
	dev := r.s.Status().LastScan.Devs[0]
	subject := schemas.ControlSubject("node1", schemas.VerbRescan)
	for _, data := range []string{`{"host":"other","dev":1}`, `{"host":`} {
		msg, err := nc.Request(subject, []byte(data), 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var rr RescanReply
		if err := json.Unmarshal(msg.Data, &rr); err != nil || rr.Error == "" {
			t.Errorf("request %s: reply %s, want an error", data, msg.Data)
		}
	}
	rq, err := json.Marshal(schemas.RescanRequest{Host: "node1", Dev: dev, Reason: "sequence hole", RawSeq: 42, Partition: 7})
	if err != nil {
		t.Fatal(err)
	}
	// The three arrive while another scan holds the scan lock, as requests from several partitions do
	// during a scan: they must make one epoch.
	r.s.scanMu.Lock()
	for range 3 {
		if err := nc.Publish(subject, rq); err != nil {
			r.s.scanMu.Unlock()
			t.Fatal(err)
		}
	}
	queued := r.s.m.controlReqs.WithLabelValues(schemas.VerbRescan, "queued")
	waitFor(t, 10*time.Second, "the three requests to be queued", func() bool { return testutil.ToFloat64(queued) == 3 })
	r.s.scanMu.Unlock()
	waitFor(t, 10*time.Second, "a rescan epoch after the request", func() bool {
		ls := r.s.Status().LastScan
		return ls != nil && ls.Epoch > first
	})
	time.Sleep(300 * time.Millisecond) // room for a second epoch, were the requests not coalesced
	r.stop(t)
	ended := map[uint64][]uint64{}
	for _, b := range streamBatches(t, nc) {
		for _, ev := range b.Events {
			if ev.Kind == schemas.KindScanEnd && ev.ScanEpoch > first {
				ended[ev.ScanEpoch] = append(ended[ev.ScanEpoch], ev.Dev)
			}
		}
	}
	if len(ended) != 1 {
		t.Fatalf("epochs after the requests: %v, want one", ended)
	}
	for epoch, devs := range ended {
		if len(devs) != 1 || devs[0] != dev {
			t.Errorf("epoch %d covers filesystems %v, want only %d", epoch, devs, dev)
		}
	}
}
