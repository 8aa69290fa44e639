package client

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultFlushAfter is how long Subscribe holds a commit's events waiting for its checkpoint, when
// Options.FlushAfter is zero.
const DefaultFlushAfter = 200 * time.Millisecond

// maxPending bounds the events held for one commit; a bigger commit is delivered in parts.
const maxPending = 16384

// Event is one enriched event and where it came from.
type Event struct {
	schemas.Activity
	// Seq is the FACT_ACTIVITY stream sequence of the message that carried the event.
	Seq uint64
}

// Batch is what Subscribe hands over at a time: the events of one commit (or of what arrived before
// FlushAfter ran out) that pass the filter, in time order; events of equal time keep stream order.
type Batch struct {
	Events []Event // never empty
	// Seq is the last FACT_ACTIVITY sequence read before the batch was handed over: its last message,
	// or a later checkpoint or message that yielded no event. Once the batch is handled, store Seq;
	// ResumeAfter(Seq) continues with exactly what follows.
	Seq uint64
}

// Options say what Subscribe reads and how it reports.
type Options struct {
	Filter Filter
	Start  Start
	// FlushAfter is how long a commit's events are held waiting for its checkpoint; DefaultFlushAfter
	// when zero.
	FlushAfter time.Duration
	// OnError learns of a message Subscribe skipped (an *UnreadableError) and of the consumer's
	// transient errors (missed heartbeats, reconnections; it recovers by itself). When OnError is nil,
	// an unreadable message ends Subscribe with its *UnreadableError, and consumer errors are ignored.
	OnError func(error)
	// OnReady, when set, is called once the consumer exists: what is published afterwards is delivered.
	OnReady func()
}

func (o Options) flushAfter() time.Duration { return cmp.Or(o.FlushAfter, DefaultFlushAfter) }

// Subscribe reads FACT_ACTIVITY from opts.Start and calls handle with every Batch of events that pass
// opts.Filter, until ctx ends (then it returns nil), handle returns an error (returned wrapped), or an
// unreadable message comes without an OnError to report it to. A handler may keep its Batch: every
// message is decoded into new memory.
func Subscribe(ctx context.Context, js jetstream.JetStream, opts Options, handle func(Batch) error) error {
	if handle == nil {
		return fmt.Errorf("subscribing to %s: %w", schemas.ActivityStream, ErrNoHandler)
	}
	if err := opts.Filter.Validate(); err != nil {
		return fmt.Errorf("subscribing to %s: %w", schemas.ActivityStream, err)
	}
	ctx, cancel := context.WithCancel(ctx) // ends the consumer's callbacks when Subscribe returns
	defer cancel()
	in, stop, err := consume(ctx, js, opts)
	if err != nil {
		return err
	}
	defer stop()
	if opts.OnReady != nil {
		opts.OnReady()
	}
	c := collector{opts: opts, paths: opts.Filter.globs(), handle: handle}
	return c.run(ctx, in)
}

// inbox is what the consumer's callbacks hand over to Subscribe's goroutine.
type inbox struct {
	msgs <-chan jetstream.Msg
	errs <-chan error
}

// consume starts an ordered consumer for opts whose messages and errors arrive in the inbox until ctx
// ends; stop ends it.
func consume(ctx context.Context, js jetstream.JetStream, opts Options) (inbox, func(), error) {
	cfg := opts.Start.consumerConfig()
	cfg.FilterSubjects = append(opts.Filter.Subjects(), schemas.CheckpointFilter())
	c, err := js.OrderedConsumer(ctx, schemas.ActivityStream, cfg)
	if err != nil {
		return inbox{}, nil, fmt.Errorf("reading %s: %w", schemas.ActivityStream, err)
	}
	msgs := make(chan jetstream.Msg, 256)
	errs := make(chan error, 16)
	cc, err := c.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		select {
		case errs <- fmt.Errorf("consuming %s: %w", schemas.ActivityStream, err):
		case <-ctx.Done():
		}
	}))
	if err != nil {
		return inbox{}, nil, fmt.Errorf("reading %s: %w", schemas.ActivityStream, err)
	}
	return inbox{msgs: msgs, errs: errs}, cc.Stop, nil
}

// collector holds a commit's events until its checkpoint and hands them over in time order.
type collector struct {
	opts    Options
	paths   pathGlobs // opts.Filter.Paths, compiled once
	handle  func(Batch) error
	pending []Event
	since   time.Time // when the first pending event arrived
	seq     uint64    // the last stream sequence read
}

func (c *collector) run(ctx context.Context, in inbox) error {
	tick := time.NewTicker(c.opts.flushAfter() / 4)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if len(c.pending) > 0 && time.Since(c.since) >= c.opts.flushAfter() {
				err = c.flush()
			}
		case e := <-in.errs:
			if c.opts.OnError != nil {
				c.opts.OnError(e)
			}
		case m := <-in.msgs:
			err = c.add(m)
		}
		if err != nil {
			return err
		}
	}
}

// add takes one message: a checkpoint ends the commit, a batch adds its events that pass the filter.
func (c *collector) add(m jetstream.Msg) error {
	if md, err := m.Metadata(); err == nil {
		c.seq = md.Sequence.Stream
	}
	if schemas.IsCheckpointSubject(m.Subject()) {
		return c.flush()
	}
	var b schemas.ActivityBatch // the events point into it: a new one per message
	if err := schemas.DecodeActivityBatch(m.Data(), &b); err != nil {
		return c.unreadable(&UnreadableError{Subject: m.Subject(), Seq: c.seq, Err: err})
	}
	if len(c.pending) == 0 {
		c.since = time.Now()
	}
	for i := range b.Events {
		if c.paths.match(&b.Events[i]) {
			c.pending = append(c.pending, Event{Activity: b.Events[i], Seq: c.seq})
		}
	}
	if len(c.pending) >= maxPending {
		return c.flush()
	}
	return nil
}

// unreadable reports a message that is skipped, or ends Subscribe when there is no one to report to.
func (c *collector) unreadable(err *UnreadableError) error {
	if c.opts.OnError == nil {
		return err
	}
	c.opts.OnError(err)
	return nil
}

// flush hands the pending events over in time order.
func (c *collector) flush() error {
	if len(c.pending) == 0 {
		return nil
	}
	slices.SortStableFunc(c.pending, func(a, b Event) int { return cmp.Compare(a.Time, b.Time) })
	b := Batch{Events: c.pending, Seq: c.seq}
	c.pending = nil // the handler may keep b
	if err := c.handle(b); err != nil {
		return fmt.Errorf("handling FILE_ACTIVITY events: %w", err)
	}
	return nil
}
