package accounting

import (
	"sync"
	"time"

	"github.com/factstream/factstream/schemas"
)

// restartCheck settles, after a restart with probes that kept recording (pinned), which of the kernel
// records above the checkpoint's mark the previous run delivered: those in batches it spooled (seen when
// the publisher recovers the spool) or that JetStream stored (read back from FACT_RAW, headers only).
// Until both are known, holes in the kernel sequence are held, not reported; then each hole is reported
// less what was delivered, so every record the previous run read and lost is counted exactly once.
// A nil *restartCheck (fresh probes) passes holes through. It is safe for concurrent use.
type restartCheck struct {
	mu      sync.Mutex
	from    uint64    // the checkpoint's mark + 1
	since   time.Time // batches above the mark were stored after this
	first   uint64    // the first record this run read; holes below it are the restart's
	known   bool      // covered is complete
	covered []schemas.SeqRange
	held    []schemas.SeqRange
}

// state says where the check is: "" without one (fresh probes), checking, done.
func (r *restartCheck) state() string {
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.known {
		return "done"
	}
	return "checking"
}

// cover adds ranges the previous run delivered.
func (r *restartCheck) cover(ranges []schemas.SeqRange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.covered = schemas.SortRanges(append(r.covered, ranges...))
}

// started records the first record this run read.
func (r *restartCheck) started(seq uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.first = seq
}

// filter returns the holes to report now: none while the check runs (they are held), else holes less
// what the previous run delivered. The second result is the part of them below the first record this
// run read (lost across the restart).
func (r *restartCheck) filter(holes []schemas.SeqRange) (now, restart []schemas.SeqRange) {
	if r == nil {
		return holes, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.known {
		r.held = append(r.held, holes...)
		return nil, nil
	}
	return r.splitLocked(subtractRanges(holes, r.covered))
}

// finish marks the check done and returns what the previous run delivered, and the held holes to report
// as filter does.
func (r *restartCheck) finish() (covered, now, restart []schemas.SeqRange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.known = true
	held := schemas.SortRanges(r.held)
	r.held = nil
	now, restart = r.splitLocked(subtractRanges(held, r.covered))
	return r.covered, now, restart
}

// splitLocked splits holes at the first record this run read.
func (r *restartCheck) splitLocked(holes []schemas.SeqRange) (later, before []schemas.SeqRange) {
	for _, h := range holes {
		switch {
		case r.first == 0 || h.Lo >= r.first:
			later = append(later, h)
		case h.Hi < r.first:
			before = append(before, h)
		default:
			before = append(before, schemas.SeqRange{Lo: h.Lo, Hi: r.first - 1})
			later = append(later, schemas.SeqRange{Lo: r.first, Hi: h.Hi})
		}
	}
	return later, before
}

// subtractRanges returns a less b; both sorted and merged.
func subtractRanges(a, b []schemas.SeqRange) []schemas.SeqRange {
	var out []schemas.SeqRange
	j := 0
	for _, r := range a {
		lo := r.Lo
		for j < len(b) && b[j].Hi < lo {
			j++
		}
		for k := j; k < len(b) && b[k].Lo <= r.Hi && lo <= r.Hi; k++ {
			if b[k].Lo > lo {
				out = append(out, schemas.SeqRange{Lo: lo, Hi: b[k].Lo - 1})
			}
			if b[k].Hi >= r.Hi {
				lo = r.Hi + 1
				break
			}
			lo = b[k].Hi + 1
		}
		if lo <= r.Hi && lo >= r.Lo {
			out = append(out, schemas.SeqRange{Lo: lo, Hi: r.Hi})
		}
	}
	return out
}

// rangesLen counts the sequences in ranges.
func rangesLen(ranges []schemas.SeqRange) uint64 {
	var n uint64
	for _, r := range ranges {
		n += r.Len()
	}
	return n
}
