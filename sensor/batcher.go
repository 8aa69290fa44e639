package sensor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/factstream/factstream/sensor/seqstore"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

// Publisher takes encoded batches; *publish.Publisher satisfies it.
type Publisher interface {
	Publish(ctx context.Context, m publish.Msg) error
}

// ledger is what the batcher tells the kernel record accounting (*accounting.Ledger): which batch
// carries which kernel records, and which records it could not hand on.
type ledger interface {
	Handed(id string, ranges []schemas.SeqRange, opened time.Time) string
	Settle(ranges []schemas.SeqRange, at time.Time)
	Forget(id string)
}

// batcher gives events the sensor's sequence, collects them per filesystem and hands a batch to the
// publisher when it reaches BatchConfig's count or size, or when its oldest event has waited MaxDelay.
// Events are encoded as they arrive, so an event's byte slices need to live only during add. It is safe
// for concurrent use; batches of one filesystem are published in sequence order.
type batcher struct {
	host, boot string
	cfg        BatchConfig
	seqs       *seqstore.Store
	pub        Publisher
	acct       ledger
	ctx        context.Context
	m          *metrics
	log        *zap.Logger

	mu      sync.Mutex
	open    map[uint64]*pending
	last    *pending // the batch of the previous event: most events follow one of the same filesystem
	timer   *time.Timer
	armed   bool
	stopped bool // stop was called: the timer is not armed again
	queued  int  // events in open batches
	lastSeq uint64
}

// pending is an open batch: its events, already encoded, and the kernel records it accounts for.
type pending struct {
	dev         uint64
	subject     string
	buf         []byte
	n           int
	first, last uint64
	opened      time.Time
	kseqs       []schemas.SeqRange
}

func newBatcher(ctx context.Context, host, boot string, cfg BatchConfig, seqs *seqstore.Store, pub Publisher, acct ledger, m *metrics, log *zap.Logger) *batcher {
	b := &batcher{host: host, boot: boot, cfg: cfg, seqs: seqs, pub: pub, acct: acct, ctx: ctx, m: m, log: log, open: map[uint64]*pending{}}
	b.timer = time.AfterFunc(time.Hour, b.onTimer)
	b.timer.Stop()
	return b
}

// source says where an event comes from, for the events_total metric.
type source int

const (
	fromKernel source = iota
	fromScan
	fromLoss
	fromContent
	numSources
)

func (s source) String() string {
	switch s {
	case fromKernel:
		return "kernel"
	case fromScan:
		return "scan"
	case fromContent:
		return "content"
	}
	return "loss"
}

// add sequences ev and adds it to its filesystem's batch.
func (b *batcher) add(ev *schemas.RawEvent, src source) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addLocked(ev, src, nil)
}

// addKernel adds ev, read from the kernel as record kseq.
func (b *batcher) addKernel(ev *schemas.RawEvent, kseq uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addLocked(ev, fromKernel, []schemas.SeqRange{{Lo: kseq, Hi: kseq}})
}

// addAll adds events under one lock, in order.
func (b *batcher) addAll(evs []schemas.RawEvent, src source) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range evs {
		if err := b.addLocked(&evs[i], src, nil); err != nil {
			return err
		}
	}
	return nil
}

// devOf is the filesystem whose subject an event goes to: process events go to dev 0.
func devOf(ev *schemas.RawEvent) uint64 {
	if ev.Kind.Process() {
		return 0
	}
	return ev.Dev
}

// addLocked sequences ev and adds it to its filesystem's batch, which then accounts for the kernel
// records kseqs (the record ev came from, or those a loss event reports).
func (b *batcher) addLocked(ev *schemas.RawEvent, src source, kseqs []schemas.SeqRange) error {
	seq, err := b.seqs.Next(seqstore.Events, 1)
	if err != nil {
		b.m.dropped.WithLabelValues("sequence").Inc()
		return fmt.Errorf("sequencing an event: %w", err)
	}
	ev.Seq = seq
	p := b.pendingFor(devOf(ev))
	if p.n == 0 {
		p.first, p.opened = seq, time.Now()
		b.arm()
	}
	mark, prevLast := len(p.buf), p.last
	p.buf, err = schemas.AppendEvent(p.buf, ev, p.dev)
	if err != nil {
		p.buf = p.buf[:mark]
		b.m.dropped.WithLabelValues("encode").Inc()
		return fmt.Errorf("encoding event %d: %w", seq, err)
	}
	klen, klast := len(p.kseqs), schemas.SeqRange{}
	if klen > 0 {
		klast = p.kseqs[klen-1] // appendRanges may extend it
	}
	p.kseqs = appendRanges(p.kseqs, kseqs)
	p.n++
	p.last = seq
	b.queued++
	b.lastSeq = seq
	b.m.eventsBy[src].Inc()
	switch {
	case len(p.buf) > int(b.cfg.MaxBytes) && p.n > 1:
		// The event does not fit: publish the batch without it and start the next with it.
		tail := slices.Clone(p.buf[mark:])
		p.buf, p.n, p.last, p.kseqs = p.buf[:mark], p.n-1, prevLast, p.kseqs[:klen]
		if klen > 0 {
			p.kseqs[klen-1] = klast
		}
		b.queued--
		b.flushLocked(p)
		p.buf, p.n, p.first, p.last, p.opened = append(p.buf, tail...), 1, seq, seq, time.Now()
		p.kseqs = appendRanges(p.kseqs, kseqs)
		b.queued++
		b.arm()
		if b.full(p) {
			b.flushLocked(p)
		}
	case b.full(p):
		b.flushLocked(p)
	}
	return nil
}

// full tells whether p must be published now: it reached a bound, or one more kernel range might not fit
// its header.
func (b *batcher) full(p *pending) bool {
	return p.n >= b.cfg.MaxEvents || len(p.buf) >= int(b.cfg.MaxBytes) || len(p.kseqs) >= schemas.MaxKernelRanges/2
}

// appendRanges adds ranges to dst, extending its last range where one continues it.
func appendRanges(dst, ranges []schemas.SeqRange) []schemas.SeqRange {
	for _, r := range ranges {
		if n := len(dst); n > 0 && dst[n-1].Hi+1 == r.Lo {
			dst[n-1].Hi = r.Hi
			continue
		}
		dst = append(dst, r)
	}
	return dst
}

func (b *batcher) pendingFor(dev uint64) *pending {
	if b.last != nil && b.last.dev == dev {
		return b.last
	}
	p := b.open[dev]
	if p == nil {
		p = &pending{dev: dev, subject: schemas.IngestSubject(b.host, dev), buf: make([]byte, 0, 64<<10)}
		b.open[dev] = p
	}
	b.last = p
	return p
}

// arm starts the delay timer if it is not running.
func (b *batcher) arm() {
	if !b.armed && !b.stopped {
		b.armed = true
		b.timer.Reset(b.cfg.MaxDelay)
	}
}

// onTimer publishes the batches that have waited long enough and re-arms for the next one.
func (b *batcher) onTimer() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped { // the timer fired as stop ran: its callback waited for mu, and flush publishes instead
		return
	}
	b.armed = false
	now := time.Now()
	slack := b.cfg.MaxDelay / 10
	var next time.Duration = -1
	for _, p := range b.open {
		if p.n == 0 {
			continue
		}
		age := now.Sub(p.opened)
		if age+slack >= b.cfg.MaxDelay {
			b.flushLocked(p)
			continue
		}
		if left := b.cfg.MaxDelay - age; next < 0 || left < next {
			next = left
		}
	}
	if next >= 0 {
		b.armed = true
		b.timer.Reset(next)
	}
}

// flush publishes every open batch now.
func (b *batcher) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, dev := range b.devsLocked() {
		if p := b.open[dev]; p.n > 0 {
			b.flushLocked(p)
		}
	}
}

// devsLocked returns the filesystems that have had events, sorted.
func (b *batcher) devsLocked() []uint64 {
	devs := make([]uint64, 0, len(b.open))
	for dev := range b.open {
		devs = append(devs, dev)
	}
	slices.Sort(devs)
	return devs
}

// flushLocked encodes p as a batch and publishes it.
func (b *batcher) flushLocked(p *pending) {
	n, first, last := p.n, p.first, p.last
	b.queued -= n
	kseqs := p.kseqs
	p.kseqs = nil
	batchSeq, err := b.seqs.Next(seqstore.Batches, 1)
	if err != nil {
		b.m.dropped.WithLabelValues("sequence").Add(float64(n))
		b.log.Error("cannot number a batch; its events are lost", zap.Int("events", n), zap.Error(err))
		p.buf, p.n = p.buf[:0], 0
		b.acct.Settle(kseqs, time.Now()) // counted in dropped_total
		return
	}
	data := b.encode(p, batchSeq)
	p.buf, p.n = p.buf[:0], 0
	msg := publish.Msg{
		Subject: p.subject, Dev: p.dev, MsgID: schemas.MsgID(b.host, b.boot, batchSeq),
		Data: data, Events: n, FirstSeq: first, LastSeq: last,
	}
	if len(kseqs) > 0 {
		msg.Header = nats.Header{schemas.KernelSeqsHeader: {b.acct.Handed(msg.MsgID, kseqs, p.opened)}}
	}
	b.publishLocked(msg)
}

// encode writes the batch envelope of p followed by its encoded events.
func (b *batcher) encode(p *pending, batchSeq uint64) []byte {
	env := schemas.Batch{Host: b.host, BootID: b.boot, BatchSeq: batchSeq, Dev: p.dev}
	data := make([]byte, 0, len(p.buf)+len(b.host)+len(b.boot)+32)
	data = schemas.AppendBatchEnvelope(data, &env, p.n)
	return append(data, p.buf...)
}

// publishLocked hands msg to the publisher and accounts for what it refuses.
func (b *batcher) publishLocked(msg publish.Msg) {
	err := b.pub.Publish(b.ctx, msg)
	if err != nil {
		b.acct.Forget(msg.MsgID) // counted and reported below or by the publisher
	}
	switch {
	case err == nil:
		b.m.batches.Inc()
		b.m.batchEvents.Add(float64(msg.Events))
		b.m.batchBytes.Add(float64(len(msg.Data)))
	case errors.Is(err, publish.ErrDropped):
		// Counted by the publisher and reported to onLoss once NATS is back.
		b.m.dropped.WithLabelValues("publish_dropped").Add(float64(msg.Events))
	case errors.Is(err, publish.ErrInvalidMsg):
		b.m.dropped.WithLabelValues("publish_invalid").Add(float64(msg.Events))
		b.log.Error("publisher refused a batch; reporting its events as lost", zap.String("msg_id", msg.MsgID),
			zap.Int("events", msg.Events), zap.Int("bytes", len(msg.Data)), zap.Error(err))
		b.lossLocked(msg.Dev, uint64(msg.Events), "publish_invalid", nil)
	default:
		b.m.dropped.WithLabelValues("publish_closed").Add(float64(msg.Events))
		b.log.Error("publishing a batch failed; its events are lost", zap.String("msg_id", msg.MsgID),
			zap.Int("events", msg.Events), zap.Error(err))
	}
}

// lossLocked adds a loss event to dev's batch; kseqs are the kernel records it reports, if known.
func (b *batcher) lossLocked(dev, lost uint64, hook string, kseqs []schemas.SeqRange) {
	ev := schemas.RawEvent{Kind: schemas.KindLoss, Dev: dev, Lost: lost, Hook: hook, Time: time.Now().UnixNano()}
	if err := b.addLocked(&ev, fromLoss, kseqs); err != nil {
		b.log.Error("cannot publish a loss event", zap.String("hook", hook), zap.Uint64("lost", lost), zap.Error(err))
		return
	}
	b.m.lossEvents.Inc()
}

// loss reports lost records on dev; kseqs are the kernel records it reports, if any.
func (b *batcher) loss(dev, lost uint64, hook string, kseqs []schemas.SeqRange) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m.lostRecords.WithLabelValues(hook).Add(float64(lost))
	b.lossLocked(dev, lost, hook, kseqs)
}

// broadcastLoss reports lost records whose filesystem is unknown (a kernel record lost before it was
// read) on every filesystem the sensor has published on, and on dev 0: each subject's consumer learns
// that its view may miss something. The counts are the same on each subject; they are not to be summed.
// The loss event on dev 0 carries kseqs, the kernel records reported, in its batch's header. When they
// are too many for one header, loss events of count 0 on dev 0 come first, each carrying a part: they
// count nothing, the last one counts them all.
func (b *batcher) broadcastLoss(lost uint64, hook string, kseqs []schemas.SeqRange) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m.lostRecords.WithLabelValues(hook).Add(float64(lost))
	const part = schemas.MaxKernelRanges / 2 // with what the batch holds, under MaxKernelRanges
	for len(kseqs) > part {
		b.lossLocked(0, 0, hook, kseqs[:part])
		kseqs = kseqs[part:]
	}
	b.pendingFor(0)
	for _, dev := range b.devsLocked() {
		var k []schemas.SeqRange
		if dev == 0 {
			k = kseqs
		}
		b.lossLocked(dev, lost, hook, k)
	}
}

// stats returns the events waiting in open batches and the last sequence handed out.
func (b *batcher) stats() (queued int, lastSeq uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.queued, b.lastSeq
}

// stop stops the delay timer for good (a callback already started returns at once); call flush
// afterwards to publish what is open.
func (b *batcher) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.timer.Stop()
	b.armed, b.stopped = false, true
}
