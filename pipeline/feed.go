package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"
)

// feed reads one host's messages from FACT_RAW (fact.raw.*.<host>.>, every filesystem and the process
// subject) with an ordered consumer, in stream order, and hands them to the partition's loop.
type feed struct {
	host string
	iter jetstream.MessagesContext

	// Set by the goroutine reading, for the loop's idle check.
	delivered atomic.Uint64 // stream sequence of the last message taken from the consumer
	at        atomic.Int64  // when, unix ns

	// Owned by the loop.
	processed uint64 // stream sequence of the last message the view received
	pending   uint64 // the consumer's pending count when that message was delivered
}

// feedMsg is a message for the view of host.
type feedMsg struct {
	host    string
	msg     rawMsg
	pending uint64
}

// startFeed starts reading host's messages from stream sequence from (the first when 0) into out, for a
// view that has read up to received, on a goroutine of g (the partition's). Errors go to errs; it stops
// when stop is called, or when ctx ends while it waits to hand a message over; g.Wait waits for it.
func startFeed(ctx context.Context, g *errgroup.Group, raw jetstream.Stream, host string, from, received uint64, out chan<- feedMsg, errs chan<- error) (*feed, error) {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{schemas.RawHostFilter(host)}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if from > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
	}
	cons, err := raw.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("reading host %s from %d: %w", host, from, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxBytes(8 << 20))
	if err != nil {
		return nil, fmt.Errorf("reading host %s from %d: %w", host, from, err)
	}
	f := &feed{host: host, iter: iter, processed: received}
	if info := cons.CachedInfo(); info != nil && info.NumPending == 0 && received != 0 {
		// Nothing to read: what the view holds (from a snapshot) may go once the stream stays quiet.
		f.delivered.Store(received)
		f.at.Store(time.Now().UnixNano())
	} else {
		f.pending = 1
	}
	g.Go(func() error {
		f.run(ctx, out, errs) // its errors go to errs, which the partition's loop reads
		return nil
	})
	return f, nil
}

func (f *feed) run(ctx context.Context, out chan<- feedMsg, errs chan<- error) {
	for {
		m, err := f.iter.Next()
		if err != nil {
			if !errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() == nil {
				select {
				case errs <- fmt.Errorf("reading host %s: %w", f.host, err):
				default:
				}
			}
			return
		}
		md, err := m.Metadata()
		if err != nil {
			continue
		}
		f.delivered.Store(md.Sequence.Stream)
		f.at.Store(time.Now().UnixNano())
		fm := feedMsg{host: f.host, pending: md.NumPending, msg: rawMsg{subject: m.Subject(), seq: md.Sequence.Stream,
			ts: md.Timestamp.UnixNano(), data: m.Data()}}
		select {
		case out <- fm:
		case <-ctx.Done():
			return
		}
	}
}

// stop stops reading: the goroutine ends (the partition's errgroup waits for it).
func (f *feed) stop() { f.iter.Stop() }

// idle reports whether the stream has nothing more for the host: the last message the view received is
// the last one delivered, nothing was pending after it, and nothing came for margin.
func (f *feed) idle(now time.Time, margin time.Duration) bool {
	return f.pending == 0 && f.processed != 0 && f.processed == f.delivered.Load() &&
		now.UnixNano()-f.at.Load() >= int64(margin)
}
