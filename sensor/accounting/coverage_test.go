package accounting

import (
	"testing"
	"time"

	"github.com/factstream/factstream/schemas"
)

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
