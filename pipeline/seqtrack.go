package pipeline

import "slices"

// maxAhead bounds how many batches a seqTrack holds above a hole before it gives the hole up.
const maxAhead = 4096

// seqTrack follows the batch sequence of one sensor boot, which numbers every batch of the host (all
// filesystems and the process subject) in the order they are published. A batch may be stored a little
// out of order (retries, the spool); a missing number counts as lost once batches after it have arrived
// for lateness of stream time, or once maxAhead batches are above it. Stream time is the FACT_RAW
// timestamp, so the verdict is a function of the stream.
type seqTrack struct {
	boot  string
	next  uint64   // lowest batch sequence not seen yet; 0 before the first
	ahead []uint64 // sequences seen above next, sorted
	since int64    // stream time when the oldest open hole was first seen
	at    uint64   // and the FACT_RAW sequence of the message that showed it
}

// observe records batch seq, stored at stream time ts, and reports whether it is new: false for a
// batch seen before (a duplicate that escaped the stream's dedup window) or one older than a hole given
// up already.
func (t *seqTrack) observe(seq uint64, ts int64, at uint64) bool {
	switch {
	case t.next == 0:
		t.next = seq + 1
		return true
	case seq == t.next:
		t.next++
		t.advance()
		return true
	case seq < t.next:
		return false
	}
	i, found := slices.BinarySearch(t.ahead, seq)
	if found {
		return false
	}
	if len(t.ahead) == 0 {
		t.since, t.at = ts, at
	}
	t.ahead = slices.Insert(t.ahead, i, seq)
	return true
}

// advance moves next over the sequences already seen.
func (t *seqTrack) advance() {
	i := 0
	for i < len(t.ahead) && t.ahead[i] == t.next {
		t.next++
		i++
	}
	t.ahead = slices.Delete(t.ahead, 0, i)
}

// hole is a range of batch sequences given up as lost.
type hole struct {
	from, to uint64 // the first and the last missing, inclusive
	lost     uint64 // batches missing in [from, to]
	since    int64  // stream time when it was first seen
	at       uint64 // FACT_RAW sequence of the message that showed it
}

// due gives up the open holes when they have been open for lateness at stream time now, or when too
// many batches wait above them. ok is false when nothing is due.
func (t *seqTrack) due(now, lateness int64) (h hole, ok bool) {
	if len(t.ahead) == 0 || (now-t.since < lateness && len(t.ahead) <= maxAhead) {
		return hole{}, false
	}
	last := t.ahead[len(t.ahead)-1]
	h = hole{from: t.next, to: last, lost: last - t.next + 1 - uint64(len(t.ahead)), since: t.since, at: t.at}
	for i := len(t.ahead) - 1; i >= 0 && t.ahead[i] == h.to; i-- {
		h.to-- // the last missing one
	}
	t.next, t.ahead = last+1, t.ahead[:0]
	return h, true
}
