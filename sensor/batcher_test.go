package sensor

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/accounting"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/factstream/factstream/sensor/seqstore"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

// capture is a Publisher that keeps what it is given.
type capture struct {
	mu   sync.Mutex
	msgs []publish.Msg
	err  error
}

func (c *capture) Publish(_ context.Context, m publish.Msg) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.msgs = append(c.msgs, m)
	return nil
}

func (c *capture) batches(t *testing.T) []schemas.Batch {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]schemas.Batch, len(c.msgs))
	for i, m := range c.msgs {
		if err := schemas.DecodeBatch(m.Data, &out[i]); err != nil {
			t.Fatalf("batch %d does not decode: %v", i, err)
		}
		if m.MsgID != out[i].MsgID() || m.Subject != schemas.IngestSubject(out[i].Host, out[i].Dev) || m.Dev != out[i].Dev {
			t.Errorf("batch %d: msg id %q subject %q dev %d do not match its envelope %q/%d", i, m.MsgID, m.Subject, m.Dev, out[i].MsgID(), out[i].Dev)
		}
		if len(out[i].Events) != m.Events || out[i].Events[0].Seq != m.FirstSeq || out[i].Events[m.Events-1].Seq != m.LastSeq {
			t.Errorf("batch %d: Msg says %d events %d..%d, data disagrees", i, m.Events, m.FirstSeq, m.LastSeq)
		}
	}
	return out
}

func (c *capture) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

func testBatcher(t *testing.T, cfg BatchConfig, pub Publisher) *batcher {
	t.Helper()
	seqs, err := seqstore.Open(t.TempDir(), "boot1", seqstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seqs.Close() })
	m, err := newMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	b := newBatcher(context.Background(), "node1", "boot1", cfg, seqs, pub, accounting.New(accounting.Checkpoint{}, 1, accounting.Options{}), m, zaptest.NewLogger(t))
	t.Cleanup(b.stop)
	return b
}

func fileEvent(dev, ino uint64, name string) schemas.RawEvent {
	return schemas.RawEvent{Kind: schemas.KindCreation, Probe: schemas.ProbeLSM, Dev: dev, Ino: ino, ParentIno: 2, Name: []byte(name), Time: 1}
}

func TestBatchByCount(t *testing.T) {
	pub := &capture{}
	b := testBatcher(t, BatchConfig{MaxEvents: 3, MaxBytes: 1 << 20, MaxDelay: time.Hour}, pub)
	for i := range 7 {
		ev := fileEvent(2049, uint64(100+i), "f")
		if err := b.add(&ev, fromKernel); err != nil {
			t.Fatal(err)
		}
	}
	if pub.count() != 2 {
		t.Fatalf("%d batches after 7 events with max 3, want 2", pub.count())
	}
	b.flush()
	bs := pub.batches(t)
	want := []int{3, 3, 1}
	var seq uint64
	for i, bt := range bs {
		if len(bt.Events) != want[i] || bt.Dev != 2049 || bt.Host != "node1" || bt.BootID != "boot1" {
			t.Errorf("batch %d: %d events dev %d, want %d events dev 2049", i, len(bt.Events), bt.Dev, want[i])
		}
		if i > 0 && bt.BatchSeq <= bs[i-1].BatchSeq {
			t.Errorf("batch seqs not increasing: %d after %d", bt.BatchSeq, bs[i-1].BatchSeq)
		}
		for _, ev := range bt.Events {
			if ev.Seq <= seq {
				t.Errorf("event seq %d after %d", ev.Seq, seq)
			}
			seq = ev.Seq
		}
	}
}

func TestBatchByBytes(t *testing.T) {
	pub := &capture{}
	b := testBatcher(t, BatchConfig{MaxEvents: 1000, MaxBytes: 1024, MaxDelay: time.Hour}, pub)
	name := strings.Repeat("n", 300)
	for i := range 10 {
		ev := fileEvent(2049, uint64(i), name)
		if err := b.add(&ev, fromKernel); err != nil {
			t.Fatal(err)
		}
	}
	b.flush()
	total := 0
	for i, m := range pub.msgs {
		if len(m.Data) > 1024+100 {
			t.Errorf("batch %d is %d bytes, bound 1024 (+ envelope)", i, len(m.Data))
		}
		total += m.Events
	}
	if total != 10 || len(pub.msgs) < 3 {
		t.Errorf("%d events in %d batches", total, len(pub.msgs))
	}
	pub.batches(t)
}

func TestBatchByTime(t *testing.T) {
	pub := &capture{}
	b := testBatcher(t, BatchConfig{MaxEvents: 1000, MaxBytes: 1 << 20, MaxDelay: 20 * time.Millisecond}, pub)
	start := time.Now()
	ev := fileEvent(2049, 1, "f")
	if err := b.add(&ev, fromKernel); err != nil {
		t.Fatal(err)
	}
	ev = fileEvent(2050, 1, "g") // another filesystem: its own batch
	if err := b.add(&ev, fromKernel); err != nil {
		t.Fatal(err)
	}
	for pub.count() < 2 {
		if time.Since(start) > 2*time.Second {
			t.Fatal("batches not published by time")
		}
		time.Sleep(time.Millisecond)
	}
	if d := time.Since(start); d < 15*time.Millisecond {
		t.Errorf("published after %s, before the delay", d)
	}
	bs := pub.batches(t)
	if bs[0].Dev == bs[1].Dev {
		t.Errorf("two filesystems in one subject")
	}
}

func TestProcessEventsGoToDevZero(t *testing.T) {
	pub := &capture{}
	b := testBatcher(t, BatchConfig{MaxEvents: 10, MaxBytes: 1 << 20, MaxDelay: time.Hour}, pub)
	ev := schemas.RawEvent{Kind: schemas.KindExec, Exe: []byte("/bin/sh"), Proc: schemas.Process{Tgid: 7}}
	if err := b.add(&ev, fromKernel); err != nil {
		t.Fatal(err)
	}
	b.flush()
	if bs := pub.batches(t); len(bs) != 1 || bs[0].Dev != 0 || pub.msgs[0].Subject != "fact.in.node1.0" {
		t.Errorf("exec went to %q", pub.msgs[0].Subject)
	}
}

func TestInvalidBatchBecomesLoss(t *testing.T) {
	pub := &capture{err: publish.ErrInvalidMsg}
	b := testBatcher(t, BatchConfig{MaxEvents: 2, MaxBytes: 1 << 20, MaxDelay: time.Hour}, pub)
	for i := range 2 {
		ev := fileEvent(2049, uint64(i), "f")
		b.add(&ev, fromKernel)
	}
	pub.err = nil
	b.flush()
	bs := pub.batches(t)
	if len(bs) != 1 || bs[0].Events[0].Kind != schemas.KindLoss || bs[0].Events[0].Lost != 2 || bs[0].Events[0].Hook != "publish_invalid" {
		t.Fatalf("want one loss event for 2 events, got %+v", bs)
	}
}

func TestArrayHeader(t *testing.T) {
	pub := &capture{}
	for _, n := range []int{1, 15, 16, 300, 70000} {
		b := testBatcher(t, BatchConfig{MaxEvents: 1 << 20, MaxBytes: 8 << 20, MaxDelay: time.Hour}, pub)
		pub.msgs = nil
		for i := range n {
			ev := schemas.RawEvent{Kind: schemas.KindOpen, Dev: 1, Ino: uint64(i)}
			b.add(&ev, fromKernel)
		}
		b.flush()
		if bs := pub.batches(t); len(bs) != 1 || len(bs[0].Events) != n {
			t.Errorf("a batch of %d did not round-trip", n)
		}
	}
}

// TestBroadcastLossManyHoles: holes too many for one header are spread over several batches, each header
// within MaxKernelRanges, all of them named once, and the count is reported once.
func TestBroadcastLossManyHoles(t *testing.T) {
	pub := &capture{}
	b := testBatcher(t, BatchConfig{MaxEvents: 1 << 16, MaxBytes: 1 << 20, MaxDelay: time.Hour}, pub)
	var holes []schemas.SeqRange
	for i := range uint64(2500) {
		holes = append(holes, schemas.SeqRange{Lo: 10 * i, Hi: 10*i + 2})
	}
	b.broadcastLoss(7500, accounting.HookRingSequence, holes)
	b.flush()
	var named []schemas.SeqRange
	var lost uint64
	for _, m := range pub.msgs {
		k, err := schemas.ParseKernelSeqs(m.Header.Get(schemas.KernelSeqsHeader))
		if err != nil {
			t.Fatalf("batch %s: %v", m.MsgID, err)
		}
		named = append(named, k.Ranges...)
	}
	for _, ev := range pub.events(t) {
		lost += ev.Lost
	}
	if !reflect.DeepEqual(named, holes) || lost != 7500 {
		t.Fatalf("%d ranges named (want %d), %d lost (want 7500)", len(named), len(holes), lost)
	}
}
