package publish

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/factstream/factstream/schemas"
)

// DropReason says why messages were dropped.
type DropReason string

// Drop reasons.
const (
	// ReasonSpoolFull: memory and the disk spool were full while NATS was away or slow.
	ReasonSpoolFull DropReason = "spool_full"
	// ReasonSpoolError: writing the spool failed (disk error).
	ReasonSpoolError DropReason = "spool_error"
	// ReasonRejected: the server refused the message for good (too large for the stream).
	ReasonRejected DropReason = "rejected"
)

// maxRanges bounds the ranges kept per Drop; beyond it the last range is widened and Widened is set, so
// memory stays bounded while the report still covers every dropped sequence.
const maxRanges = 1024

// SeqRange is an inclusive range of sensor sequence numbers.
type SeqRange struct {
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
}

// Drop is what was dropped on one filesystem (Msg.Dev) for one reason.
type Drop struct {
	Dev     uint64     `json:"dev"`
	Reason  DropReason `json:"reason"`
	Batches int        `json:"batches"`
	Events  int        `json:"events"`
	// Ranges are the dropped sequence ranges, sorted and merged when adjacent.
	Ranges []SeqRange `json:"ranges"`
	// Widened means Ranges were coarsened to stay bounded and may include sequences that were not
	// dropped (a consumer treating them as lost rescans a little more than needed).
	Widened bool `json:"widened,omitempty"`
}

// SpoolCorruption is a part of the spool that could not be read back (a torn write after a crash, or a
// damaged disk) and was truncated; what it held is unknown.
type SpoolCorruption struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Bytes  int64  `json:"bytes"`
	Reason string `json:"reason"`
}

// LossReport is everything dropped since the previous report. The sensor turns it into a loss event.
type LossReport struct {
	Drops       []Drop            `json:"drops,omitempty"`
	Corruptions []SpoolCorruption `json:"corruptions,omitempty"`
}

// Empty reports whether nothing was lost.
func (r LossReport) Empty() bool { return len(r.Drops) == 0 && len(r.Corruptions) == 0 }

// Events is the number of events dropped (corruptions excluded: their content is unknown).
func (r LossReport) Events() int {
	n := 0
	for _, d := range r.Drops {
		n += d.Events
	}
	return n
}

// Batches is the number of messages dropped.
func (r LossReport) Batches() int {
	n := 0
	for _, d := range r.Drops {
		n += d.Batches
	}
	return n
}

// lossBook accumulates drops until they are reported. Not safe for concurrent use.
type lossBook struct {
	drops       map[dropKey]*Drop
	corruptions []SpoolCorruption
}

type dropKey struct {
	dev    uint64
	reason DropReason
}

func (b *lossBook) empty() bool { return len(b.drops) == 0 && len(b.corruptions) == 0 }

// add records that m was dropped for reason.
func (b *lossBook) add(m *Msg, reason DropReason) {
	if b.drops == nil {
		b.drops = make(map[dropKey]*Drop)
	}
	k := dropKey{m.Dev, reason}
	d := b.drops[k]
	if d == nil {
		d = &Drop{Dev: m.Dev, Reason: reason}
		b.drops[k] = d
	}
	d.Batches++
	d.Events += m.Events
	d.addRange(SeqRange{m.FirstSeq, m.LastSeq})
}

// addRange inserts r keeping Ranges sorted and merged.
func (d *Drop) addRange(r SeqRange) {
	i, _ := slices.BinarySearchFunc(d.Ranges, r, func(a, b SeqRange) int { return cmp.Compare(a.First, b.First) })
	d.Ranges = slices.Insert(d.Ranges, i, r)
	d.Ranges = mergeRanges(d.Ranges)
	if len(d.Ranges) > maxRanges {
		last := len(d.Ranges) - 1
		d.Ranges[last-1].Last = max(d.Ranges[last-1].Last, d.Ranges[last].Last)
		d.Ranges = d.Ranges[:last]
		d.Widened = true
	}
}

// mergeRanges merges overlapping or adjacent ranges of a sorted slice in place.
func mergeRanges(rs []SeqRange) []SeqRange {
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && r.First <= out[n-1].Last+1 {
			out[n-1].Last = max(out[n-1].Last, r.Last)
			continue
		}
		out = append(out, r)
	}
	return out
}

// merge adds a report (loaded from disk) to the book.
func (b *lossBook) merge(r LossReport) {
	if b.drops == nil {
		b.drops = make(map[dropKey]*Drop)
	}
	for _, d := range r.Drops {
		k := dropKey{d.Dev, d.Reason}
		cur := b.drops[k]
		if cur == nil {
			cur = &Drop{Dev: d.Dev, Reason: d.Reason}
			b.drops[k] = cur
		}
		cur.Batches += d.Batches
		cur.Events += d.Events
		cur.Widened = cur.Widened || d.Widened
		for _, rg := range d.Ranges {
			cur.addRange(rg)
		}
	}
	b.corruptions = append(b.corruptions, r.Corruptions...)
}

// report returns the accumulated drops, sorted by dev and reason, leaving the book as is.
func (b *lossBook) report() LossReport {
	var r LossReport
	for _, d := range b.drops {
		c := *d
		c.Ranges = slices.Clone(d.Ranges)
		r.Drops = append(r.Drops, c)
	}
	slices.SortFunc(r.Drops, func(x, y Drop) int {
		return cmp.Or(cmp.Compare(x.Dev, y.Dev), cmp.Compare(x.Reason, y.Reason))
	})
	r.Corruptions = slices.Clone(b.corruptions)
	return r
}

// take returns the report and empties the book.
func (b *lossBook) take() LossReport {
	r := b.report()
	*b = lossBook{}
	return r
}

// lossFile is where an unreported LossReport waits across a restart.
const lossFile = "loss.json"

// loadLoss reads and removes a pending loss report from dir; a missing file is an empty report.
func loadLoss(dir string) (LossReport, error) {
	path := filepath.Join(dir, lossFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return LossReport{}, nil
	}
	if err != nil {
		return LossReport{}, fmt.Errorf("reading loss report: %w", err)
	}
	r, err := decodeLoss(b)
	if err != nil {
		r = LossReport{Corruptions: []SpoolCorruption{{File: lossFile, Bytes: int64(len(b)), Reason: "unreadable loss report: " + err.Error()}}}
	}
	return r, nil
}

// savedDrop is a Drop as a loss file holds it. A file saved before drops were kept by dev names the
// subject instead (fact.in.<host>.<dev>) and has no dev.
type savedDrop struct {
	Drop
	Subject string `json:"subject"`
}

// decodeLoss parses a saved loss report, taking the dev of a drop saved with a subject from the subject.
func decodeLoss(b []byte) (LossReport, error) {
	var saved struct {
		Drops       []savedDrop       `json:"drops"`
		Corruptions []SpoolCorruption `json:"corruptions"`
	}
	if err := json.Unmarshal(b, &saved); err != nil {
		return LossReport{}, err
	}
	r := LossReport{Corruptions: saved.Corruptions}
	for _, d := range saved.Drops {
		if d.Subject != "" {
			_, dev, ok := schemas.ParseIngestSubject(d.Subject)
			if !ok {
				return LossReport{}, fmt.Errorf("drop on %q: %w", d.Subject, errNoDevSubject)
			}
			d.Dev = dev
		}
		r.Drops = append(r.Drops, d.Drop)
	}
	return r, nil
}

// saveLoss writes r to dir atomically (temporary file, fsync, rename, fsync of the directory).
func saveLoss(dir string, r LossReport) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding loss report: %w", err)
	}
	return writeFileAtomic(dir, lossFile, b)
}

// removeLoss deletes the loss file once its report has been handed over.
func removeLoss(dir string) error {
	err := os.Remove(filepath.Join(dir, lossFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing loss report: %w", err)
	}
	return nil
}
