package sensor

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/internal/logsample"
	"github.com/factstream/factstream/schemas"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// readBackoff is how long the drain loop waits after an unexpected read error before reading again.
const readBackoff = 50 * time.Millisecond

// warnEvery is how often the drain loop logs each of its warnings, which could repeat per record.
const warnEvery = 10 * time.Second

// HookUnknownKind names loss events for records of a kind this sensor does not know.
const HookUnknownKind = "unknown_kind"

// drain reads the ring buffer on its own goroutine, with one reused record, until ctx ends or the
// source is closed. Each record is read, accounted for (its kernel sequence checked), converted and
// batched. The read returns at each poll deadline (PollInterval when the probes wake the sensor only for
// WakeupBytes, else idleTick), which reads what did not wake it and bounds how long an ended ctx goes
// unseen (the reader cannot be woken from another goroutine: its deadline is set under the lock a read
// holds); every idleTick it looks up (holes that have stayed open).
func (s *Sensor) drain(ctx context.Context) error {
	var (
		ev    bpf.Event
		raw   schemas.RawEvent
		reads = readCount{m: s.m.ringReads}
		warn  = logsample.New(s.log, warnEvery, s.m.logSuppressed)
		tick  = pollTick{every: s.pollEvery(), idle: time.Now()}
	)
	defer reads.flush()
	s.probes.SetDeadline(time.Now().Add(tick.every))
	for ctx.Err() == nil {
		if err := s.probes.ReadInto(&ev); err != nil {
			if done, err := s.readFailed(err, warn, &tick); done {
				return err
			}
			continue
		}
		reads.add()
		s.acct.Observe(ev.Seq)
		if !s.convert(&ev, &raw) {
			continue
		}
		if raw.Kind == schemas.KindContent {
			s.hashContent(&raw, &ev)
			continue
		}
		if err := s.batchKernel(&raw, ev.Seq); err != nil {
			warn.Log(zap.ErrorLevel, "cannot batch an event", zap.Error(err))
		}
	}
	return nil
}

// readCount counts the records read into ring_reads_total, 1024 at a time and the rest at the end.
type readCount struct {
	m prometheus.Counter
	n uint64
}

func (r *readCount) add() {
	if r.n++; r.n&1023 == 0 {
		r.flush()
	}
}

func (r *readCount) flush() {
	r.m.Add(float64(r.n))
	r.n = 0
}

// convert turns record ev into raw (scratch space); a record of an unknown kind is reported lost instead,
// and convert returns false.
func (s *Sensor) convert(ev *bpf.Event, raw *schemas.RawEvent) bool {
	if err := Convert(raw, ev, s.clock); err != nil {
		s.m.dropped.WithLabelValues(HookUnknownKind).Inc()
		s.batch.loss(uint64(ev.Dev), 1, HookUnknownKind, []schemas.SeqRange{{Lo: ev.Seq, Hi: ev.Seq}})
		return false
	}
	return true
}

// batchKernel batches raw, converted from kernel record kseq, and starts what it calls for: a rescan of
// a missing base it shows created, or of a directory it shows moved into the tracked tree.
func (s *Sensor) batchKernel(raw *schemas.RawEvent, kseq uint64) error {
	if raw.Kind == schemas.KindMkdir && raw.Monitored == schemas.MonitoredByPath {
		s.checkAppeared(raw.Path)
	}
	if err := s.batch.addKernel(raw, kseq); err != nil {
		return err
	}
	if raw.Kind == schemas.KindRename {
		s.followRename(raw)
	}
	if movedIn(raw) {
		s.queueRescan(raw.Dev) // after the rename is batched: the epoch follows it
	}
	return nil
}

// movedIn reports a rename that brought a directory into the tracked tree from outside it (or, exchanged,
// may have): nothing below it is tracked yet, so its filesystem is rescanned, which tracks its
// subdirectories in the kernel and gives resolvers the names below it.
func movedIn(raw *schemas.RawEvent) bool {
	if raw.Kind != schemas.KindRename {
		return false
	}
	if raw.Flags&schemas.FlagRenameExchange != 0 {
		return (raw.Monitored == schemas.NotMonitored) != (raw.OldMonitored == schemas.NotMonitored)
	}
	return raw.Mode&unix.S_IFMT == unix.S_IFDIR && raw.Monitored != schemas.NotMonitored && raw.OldMonitored == schemas.NotMonitored
}

// pollTick is when the drain loop reads next without being woken, and when it last looked up.
type pollTick struct {
	every time.Duration
	idle  time.Time
}

// pollEvery is how often the drain loop reads the ring buffer without being woken.
func (s *Sensor) pollEvery() time.Duration {
	if s.cfg.Probes.WakeupBytes > 0 {
		return PollInterval
	}
	return idleTick
}

// readFailed handles a failed read; done says the loop must end (with err, nil for a clean stop).
func (s *Sensor) readFailed(err error, warn *logsample.Logger, tick *pollTick) (done bool, _ error) {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		now := time.Now()
		if now.Sub(tick.idle) >= idleTick {
			tick.idle = now
			s.acct.Idle(now)
		}
		s.probes.SetDeadline(now.Add(tick.every))
		return false, nil
	case errors.Is(err, bpf.ErrClosed):
		return true, nil
	case errors.Is(err, bpf.ErrMalformed):
		// Its sequence number is not trusted: the hole it leaves is reported as malformed.
		s.m.ringErrors.WithLabelValues("malformed").Inc()
		s.acct.Malformed()
		warn.Log(zap.WarnLevel, "malformed record in the ring buffer; it will be reported as lost", zap.Error(err))
		return false, nil
	}
	s.m.ringErrors.WithLabelValues("read").Inc()
	warn.Log(zap.ErrorLevel, "reading the ring buffer failed; retrying", zap.Error(err))
	time.Sleep(readBackoff)
	return false, nil
}

// kick asks the poller to run soon.
func (s *Sensor) kick() {
	select {
	case s.pollKick <- struct{}{}:
	default:
	}
}
