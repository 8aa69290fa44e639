package accounting

import (
	"reflect"
	"testing"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestLedgerFreshProbes: with fresh probes the accounting starts at the first record; holes are counted,
// reported once (as malformed where a record did not decode) and, with the batches acknowledged, the
// checkpoint's mark covers every record.
func TestLedgerFreshProbes(t *testing.T) {
	gaps := prometheus.NewCounter(prometheus.CounterOpts{Name: "gaps"})
	late := prometheus.NewCounter(prometheus.CounterOpts{Name: "late"})
	kicks := 0
	l := New(Checkpoint{}, 3, Options{Gaps: gaps, Late: late, Kick: func() { kicks++ }})
	if _, ok := l.Restarting(); ok || l.RestartState() != "" {
		t.Fatal("fresh probes need no restart check")
	}
	now := time.Now()
	for _, seq := range []uint64{10, 11, 13} {
		l.Observe(seq)
	}
	l.Idle(now.Add(time.Second))
	if testutil.ToFloat64(gaps) != 1 || kicks != 1 || l.KernelSeq() != 13 {
		t.Fatalf("after the idle look-up: %v gaps, %d kicks, kernel seq %d; want 1, 1, 13", testutil.ToFloat64(gaps), kicks, l.KernelSeq())
	}
	losses, ranges := l.Poll(nil, now)
	if !reflect.DeepEqual(losses, []Loss{{HookRingSequence, 1}}) || !reflect.DeepEqual(ranges, []schemas.SeqRange{{Lo: 12, Hi: 12}}) {
		t.Fatalf("poll: %v at %v, want one ring_sequence loss at 12", losses, ranges)
	}
	if h := l.Handed("a", []schemas.SeqRange{{Lo: 10, Hi: 11}, {Lo: 13, Hi: 13}}, now); h != "3:10-11,13" {
		t.Fatalf("header %q", h)
	}
	l.Handed("b", ranges, now)
	l.Acked("a")
	if cp := l.Checkpoint("boot1", now); cp.KernelSeq != 11 || cp.Instance != 3 || cp.BootID != "boot1" {
		t.Fatalf("checkpoint before the loss is acknowledged: %+v", cp)
	}
	l.Acked("b")
	if cp := l.Checkpoint("boot1", now); cp.KernelSeq != 13 {
		t.Fatalf("checkpoint with every batch acknowledged: %+v", cp)
	}
	l.Malformed()
	l.Observe(15)
	l.Observe(12) // after its hole was written off
	l.Flush()
	if losses, _ := l.Poll(nil, now); !reflect.DeepEqual(losses, []Loss{{HookMalformed, 1}}) {
		t.Fatalf("after a malformed record: %v", losses)
	}
	if testutil.ToFloat64(late) != 1 || l.KernelSeq() != 15 {
		t.Fatalf("late %v, kernel seq %d; want 1 and 15", testutil.ToFloat64(late), l.KernelSeq())
	}
}

// TestLedgerPinnedProbes: with probes of the checkpoint's instance the accounting continues from the
// checkpoint; the holes are held until the restart check is finished, then reported less what the
// previous run delivered (of the same instance only), as restart losses, exactly.
func TestLedgerPinnedProbes(t *testing.T) {
	since := time.Unix(1000, 0)
	l := New(Checkpoint{BootID: "boot1", Instance: 7, KernelSeq: 100, Since: since}, 7, Options{})
	if got, ok := l.Restarting(); !ok || !got.Equal(since) || l.RestartState() != "checking" {
		t.Fatalf("restarting %v %v, state %q", got, ok, l.RestartState())
	}
	l.CoverFrom("7:101-110,140")
	l.CoverFrom("8:111-149") // other probes
	l.CoverFrom("")          // a batch without kernel records
	for seq := uint64(150); seq < 160; seq++ {
		l.Observe(seq)
	}
	l.Flush()
	now := time.Now()
	if losses, _ := l.Poll(nil, now); len(losses) != 0 {
		t.Fatalf("reported %v before the restart check was done", losses)
	}
	l.FinishRestart()
	losses, ranges := l.Poll(nil, now)
	if !reflect.DeepEqual(losses, []Loss{{HookRestart, 38}}) {
		t.Fatalf("losses %v, want 38 at restart (111..149 less 140)", losses)
	}
	if want := []schemas.SeqRange{{Lo: 111, Hi: 139}, {Lo: 141, Hi: 149}}; !reflect.DeepEqual(ranges, want) {
		t.Fatalf("ranges %v, want %v", ranges, want)
	}
	if cp := l.Checkpoint("boot1", now); cp.KernelSeq != 110 || l.RestartState() != "done" {
		t.Fatalf("checkpoint %+v, state %q: the previous run's deliveries count", cp, l.RestartState())
	}
	l.Handed("loss", ranges, now)
	l.Handed("records", []schemas.SeqRange{{Lo: 150, Hi: 159}}, now)
	l.Acked("loss")
	l.Acked("records")
	if cp := l.Checkpoint("boot1", now); cp.KernelSeq != 159 {
		t.Fatalf("checkpoint %+v, want every record to 159", cp)
	}
}
