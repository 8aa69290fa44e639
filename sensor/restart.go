package sensor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Timings of the restart check.
const (
	restartRetry  = 5 * time.Second  // reading FACT_RAW back again while NATS is away
	restartMargin = 5 * time.Second  // read from this much before the checkpoint's time: clocks, open batches
	restartRead   = 30 * time.Second // one attempt at reading FACT_RAW back
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

// onRecovered learns from a batch found in the spool what the previous run delivered.
func (s *Sensor) onRecovered(m publish.Msg) { s.acct.coverFrom(m.Header) }

// checkRestart reads FACT_RAW back until it succeeds (or ctx ends), then reports the held holes.
func (s *Sensor) checkRestart(ctx context.Context) {
	for {
		err := s.readBack(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("cannot read FACT_RAW back to count what the previous run lost; holding its holes and retrying",
			zap.Error(err), zap.Duration("every", restartRetry))
		select {
		case <-ctx.Done():
			return
		case <-time.After(restartRetry):
		}
	}
	s.acct.finishRestart()
}

// readBack adds to the restart check the kernel records of every batch of this host and boot stored in
// FACT_RAW since the checkpoint's time (headers only).
func (s *Sensor) readBack(ctx context.Context) error {
	if s.conn == nil {
		return nil // a test's publisher: only the spool
	}
	js, err := jetstreamFor(s.conn)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, restartRead)
	defer cancel()
	start := s.acct.restart.since.Add(-restartMargin - s.cfg.Batch.MaxDelay)
	cons, err := js.OrderedConsumer(ctx, schemas.RawStream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{schemas.RawHostFilter(s.cfg.Host)},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy, OptStartTime: &start, HeadersOnly: true,
	})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s.log.Warn("FACT_RAW does not exist: nothing the previous run published is stored")
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading FACT_RAW back: %w", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("reading FACT_RAW back: %w", err)
	}
	prefix := schemas.MsgIDPrefix(s.cfg.Host, s.cfg.BootID)
	for left := info.NumPending; left > 0; {
		batch, err := cons.Fetch(int(min(left, 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return fmt.Errorf("reading FACT_RAW back: %w", err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			if strings.HasPrefix(m.Headers().Get(jetstream.MsgIDHeader), prefix) {
				s.acct.coverFrom(m.Headers())
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("reading FACT_RAW back: %w", err)
		}
		if got == 0 {
			return fmt.Errorf("reading FACT_RAW back: %d messages announced, none came", left)
		}
		left -= uint64(got)
	}
	return nil
}

// rangesLen counts the sequences in ranges.
func rangesLen(ranges []schemas.SeqRange) uint64 {
	var n uint64
	for _, r := range ranges {
		n += r.Len()
	}
	return n
}
