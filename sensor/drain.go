package sensor

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/internal/logsample"
	"github.com/factstream/factstream/schemas"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// readBackoff is how long the drain loop waits after an unexpected read error before reading again.
const readBackoff = 50 * time.Millisecond

// warnEvery is how often the drain loop logs each of its warnings, which could repeat per record.
const warnEvery = 10 * time.Second

// drain reads the ring buffer on its own goroutine, with one reused record, until ctx ends or the
// source is closed: each record is checked against the kernel sequence, converted and batched. The read
// returns at each poll deadline (PollInterval when the probes wake the sensor only for WakeupBytes, else
// idleTick), which reads what did not wake it and bounds how long an ended ctx goes unseen (the reader
// cannot be woken from another goroutine: its deadline is set under the lock a read holds); every
// idleTick it looks up (holes that have stayed open).
func (s *Sensor) drain(ctx context.Context) error {
	var (
		ev    bpf.Event
		raw   schemas.RawEvent
		reads uint64
		warn  = logsample.New(s.log, warnEvery, s.m.logSuppressed)
		tick  = pollTick{every: s.pollEvery(), idle: time.Now()}
	)
	defer func() { s.m.ringReads.Add(float64(reads)) }()
	s.probes.SetDeadline(time.Now().Add(tick.every))
	for ctx.Err() == nil {
		err := s.probes.ReadInto(&ev)
		if err != nil {
			if done, err := s.readFailed(err, warn, &tick); done {
				return err
			}
			continue
		}
		if reads++; reads&1023 == 0 {
			s.m.ringReads.Add(1024)
			reads = 0
		}
		if err := s.handle(&ev, &raw); err != nil {
			warn.Log(zap.ErrorLevel, "cannot batch an event", zap.Error(err))
		}
	}
	return nil
}

// handle is what happens to each record read: it is accounted for (its kernel sequence checked), converted
// (raw is scratch space) and batched.
func (s *Sensor) handle(ev *bpf.Event, raw *schemas.RawEvent) error {
	s.acct.observe(ev.Seq)
	if err := Convert(raw, ev, s.clock); err != nil {
		s.m.dropped.WithLabelValues(HookUnknownKind).Inc()
		s.batch.loss(uint64(ev.Dev), 1, HookUnknownKind, []schemas.SeqRange{{Lo: ev.Seq, Hi: ev.Seq}})
		return nil
	}
	if raw.Kind == schemas.KindMkdir && raw.Monitored == schemas.MonitoredByPath {
		s.checkAppeared(raw.Path)
	}
	if err := s.batch.addKernel(raw, ev.Seq); err != nil {
		return err
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
			s.acct.idle(now)
		}
		s.probes.SetDeadline(now.Add(tick.every))
		return false, nil
	case errors.Is(err, bpf.ErrClosed):
		return true, nil
	case errors.Is(err, bpf.ErrMalformed):
		// Its sequence number is not trusted: the hole it leaves is reported as malformed.
		s.m.ringErrors.WithLabelValues("malformed").Inc()
		s.acct.malformed()
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
