package accounting

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/factstream/factstream/schemas"
)

// Hooks named in the losses the accounting reports that are not kernel hooks.
const (
	HookRingSequence = "ring_sequence" // a hole in the kernel's record sequence no counter explains
	HookRestart      = "restart"       // records between the last checkpoint and the first record after a restart
	HookMalformed    = "malformed"     // records read from the ring buffer that did not decode
)

// Loss is one loss event to publish: Records kernel records lost at Hook (a kernel hook whose
// ringbuffer_full counter rose, or one of the Hook constants).
type Loss struct {
	Hook    string
	Records uint64
}

// kernelLoss reconciles the two ways the kernel's lost records show: holes in the record sequence
// (exact in number and position, but without a hook) and the per-hook ringbuffer_full counters (exact
// per hook, but read by polling). Each lost record is reported once: a hole is attributed to the hooks
// whose counters rose, and a counter rise whose hole never shows (nothing was read after it) is
// reported after grace and remembered, so the hole that appears later is not reported again.
// It is safe for concurrent use.
type kernelLoss struct {
	mu        sync.Mutex
	last      schemas.Counters  // the previous reading
	full      map[string]uint64 // ringbuffer_full rises not reported yet
	fullSince time.Time
	prepaid   uint64             // rises reported before their holes were seen
	holes     uint64             // records missing from the sequence, not reported yet
	ranges    []schemas.SeqRange // where those holes are
	restart   uint64             // the part of holes found across a restart
	malformed uint64             // records read but not decoded: they show up as holes too
	grace     time.Duration
}

func newKernelLoss(prev schemas.Counters, grace time.Duration) *kernelLoss {
	return &kernelLoss{last: prev, full: map[string]uint64{}, grace: grace}
}

// addHoles records records missing from the sequence; restart says they were found across a restart.
func (k *kernelLoss) addHoles(ranges []schemas.SeqRange, restart bool) {
	n := rangesLen(ranges)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.holes += n
	k.ranges = append(k.ranges, ranges...)
	if restart {
		k.restart += n
	}
}

// addMalformed records a record that was read but did not decode.
func (k *kernelLoss) addMalformed() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.malformed++
}

// counters returns the last reading.
func (k *kernelLoss) counters() schemas.Counters {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.last)
}

// poll takes a new counter reading (nil when it could not be read) and returns the losses to publish, and
// where in the sequence the holes they report are (all holes known so far: the counts report each once,
// some of them earlier, when a counter rose before its hole was seen).
func (k *kernelLoss) poll(c schemas.Counters, now time.Time) ([]Loss, []schemas.SeqRange) {
	k.mu.Lock()
	defer k.mu.Unlock()
	ranges := k.ranges
	k.ranges = nil
	if c != nil {
		k.rises(c, now)
	}
	var out []Loss
	take := func(pool *uint64, hook string) {
		if m := min(*pool, k.holes); m > 0 {
			// A counter explains the holes of this run first: those across a restart are most
			// likely records the previous run read and did not deliver.
			other := k.holes - k.restart
			*pool -= m
			k.holes -= m
			if m > other {
				k.restart -= m - other
			}
			if hook != "" {
				out = append(out, Loss{hook, m})
			}
		}
	}
	take(&k.malformed, HookMalformed)
	take(&k.prepaid, "")
	for _, h := range slices.Sorted(maps.Keys(k.full)) {
		n := k.full[h]
		take(&n, h)
		k.full[h] = n
	}
	if r := min(k.restart, k.holes); r > 0 {
		out = append(out, Loss{HookRestart, r})
		k.holes -= r
		k.restart = 0
	}
	if k.holes > 0 {
		out = append(out, Loss{HookRingSequence, k.holes})
		k.holes = 0
	}
	return append(out, k.expire(now)...), ranges
}

// rises adds the ringbuffer_full rises since the previous reading. A counter below its previous value
// means the probes were loaded afresh: all of it is new.
func (k *kernelLoss) rises(c schemas.Counters, now time.Time) {
	for h, v := range c {
		prev := k.last[h].RingbufferFull
		d := v.RingbufferFull - prev
		if v.RingbufferFull < prev {
			d = v.RingbufferFull
		}
		if d > 0 {
			if k.pendingFull() == 0 {
				k.fullSince = now
			}
			k.full[h] += d
		}
	}
	k.last = c
}

func (k *kernelLoss) pendingFull() uint64 {
	var n uint64
	for _, v := range k.full {
		n += v
	}
	return n
}

// expire reports rises whose holes have not shown within grace, and remembers them as prepaid.
func (k *kernelLoss) expire(now time.Time) []Loss {
	if k.pendingFull() == 0 || now.Sub(k.fullSince) < k.grace {
		return nil
	}
	var out []Loss
	for _, h := range slices.Sorted(maps.Keys(k.full)) {
		if n := k.full[h]; n > 0 {
			out = append(out, Loss{h, n})
			k.prepaid += n
		}
	}
	clear(k.full)
	return out
}
