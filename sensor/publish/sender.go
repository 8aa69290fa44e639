package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// sender is the state of the publishing goroutine; only that goroutine touches it.
//
// Order: batches are sent oldest first. After a failure nothing new is sent until every publish in
// flight has resolved; the failed ones, in their original order, are sent again before anything else,
// one at a time after a backoff until one is acknowledged, then the window opens again.
type sender struct {
	p        *Publisher
	inflight []*flight // oldest first
	retry    []*item   // to send again before anything else, oldest first
	failedAt int       // where the next failed flight of this window goes in retry
	healthy  bool
	retryAt  time.Time
	backoff  time.Duration
}

type flight struct {
	it   *item
	ok   <-chan *jetstream.PubAck
	errc <-chan error
}

// run publishes until Close has drained the queue, Close's context ends or ctx ends.
func (p *Publisher) run(ctx context.Context) {
	s := &sender{p: p, healthy: true, backoff: p.cfg.MinBackoff}
	defer func() {
		p.left = s.leftover()
		close(p.done)
	}()
	tick := time.NewTicker(p.tickInterval())
	defer tick.Stop()
	for !p.stopped(ctx) {
		s.fill()
		switch {
		case len(s.inflight) > 0:
			s.await(ctx, tick.C)
		case len(s.retry) > 0:
			s.pause(ctx, tick.C)
		case p.drained():
			return
		default:
			s.idle(ctx, tick.C)
		}
	}
}

func (p *Publisher) stopped(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		return true
	case <-p.stop:
		return true
	default:
		return false
	}
}

// drained reports whether Close was called and nothing is left to send.
func (p *Publisher) drained() bool {
	select {
	case <-p.drain:
	default:
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.mem) == 0 && p.spool.unread == 0
}

func (s *sender) window() int {
	if s.healthy {
		return s.p.cfg.MaxPending
	}
	return 1
}

// fill sends batches until the window is full or nothing is ready.
func (s *sender) fill() {
	for len(s.inflight) < s.window() {
		it := s.next()
		if it == nil {
			return
		}
		f, err := s.send(it)
		if err != nil {
			s.failed(it, err, false)
			return
		}
		s.inflight = append(s.inflight, f)
		s.p.m.pending.Set(float64(len(s.inflight)))
	}
}

// next returns the batch to send next: a retry (after the backoff when failing), else a queued one.
func (s *sender) next() *item {
	if len(s.retry) > 0 {
		if !s.healthy && time.Now().Before(s.retryAt) {
			return nil
		}
		it := s.retry[0]
		s.retry[0] = nil
		s.retry = s.retry[1:]
		s.failedAt = max(s.failedAt-1, 0)
		return it
	}
	return s.p.dequeue()
}

func (s *sender) send(it *item) (*flight, error) {
	if !s.p.cfg.Conn.IsConnected() {
		return nil, fmt.Errorf("%w (connection %s)", ErrNotConnected, s.p.cfg.Conn.Status())
	}
	msg := &nats.Msg{Subject: it.msg.Subject, Data: it.msg.Data, Header: nats.Header{}}
	for k, vs := range it.msg.Header {
		msg.Header[k] = vs
	}
	paf, err := s.p.js.PublishMsgAsync(msg, jetstream.WithMsgID(it.msg.MsgID),
		jetstream.WithExpectStream(schemas.RawStream), jetstream.WithRetryAttempts(0))
	if err != nil {
		return nil, err
	}
	return &flight{it: it, ok: paf.Ok(), errc: paf.Err()}, nil
}

// await waits for the oldest publish in flight to resolve, or for more to send while the window has room.
func (s *sender) await(ctx context.Context, tick <-chan time.Time) {
	var wake <-chan struct{}
	if len(s.inflight) < s.window() {
		wake = s.p.wake
	}
	f := s.inflight[0]
	select {
	case ack := <-f.ok:
		s.pop()
		s.acked(f.it, ack)
		s.windowDone()
	case err := <-f.errc:
		s.pop()
		s.failed(f.it, err, true)
		s.windowDone()
	case <-wake:
	case <-tick:
		s.tick()
	case <-ctx.Done():
	case <-s.p.stop:
	}
}

func (s *sender) pop() {
	s.inflight[0] = nil
	s.inflight = s.inflight[1:]
	s.p.m.pending.Set(float64(len(s.inflight)))
}

// windowDone starts a new window once nothing is in flight: its failures go to the front of retry again.
// It runs after the last flight's outcome is handled, so that a failure of that flight still goes after
// the earlier ones of its window (and before a refused send, which is newer).
func (s *sender) windowDone() {
	if len(s.inflight) == 0 {
		s.failedAt = 0
	}
}

func (s *sender) acked(it *item, ack *jetstream.PubAck) {
	if len(s.retry) == 0 || len(s.inflight) == 0 {
		s.healthy, s.backoff = true, s.p.cfg.MinBackoff
	}
	m := s.p.m
	m.batches.Inc()
	m.events.Add(float64(it.msg.Events))
	m.bytes.Add(float64(len(it.msg.Data)))
	if ack.Duplicate {
		m.duplicates.Inc()
	}
	s.release(it)
	if s.p.cfg.OnDone != nil {
		s.p.cfg.OnDone(it.msg)
	}
}

// release frees the spool record of an item that is done with (acknowledged or dropped).
func (s *sender) release(it *item) {
	if it.seg == nil {
		return
	}
	s.p.mu.Lock()
	s.p.spool.ack(it.seg)
	it.seg = nil
	s.p.gaugesLocked()
	s.p.mu.Unlock()
}

// failed handles a publish that failed; inFlight says it was sent (its outcome is unknown) rather than
// refused by the client before sending.
func (s *sender) failed(it *item, err error, inFlight bool) {
	if permanent(err) {
		s.p.mu.Lock()
		s.p.dropLocked(&it.msg, ReasonRejected, err)
		s.p.mu.Unlock()
		s.release(it)
		return
	}
	s.retry = slices.Insert(s.retry, s.failedAt, it)
	if inFlight {
		s.failedAt++ // later failures of this window follow it; a refused send goes after them
	}
	s.p.m.retries.Inc()
	s.healthy = false
	s.retryAt = time.Now().Add(s.backoff)
	s.backoff = min(2*s.backoff, s.p.cfg.MaxBackoff)
	s.warnFailing(err)
}

func (s *sender) warnFailing(err error) {
	w := s.p.warn.failing
	ce := w.Check(zap.WarnLevel, "publishing to NATS failed; holding batches in memory and spool and retrying")
	if ce == nil {
		return
	}
	s.p.mu.Lock()
	memBytes, spoolBytes, spooled := s.p.memBytes, s.p.spool.bytes, s.p.spool.records()
	s.p.mu.Unlock()
	ce.Write(zap.Error(err), zap.Strings("nats_servers", s.p.cfg.Conn.Servers()), zap.String("nats_status", s.p.cfg.Conn.Status().String()),
		zap.Int("retrying", len(s.retry)), zap.Int("in_flight", len(s.inflight)), zap.Int64("memory_bytes", memBytes),
		zap.Int64("spool_bytes", spoolBytes), zap.Int("spool_batches", spooled), zap.Duration("next_retry_in", time.Until(s.retryAt)),
		zap.Int64("similar_warnings_suppressed", w.Suppressed()))
}

// permanent reports whether err means the batch can never be stored, so retrying is pointless.
func permanent(err error) bool {
	if errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, nats.ErrBadSubject) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum || apiErr.ErrorCode == 10097 // header too large
	}
	return false
}

// pause waits for the backoff before the next retry, or for the connection to come back.
func (s *sender) pause(ctx context.Context, tick <-chan time.Time) {
	t := time.NewTimer(time.Until(s.retryAt))
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.p.connected:
		s.retryAt = time.Now()
	case <-tick:
		s.tick()
	case <-ctx.Done():
	case <-s.p.stop:
	}
}

// idle waits for something to send.
func (s *sender) idle(ctx context.Context, tick <-chan time.Time) {
	select {
	case <-s.p.wake:
	case <-tick:
		s.tick()
	case <-ctx.Done():
	case <-s.p.stop:
	case <-s.p.drain:
	}
}

// tick fsyncs the spool and saves the loss book if it changed, so both survive a crash; and hands the
// loss over once NATS takes batches again (at most one report per tick, however many drops).
func (s *sender) tick() {
	s.saveState()
	if s.p.hasLoss.Load() && s.healthy && s.p.cfg.Conn.IsConnected() {
		s.reportLoss()
	}
}

func (s *sender) saveState() {
	p := s.p
	p.mu.Lock()
	err := p.spool.sync()
	p.collectCorruptLocked()
	var report *LossReport
	if p.lossDirty && !p.loss.empty() {
		r := p.loss.report()
		report = &r
	}
	p.lossDirty = false
	p.mu.Unlock()
	if err != nil {
		if ce := p.warn.syncing.Check(zap.ErrorLevel, "syncing spool"); ce != nil {
			ce.Write(zap.Error(err), zap.Int64("similar_warnings_suppressed", p.warn.syncing.Suppressed()))
		}
	}
	if report != nil {
		if err := saveLoss(p.cfg.SpoolDir, *report); err != nil {
			p.log.Error("saving loss report", zap.Error(err))
		}
	}
}

// reportLoss hands the accumulated loss to OnLoss (NATS is reachable again) and forgets it.
func (s *sender) reportLoss() {
	p := s.p
	p.mu.Lock()
	r := p.loss.take()
	p.hasLoss.Store(false)
	p.lossDirty = false
	p.mu.Unlock()
	if r.Empty() {
		return
	}
	if p.cfg.OnLoss != nil {
		p.cfg.OnLoss(r)
	} else {
		p.log.Error("batches were lost (no loss handler configured)", zap.Int("events", r.Events()),
			zap.Int("batches", r.Batches()), zap.Any("report", r))
	}
	if err := removeLoss(p.cfg.SpoolDir); err != nil {
		p.log.Warn("removing reported loss", zap.Error(err))
	}
}

// leftover returns what the sender holds unacknowledged, oldest first: failures of the current window,
// the publishes still in flight (their outcome is unknown), then the other retries.
func (s *sender) leftover() []*item {
	out := make([]*item, 0, len(s.retry)+len(s.inflight))
	out = append(out, s.retry[:s.failedAt]...)
	for _, f := range s.inflight {
		out = append(out, f.it)
	}
	return append(out, s.retry[s.failedAt:]...)
}
