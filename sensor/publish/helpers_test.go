package publish_test

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

const eventsPerMsg = 8

// testMsg is batch i: events i*8 .. i*8+7 on one of two filesystems of host h1. Its data starts with
// "first-last|" so a test can read the range back from the stream without the schema.
func testMsg(i int) publish.Msg {
	first := uint64(i * eventsPerMsg)
	last := first + eventsPerMsg - 1
	dev := uint64(2049 + i%2)
	return publish.Msg{
		Subject:  schemas.IngestSubject("h1", dev),
		Dev:      dev,
		MsgID:    "h1:boot1:" + strconv.Itoa(i),
		Data:     fmt.Appendf(nil, "%d-%d|%0200d", first, last, i),
		Events:   eventsPerMsg,
		FirstSeq: first,
		LastSeq:  last,
		Header:   nats.Header{testHeader: {strconv.Itoa(i)}},
	}
}

// testHeader carries a test batch's index, which must reach the stream through memory and spool alike.
const testHeader = "Factstream-Test-Batch"

// tcpConn connects over TCP the way a sensor does, reconnecting quickly for tests.
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

func jsFor(t testing.TB, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func ensureStream(t testing.TB, nc *nats.Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := publish.EnsureRawStream(ctx, jsFor(t, nc), publish.RawStreamConfig{}); err != nil {
		t.Fatalf("ensuring stream: %v", err)
	}
}

// startPublisher starts a publisher with test-friendly timings; cfg fields that are set win.
func startPublisher(t testing.TB, cfg publish.Config) *publish.Publisher {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = zaptest.NewLogger(t)
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	cfg.AckTimeout = orDur(cfg.AckTimeout, time.Second)
	cfg.MinBackoff = orDur(cfg.MinBackoff, 20*time.Millisecond)
	cfg.MaxBackoff = orDur(cfg.MaxBackoff, 250*time.Millisecond)
	cfg.WarnEvery = orDur(cfg.WarnEvery, time.Second)
	p, err := publish.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("starting publisher: %v", err)
	}
	return p
}

func orDur(v, d time.Duration) time.Duration {
	if v == 0 {
		return d
	}
	return v
}

func closePublisher(t testing.TB, p *publish.Publisher, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("closing publisher: %v", err)
	}
}

// stored is one FACT_RAW message reduced to what the tests check.
type stored struct {
	subject     string
	first, last uint64
}

// readStream reads all of FACT_RAW with an ordered consumer.
func readStream(t testing.TB, js jetstream.JetStream) []stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, schemas.RawStream)
	if err != nil {
		t.Fatal(err)
	}
	total := s.CachedInfo().State.Msgs
	cons, err := js.OrderedConsumer(ctx, schemas.RawStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []stored
	for uint64(len(out)) < total {
		batch, err := cons.Fetch(int(min(total-uint64(len(out)), 1000)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatalf("fetching: %v", err)
		}
		for m := range batch.Messages() {
			st := parseStored(t, m.Subject(), m.Data())
			if want := strconv.FormatUint(st.first/eventsPerMsg, 10); m.Headers().Get(testHeader) != want {
				t.Fatalf("batch %s arrived with header %q, want %q", want, m.Headers().Get(testHeader), want)
			}
			out = append(out, st)
		}
		if err := batch.Error(); err != nil {
			t.Fatalf("fetching: %v", err)
		}
	}
	return out
}

func parseStored(t testing.TB, subject string, data []byte) stored {
	t.Helper()
	head, _, ok := strings.Cut(string(data), "|")
	a, b, ok2 := strings.Cut(head, "-")
	first, err1 := strconv.ParseUint(a, 10, 64)
	last, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || !ok2 || err1 != nil || err2 != nil {
		t.Fatalf("unexpected payload on %s: %.40q", subject, data)
	}
	return stored{subject: subject, first: first, last: last}
}

// assertExactlyOnce checks that batches want (by index) are each stored exactly once, nothing else is,
// and each subject's batches are in order. It returns whether the whole stream is in publish order.
func assertExactlyOnce(t testing.TB, got []stored, want []int) (totalOrder bool) {
	t.Helper()
	count := make(map[uint64]int)
	for _, s := range got {
		count[s.first]++
	}
	for _, i := range want {
		m := testMsg(i)
		if c := count[m.FirstSeq]; c != 1 {
			t.Errorf("batch %d (seq %d-%d) stored %d times", i, m.FirstSeq, m.LastSeq, c)
		}
		delete(count, m.FirstSeq)
	}
	for first, c := range count {
		t.Errorf("unexpected batch starting at seq %d stored %d times", first, c)
	}
	if len(got) != len(want) {
		t.Errorf("stream holds %d messages, want %d", len(got), len(want))
	}
	last := make(map[string]uint64)
	totalOrder = sort.SliceIsSorted(got, func(a, b int) bool { return got[a].first < got[b].first })
	for _, s := range got {
		if prev, ok := last[s.subject]; ok && s.first <= prev {
			t.Errorf("%s: seq %d stored after %d", s.subject, s.first, prev)
		}
		last[s.subject] = s.first
		if !strings.HasPrefix(s.subject, schemas.RawPrefix+".") {
			t.Errorf("stored subject %s not transformed", s.subject)
		}
	}
	return totalOrder
}

func indexes(from, to int) []int {
	out := make([]int, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// metric returns the value of a counter or gauge (summed over labels) from reg.
func metric(t testing.TB, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var v float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			v += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return v
}

// lossRecorder collects loss reports.
type lossRecorder struct {
	mu      sync.Mutex
	reports []publish.LossReport
	ch      chan struct{}
}

func newLossRecorder() *lossRecorder { return &lossRecorder{ch: make(chan struct{}, 16)} }

func (l *lossRecorder) onLoss(r publish.LossReport) {
	l.mu.Lock()
	l.reports = append(l.reports, r)
	l.mu.Unlock()
	select {
	case l.ch <- struct{}{}:
	default:
	}
}

// events sums the events reported dropped for reason.
func (l *lossRecorder) events(reason publish.DropReason) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reports {
		for _, d := range r.Drops {
			if d.Reason == reason {
				n += d.Events
			}
		}
	}
	return n
}

func (l *lossRecorder) wait(t testing.TB, timeout time.Duration) []publish.LossReport {
	t.Helper()
	select {
	case <-l.ch:
	case <-time.After(timeout):
		t.Fatalf("no loss report within %s", timeout)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]publish.LossReport(nil), l.reports...)
}
