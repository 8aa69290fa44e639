package sensor

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap/zaptest"
	"pgregory.net/rapid"
)

// rangesOf turns a set of sequences into sorted, merged ranges.
func rangesOf(set map[uint64]bool) []schemas.SeqRange {
	var r []schemas.SeqRange
	for s := uint64(1); s <= 64; s++ {
		if set[s] {
			r = schemas.AppendSeq(r, s)
		}
	}
	return r
}

// TestSubtractRanges: subtracting ranges is set difference.
func TestSubtractRanges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gen := rapid.MapOf(rapid.Uint64Range(1, 64), rapid.Just(true))
		a, b := gen.Draw(t, "a"), gen.Draw(t, "b")
		want := map[uint64]bool{}
		for s := range a {
			if !b[s] {
				want[s] = true
			}
		}
		got := subtractRanges(rangesOf(a), rangesOf(b))
		if !reflect.DeepEqual(got, rangesOf(want)) {
			t.Fatalf("%v - %v = %v, want %v", rangesOf(a), rangesOf(b), got, rangesOf(want))
		}
	})
}

// TestCoverage: the mark moves only over records acknowledged or settled, whatever the order, and the
// time to read back from is that of the oldest batch the mark does not cover.
func TestCoverage(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := newCoverage(9, 0)
	c.start(1)
	c.handed("a", []schemas.SeqRange{{Lo: 1, Hi: 10}}, t0)
	c.handed("b", []schemas.SeqRange{{Lo: 11, Hi: 12}, {Lo: 20, Hi: 20}}, t0.Add(time.Second))
	c.handed("c", []schemas.SeqRange{{Lo: 13, Hi: 19}}, t0.Add(2*time.Second))
	check := func(step string, wantMark uint64, wantSince time.Time) {
		t.Helper()
		mark, since := c.state(t0.Add(time.Hour))
		if mark != wantMark || !since.Equal(wantSince) {
			t.Fatalf("%s: mark %d since %v, want %d since %v", step, mark, since, wantMark, wantSince)
		}
	}
	check("nothing acknowledged", 0, t0)
	c.acked("b")
	check("b acknowledged", 0, t0)
	c.acked("a")
	check("a and b acknowledged", 12, t0) // 20 waits for c; the time is the oldest since nothing waited
	c.acked("c")
	check("all acknowledged", 20, t0.Add(time.Hour))
	c.settle([]schemas.SeqRange{{Lo: 21, Hi: 25}}, t0)
	c.acked("unknown") // a batch of an earlier run
	check("settled", 25, t0.Add(time.Hour))
	if h := c.header([]schemas.SeqRange{{Lo: 1, Hi: 2}, {Lo: 5, Hi: 5}}); h != "9:1-2,5" {
		t.Fatalf("header %q", h)
	}
}

// TestRestartCheck: holes are held until the previous run's deliveries are known, then reported less
// them, split at the first record this run read.
func TestRestartCheck(t *testing.T) {
	r := &restartCheck{from: 11}
	r.started(40)
	r.cover([]schemas.SeqRange{{Lo: 11, Hi: 20}, {Lo: 25, Hi: 30}})
	if now, before := r.filter([]schemas.SeqRange{{Lo: 11, Hi: 39}}); now != nil || before != nil {
		t.Fatalf("reported %v %v before the check was done", now, before)
	}
	r.cover([]schemas.SeqRange{{Lo: 41, Hi: 41}})
	covered, later, before := r.finish()
	if want := []schemas.SeqRange{{Lo: 11, Hi: 20}, {Lo: 25, Hi: 30}, {Lo: 41, Hi: 41}}; !reflect.DeepEqual(covered, want) {
		t.Fatalf("covered %v, want %v", covered, want)
	}
	if want := []schemas.SeqRange{{Lo: 21, Hi: 24}, {Lo: 31, Hi: 39}}; !reflect.DeepEqual(before, want) || later != nil {
		t.Fatalf("held holes reported as %v before and %v later, want %v before", before, later, want)
	}
	later, before = r.filter([]schemas.SeqRange{{Lo: 38, Hi: 45}})
	if !reflect.DeepEqual(before, []schemas.SeqRange{{Lo: 38, Hi: 39}}) || !reflect.DeepEqual(later, []schemas.SeqRange{{Lo: 40, Hi: 40}, {Lo: 42, Hi: 45}}) {
		t.Fatalf("hole across the first record: before %v later %v", before, later)
	}
	var none *restartCheck
	if later, before := none.filter([]schemas.SeqRange{{Lo: 1, Hi: 2}}); len(later) != 1 || before != nil {
		t.Fatal("fresh probes: holes must pass through")
	}
}

// TestRestartWithPinnedProbes: a sensor that finds probes of its checkpoint's instance continues their
// sequence from the checkpoint. Records a previous run spooled count as delivered; the rest of what lies
// between the checkpoint and the first record read is one restart loss with the exact count, and every
// batch names the kernel records it accounts for.
func TestRestartWithPinnedProbes(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig(t, root+"/**")
	cp := checkpoint{BootID: cfg.BootID, Instance: 7, KernelSeq: 100, Since: time.Now()}
	if err := cp.save(cfg.StateDir); err != nil {
		t.Fatal(err)
	}
	probes := newFakeProbes()
	probes.instance = 7
	pub := &capture{}
	s, err := New(cfg, Deps{Probes: probes, Publisher: pub, Logger: zaptest.NewLogger(t), Clock: FixedBootClock(0)})
	if err != nil {
		t.Fatal(err)
	}
	// What publish.New reports from the spool of the previous run: one batch it spooled, and one of
	// other probes, which does not count.
	s.onRecovered(publish.Msg{Header: nats.Header{schemas.KernelSeqsHeader: {"7:101-110,140"}}})
	s.onRecovered(publish.Msg{Header: nats.Header{schemas.KernelSeqsHeader: {"8:111-149"}}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	r := &running{s: s, probes: probes, cancel: cancel, done: done}
	t.Cleanup(func() { r.stop(t) })
	waitFor(t, 10*time.Second, "the sensor to be ready", s.Ready)
	dev, ino := statIno(t, root)
	for seq := uint64(150); seq < 160; seq++ {
		probes.events <- openEvent(seq, dev, ino)
	}
	waitFor(t, 5*time.Second, "the restart loss", func() bool { return lossEvents(t, pub)[HookRestart] > 0 })
	r.stop(t)
	if got := lossEvents(t, pub); got[HookRestart] != 38 || len(got) != 1 {
		t.Fatalf("losses %v, want 38 at restart (111..149 less 140)", got)
	}
	var ranges []schemas.SeqRange
	for _, m := range pub.msgs {
		if v := m.Header.Get(schemas.KernelSeqsHeader); v != "" {
			k, err := schemas.ParseKernelSeqs(v)
			if err != nil || k.Instance != 7 {
				t.Fatalf("header %q: %v", v, err)
			}
			ranges = append(ranges, k.Ranges...)
		}
	}
	want := []schemas.SeqRange{{Lo: 111, Hi: 139}, {Lo: 141, Hi: 159}}
	if got := schemas.SortRanges(ranges); !reflect.DeepEqual(got, want) {
		t.Fatalf("batches account for %v, want %v", got, want)
	}
}

// TestKernelLossAcrossRestart: counter rises explain this run's holes first, so the holes across a restart
// keep their name; every hole is counted once.
func TestKernelLossAcrossRestart(t *testing.T) {
	now := time.Unix(0, 0)
	k := newKernelLoss(bpf.Counters{"file_open": {RingbufferFull: 10}}, time.Second)
	k.addHoles([]schemas.SeqRange{{Lo: 5, Hi: 7}}, true)    // read by the previous run, never delivered
	k.addHoles([]schemas.SeqRange{{Lo: 20, Hi: 23}}, false) // the ring was full while nobody read it
	losses, ranges := k.poll(bpf.Counters{"file_open": {RingbufferFull: 14}}, now)
	want := []lossCount{{"file_open", 4}, {HookRestart, 3}}
	if !reflect.DeepEqual(losses, want) {
		t.Fatalf("losses %v, want %v", losses, want)
	}
	if !reflect.DeepEqual(ranges, []schemas.SeqRange{{Lo: 5, Hi: 7}, {Lo: 20, Hi: 23}}) {
		t.Fatalf("ranges %v", ranges)
	}
	if losses, _ := k.poll(nil, now.Add(time.Hour)); len(losses) != 0 {
		t.Fatalf("reported again: %v", losses)
	}
}

// TestStalePrefixesDropped: path prefixes that continued probes kept from an earlier run with other paths
// are removed; those this run wants stay.
func TestStalePrefixesDropped(t *testing.T) {
	root := t.TempDir()
	probes := newFakeProbes()
	probes.prefixes["/old/place"] = true
	r := startSensor(t, testConfig(t, root+"/later/**"), Deps{Probes: probes, Publisher: &capture{}}) // a missing base: matched by path
	got := r.probes.prefixList()
	if got["/old/place"] {
		t.Fatalf("the earlier run's prefix is still matched: %v", got)
	}
	if !got[root+"/later"] {
		t.Fatalf("prefixes %v, want %s/later", got, root)
	}
}
