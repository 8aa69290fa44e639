package sensor

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/accounting"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap/zaptest"
)

// TestRestartWithPinnedProbes: a sensor that finds probes of its checkpoint's instance continues their
// sequence from the checkpoint. Records a previous run spooled count as delivered; the rest of what lies
// between the checkpoint and the first record read is one restart loss with the exact count, and every
// batch names the kernel records it accounts for.
func TestRestartWithPinnedProbes(t *testing.T) {
	root := t.TempDir()
	cfg := testConfig(t, root+"/**")
	cp := accounting.Checkpoint{BootID: cfg.BootID, Instance: 7, KernelSeq: 100, Since: time.Now()}
	if err := cp.Save(cfg.StateDir); err != nil {
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
	waitFor(t, 5*time.Second, "the restart loss", func() bool { return lossEvents(t, pub)[accounting.HookRestart] > 0 })
	r.stop(t)
	if got := lossEvents(t, pub); got[accounting.HookRestart] != 38 || len(got) != 1 {
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
