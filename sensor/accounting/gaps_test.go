package accounting

import (
	"testing"
	"time"
)

func TestGapTracker(t *testing.T) {
	now := time.Unix(0, 0)
	clock := func() time.Time { return now }
	g := newGapTracker(4, 100*time.Millisecond)
	var lost uint64
	for _, s := range []uint64{10, 12, 11, 13} {
		lost += g.observe(s, clock)
	}
	if lost != 0 || g.contiguous() != 13 {
		t.Fatalf("reordered records: lost %d, contiguous %d", lost, g.contiguous())
	}
	for _, s := range []uint64{16, 17} { // 14, 15 missing
		lost += g.observe(s, clock)
	}
	if lost != 0 {
		t.Fatalf("a hole counted before its grace: %d", lost)
	}
	now = now.Add(200 * time.Millisecond)
	if lost = g.idle(now); lost != 2 || g.contiguous() != 17 {
		t.Fatalf("after the grace: lost %d contiguous %d, want 2 and 17", lost, g.contiguous())
	}
	g.observe(15, clock)
	if g.late != 1 {
		t.Errorf("a record after its write-off is not counted late")
	}
	lost = 0
	for _, s := range []uint64{19, 20, 21, 22, 23} { // 18 missing; the window (4) overflows
		lost += g.observe(s, clock)
	}
	if lost != 1 {
		t.Errorf("window overflow: lost %d, want 1", lost)
	}
}
