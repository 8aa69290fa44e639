package sensor

import (
	"context"
	"time"

	"github.com/factstream/factstream/sensor/publish"
	"go.uber.org/zap"
)

// kickDelay lets a burst of holes gather before the counters are read to explain them.
const kickDelay = 100 * time.Millisecond

// pollLoop reads the kernel's counters every pollInterval (sooner when kicked), turns losses into loss
// events and saves the checkpoint.
func (s *Sensor) pollLoop(ctx context.Context) {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.pollKick:
			select {
			case <-ctx.Done():
				return
			case <-time.After(kickDelay):
			}
		}
		s.poll(time.Now())
	}
}

// poll reads the counters, saves the checkpoint with them, and publishes the losses they and the sequence
// holes show, and those the publisher reported. The checkpoint comes first: a counter rise it holds is
// then never reported twice (a run killed before the loss event is stored leaves the hole uncovered,
// and the next run counts it).
func (s *Sensor) poll(now time.Time) {
	c, err := s.kernel.Counters()
	if err != nil {
		s.m.counterErrors.Inc()
		s.log.Warn("reading kernel counters", zap.Error(err))
		c = nil
	} else {
		s.m.kernelCounters.update(c)
	}
	losses, ranges := s.acct.Poll(c, now)
	s.saveCheckpoint()
	for _, l := range losses {
		s.log.Warn("kernel records lost", zap.String("hook", l.Hook), zap.Uint64("records", l.Records))
		s.batch.broadcastLoss(l.Records, l.Hook, ranges)
		ranges = nil
	}
	s.publishLosses()
}

// onPublishLoss receives the publisher's loss reports on its goroutine; they are published by the
// poller, so the publisher never waits for the batcher.
func (s *Sensor) onPublishLoss(r publish.LossReport) {
	s.lossMu.Lock()
	s.pubLosses = append(s.pubLosses, r)
	s.lossMu.Unlock()
	s.kick()
}

// HookSpoolCorrupt names loss events for spool bytes that could not be read back; their count is
// unknown (0).
const HookSpoolCorrupt = "spool_corrupt"

// publishLosses turns the publisher's reports into loss events: a drop on the filesystem whose batches
// were dropped (every batch is for one, dev 0 included, so a drop is never broadcast), a spool corruption
// on every filesystem, since what it held is unknown.
func (s *Sensor) publishLosses() {
	s.lossMu.Lock()
	reports := s.pubLosses
	s.pubLosses = nil
	s.lossMu.Unlock()
	for _, r := range reports {
		for _, d := range r.Drops {
			s.log.Error("batches were dropped by the publisher", zap.Uint64("dev", d.Dev), zap.String("reason", string(d.Reason)),
				zap.Int("batches", d.Batches), zap.Int("events", d.Events), zap.Any("ranges", d.Ranges))
			s.batch.loss(d.Dev, uint64(d.Events), string(d.Reason), nil)
		}
		for _, c := range r.Corruptions {
			s.log.Error("spool bytes could not be read back", zap.String("file", c.File), zap.Int64("bytes", c.Bytes), zap.String("reason", c.Reason))
			s.batch.broadcastLoss(0, HookSpoolCorrupt, nil)
		}
	}
}

// saveCheckpoint records where the sensor stands in the kernel's record stream.
func (s *Sensor) saveCheckpoint() {
	cp := s.acct.Checkpoint(s.cfg.BootID, time.Now())
	if err := cp.Save(s.cfg.StateDir); err != nil {
		s.log.Warn("saving the kernel checkpoint", zap.Error(err))
	}
}
