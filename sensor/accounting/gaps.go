package accounting

import (
	"slices"
	"time"

	"github.com/factstream/factstream/schemas"
)

// gapTracker finds holes in the kernel's record sequence. The kernel numbers a record before it writes
// it to the ring buffer, so records of different CPUs can arrive slightly out of order; a hole counts as
// lost only once it has stayed open for grace, or once more than window records have arrived after it.
// Not safe for concurrent use: the drain goroutine owns it.
type gapTracker struct {
	next   uint64   // lowest sequence not seen yet; 0 before the first record
	ahead  []uint64 // sequences seen above next, sorted
	since  time.Time
	window int
	grace  time.Duration
	late   uint64             // records that arrived after being counted lost
	lost   []schemas.SeqRange // holes counted lost and not yet taken
}

func newGapTracker(window int, grace time.Duration) *gapTracker {
	return &gapTracker{window: window, grace: grace}
}

// start sets where the sequence is expected to continue (after a restart with pinned probes).
func (g *gapTracker) start(next uint64) { g.next = next }

// observe records seq and returns how many records it now knows to be lost.
func (g *gapTracker) observe(seq uint64, now func() time.Time) uint64 {
	switch {
	case g.next == 0:
		g.next = seq + 1
		return 0
	case seq == g.next:
		g.next++
		if len(g.ahead) > 0 {
			g.advance()
			return g.expire(now())
		}
		return 0
	case seq < g.next:
		g.late++
		return 0
	}
	if i, found := slices.BinarySearch(g.ahead, seq); !found {
		g.ahead = slices.Insert(g.ahead, i, seq)
	}
	if len(g.ahead) == 1 {
		g.since = now()
	}
	if len(g.ahead) > g.window {
		return g.resolve()
	}
	return g.expire(now())
}

// advance moves next over the contiguous sequences already seen.
func (g *gapTracker) advance() {
	i := 0
	for i < len(g.ahead) && g.ahead[i] == g.next {
		g.next++
		i++
	}
	g.ahead = g.ahead[:copy(g.ahead, g.ahead[i:])]
}

// expire writes holes off as lost once they have been open for grace.
func (g *gapTracker) expire(now time.Time) uint64 {
	if len(g.ahead) == 0 || now.Sub(g.since) < g.grace {
		return 0
	}
	var lost uint64
	for len(g.ahead) > 0 {
		lost += g.resolve()
	}
	return lost
}

// takeLost returns where the holes counted lost since the last call are.
func (g *gapTracker) takeLost() []schemas.SeqRange {
	l := g.lost
	g.lost = nil
	return l
}

// resolve writes off the first hole and returns its size.
func (g *gapTracker) resolve() uint64 {
	lost := g.ahead[0] - g.next
	g.lost = append(g.lost, schemas.SeqRange{Lo: g.next, Hi: g.ahead[0] - 1})
	g.next = g.ahead[0]
	g.advance()
	return lost
}

// idle is called when no record came for a while: holes still open are lost.
func (g *gapTracker) idle(now time.Time) uint64 { return g.expire(now) }

// flush writes off every open hole (at shutdown).
func (g *gapTracker) flush() uint64 {
	var lost uint64
	for len(g.ahead) > 0 {
		lost += g.resolve()
	}
	return lost
}

// contiguous returns the highest sequence below which every record was seen or counted lost.
func (g *gapTracker) contiguous() uint64 {
	if g.next == 0 {
		return 0
	}
	return g.next - 1
}
