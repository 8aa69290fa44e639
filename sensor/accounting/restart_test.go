package accounting

import (
	"reflect"
	"testing"

	"github.com/factstream/factstream/schemas"
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
