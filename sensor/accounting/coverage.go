package accounting

import (
	"slices"
	"sync"
	"time"

	"github.com/factstream/factstream/schemas"
)

// coverage knows which kernel records are accounted for durably: delivered in a batch JetStream
// acknowledged, or reported lost in one. Its mark is the highest kernel sequence at and below which every
// record is; the checkpoint saves it, so that after a crash the records above it are the only ones in
// question. It is safe for concurrent use.
type coverage struct {
	mu       sync.Mutex
	instance uint64
	mark     uint64
	done     []schemas.SeqRange // accounted for above mark, sorted and merged
	doneAt   time.Time          // when the oldest batch among those in done was opened
	flights  map[string]flight  // handed to the publisher and not yet acknowledged, by message id
}

// flight is what one batch on its way accounts for, and when the batch was opened.
type flight struct {
	ranges []schemas.SeqRange
	opened time.Time
}

func newCoverage(instance, mark uint64) *coverage {
	return &coverage{instance: instance, mark: mark, flights: map[string]flight{}}
}

// start sets the mark below the first record of fresh probes, whose earlier sequences never existed.
func (c *coverage) start(first uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mark = max(c.mark, first-1)
	c.advanceLocked()
}

// handed records a batch given to the publisher; call it before Publish, so its acknowledgement finds it.
func (c *coverage) handed(id string, ranges []schemas.SeqRange, opened time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flights[id] = flight{ranges: ranges, opened: opened}
}

// acked accounts for the batch id, acknowledged by JetStream or dropped by the publisher (which reports
// its events lost). Ids not handed in this run (batches recovered from the spool) are ignored: the
// restart check counts them.
func (c *coverage) acked(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.flights[id]
	if !ok {
		return
	}
	delete(c.flights, id)
	c.addLocked(f.ranges, f.opened)
}

// settle accounts for ranges without a batch of this run: records already durable (stored at or after
// at), or reported some other way.
func (c *coverage) settle(ranges []schemas.SeqRange, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(ranges, at)
}

// forget accounts for a batch handed to the publisher that will never be acknowledged: the publisher
// counts and reports what it drops.
func (c *coverage) forget(id string) { c.acked(id) }

func (c *coverage) addLocked(ranges []schemas.SeqRange, at time.Time) {
	if len(ranges) == 0 {
		return
	}
	if len(c.done) == 0 || at.Before(c.doneAt) {
		c.doneAt = at
	}
	c.done = schemas.SortRanges(append(c.done, ranges...))
	c.advanceLocked()
}

// advanceLocked moves the mark over the ranges that continue it.
func (c *coverage) advanceLocked() {
	i := 0
	for ; i < len(c.done) && c.done[i].Lo <= c.mark+1; i++ {
		c.mark = max(c.mark, c.done[i].Hi)
	}
	c.done = slices.Delete(c.done, 0, i)
}

// state returns the mark and the oldest time a batch accounting for records above it was opened (now when
// there is none): a crashed run's batches that the mark does not cover were stored after it.
func (c *coverage) state(now time.Time) (mark uint64, since time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	since = now
	if len(c.done) > 0 && c.doneAt.Before(since) {
		since = c.doneAt
	}
	for _, f := range c.flights {
		if f.opened.Before(since) {
			since = f.opened
		}
	}
	return c.mark, since
}

// header is the Factstream-Kernel-Seqs value of a batch accounting for ranges.
func (c *coverage) header(ranges []schemas.SeqRange) string {
	return schemas.KernelSeqs{Instance: c.instance, Ranges: ranges}.String()
}
