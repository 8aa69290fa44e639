package sensor

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// onRecovered learns from a batch found in the spool what the previous run delivered.
func (s *Sensor) onRecovered(m publish.Msg) { s.acct.CoverFrom(m.Header.Get(schemas.KernelSeqsHeader)) }

// checkRestart reads FACT_RAW back from since until it succeeds (or ctx ends), then has the ledger report
// the held holes.
func (s *Sensor) checkRestart(ctx context.Context, since time.Time) {
	for {
		err := s.readBack(ctx, since)
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
	s.acct.FinishRestart()
}

// readBack adds to the restart check the kernel records of every batch of this host and boot stored in
// FACT_RAW since the checkpoint's time, since (headers only).
func (s *Sensor) readBack(ctx context.Context, since time.Time) error {
	if s.conn == nil {
		return nil // a test's publisher: only the spool
	}
	js, err := jetstreamFor(s.conn)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, restartRead)
	defer cancel()
	start := since.Add(-restartMargin - s.cfg.Batch.MaxDelay)
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
				s.acct.CoverFrom(m.Headers().Get(schemas.KernelSeqsHeader))
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
