package publish

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Publisher moves encoded batches to JetStream in order, holding them in memory and then in a disk spool
// while NATS is away or slow. See the package documentation for the guarantees.
type Publisher struct {
	cfg  Config
	js   jetstream.JetStream
	log  *zap.Logger
	warn *warnings
	m    *metrics

	mu       sync.Mutex
	mem      []*item // waiting in memory, oldest first; all older than the spool's unread records
	memBytes int64
	spool    *spool
	loss     lossBook
	closing  bool

	lossDirty bool        // loss changed since it was last saved; guarded by mu
	hasLoss   atomic.Bool // loss is not empty

	wake      chan struct{}    // something was enqueued
	connected chan nats.Status // the connection is (re)established: retry without waiting out the backoff
	drain     chan struct{}    // closed by Close: finish what is queued, then exit
	stop      chan struct{}    // closed when Close's context ends: exit now
	done      chan struct{}    // closed when the sender goroutine has exited
	left      []*item          // unacknowledged items the sender held when it exited, oldest first

	closeOnce sync.Once
	closeErr  error
}

// New recovers the spool in cfg.SpoolDir (its records go out first, with their original message ids)
// and starts publishing. Publishing stops when ctx ends or Close is called; Close must be called in
// both cases to spool what is left and release the files.
func New(ctx context.Context, cfg Config) (*Publisher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(cfg.Conn, jetstream.WithPublishAsyncMaxPending(cfg.MaxPending+1),
		jetstream.WithPublishAsyncTimeout(cfg.AckTimeout))
	if err != nil {
		return nil, fmt.Errorf("creating jetstream context: %w", err)
	}
	p := &Publisher{
		cfg: cfg, js: js, log: cfg.Logger, warn: newWarnings(cfg.Logger, cfg.WarnEvery, m.logSuppressed), m: m,
		wake: make(chan struct{}, 1), drain: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if err := p.recover(); err != nil {
		return nil, err
	}
	p.connected = cfg.Conn.StatusChanged(nats.CONNECTED)
	go p.run(ctx)
	return p, nil
}

// recover opens the spool and loads a loss report left by the previous run.
func (p *Publisher) recover() error {
	sp, err := openSpool(spoolConfig{
		dir: p.cfg.SpoolDir, limit: p.cfg.SpoolBytes, segmentBytes: p.cfg.SegmentBytes, syncEach: p.cfg.SyncInterval < 0,
		visit: p.cfg.OnRecovered,
	}, p.log)
	if err != nil {
		return fmt.Errorf("recovering spool: %w", err)
	}
	p.spool = sp
	if err := p.recoverLoss(); err != nil {
		sp.release()
		return err
	}
	p.gaugesLocked()
	if n := sp.records(); n > 0 {
		p.log.Info("spool recovered; republishing it before new batches", zap.Int("batches", n), zap.Int64("bytes", sp.bytes))
	}
	return nil
}

// recoverLoss loads the loss report of the previous run, adds the corruptions found on opening the
// spool, and saves the result at once so a crash before it is reported does not lose it.
func (p *Publisher) recoverLoss() error {
	prev, err := loadLoss(p.cfg.SpoolDir)
	if err != nil {
		return err
	}
	p.loss.merge(prev)
	p.collectCorruptLocked()
	if p.loss.empty() {
		return nil
	}
	p.hasLoss.Store(true)
	p.lossDirty = false
	return saveLoss(p.cfg.SpoolDir, p.loss.report())
}

// Publish enqueues m; it does not wait for NATS. It returns nil when m is queued (in memory or in the
// spool), a *DropError (errors.Is ErrDropped) when it was dropped and accounted for in the next
// LossReport, ErrInvalidMsg for a message that can never be published, and ErrClosed after Close.
func (p *Publisher) Publish(ctx context.Context, m Msg) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publishing: %w", err)
	}
	if err := p.check(&m); err != nil {
		return err
	}
	p.mu.Lock()
	err := p.enqueueLocked(&item{msg: m})
	p.mu.Unlock()
	if err == nil {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	return err
}

// headerOverhead approximates the headers a publish adds (Nats-Msg-Id, Nats-Expected-Stream).
const headerOverhead = 96

func (p *Publisher) check(m *Msg) error {
	switch {
	case m.Subject == "" || m.MsgID == "" || len(m.Data) == 0:
		return fmt.Errorf("%w: subject, message id and data are required", ErrInvalidMsg)
	case m.LastSeq < m.FirstSeq:
		return fmt.Errorf("%w: last sequence %d before first %d", ErrInvalidMsg, m.LastSeq, m.FirstSeq)
	}
	if mp := p.cfg.Conn.MaxPayload(); mp > 0 && int64(len(m.Data)+len(m.MsgID)+headerOverhead) > mp {
		return fmt.Errorf("%w: %d bytes, the server accepts %d", ErrInvalidMsg, len(m.Data), mp)
	}
	return nil
}

// enqueueLocked puts it in memory when the spool has nothing unread and memory has room, else at the
// end of the spool, else drops it. Order is kept: memory holds only batches older than the spool's.
func (p *Publisher) enqueueLocked(it *item) error {
	if p.closing {
		return ErrClosed
	}
	if p.cfg.MemoryBytes > 0 && p.spool.unread == 0 && p.memBytes+it.memSize() <= p.cfg.MemoryBytes {
		p.mem = append(p.mem, it)
		p.memBytes += it.memSize()
		p.m.memBytes.Set(float64(p.memBytes))
		return nil
	}
	err := p.spool.append(&it.msg)
	if err == nil {
		p.gaugesLocked()
		return nil
	}
	reason := ReasonSpoolError
	if errors.Is(err, errSpoolFull) {
		reason, err = ReasonSpoolFull, nil
	}
	p.dropLocked(&it.msg, reason, err)
	return &DropError{Reason: reason, Err: err}
}

// dropLocked accounts for a dropped batch: metrics, the loss book and a rate-limited warning.
func (p *Publisher) dropLocked(m *Msg, reason DropReason, cause error) {
	p.loss.add(m, reason)
	p.lossDirty = true
	p.hasLoss.Store(true)
	p.m.droppedEvents.WithLabelValues(string(reason)).Add(float64(m.Events))
	p.m.droppedBatches.WithLabelValues(string(reason)).Inc()
	if p.cfg.OnDone != nil {
		p.cfg.OnDone(*m)
	}
	w := p.warn.dropped(reason)
	if ce := w.Check(zap.WarnLevel, "dropping batches; they will be in a loss report"); ce != nil {
		ce.Write(zap.String("reason", string(reason)),
			zap.String("subject", m.Subject), zap.Uint64("dev", m.Dev), zap.Int("events", m.Events), zap.Uint64("first_seq", m.FirstSeq),
			zap.Uint64("last_seq", m.LastSeq), zap.Int64("spool_bytes", p.spool.bytes), zap.Error(cause),
			zap.Int64("similar_warnings_suppressed", w.Suppressed()))
	}
}

// dequeue returns the oldest batch waiting in memory or, when memory is empty, in the spool.
func (p *Publisher) dequeue() *item {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.mem) > 0 {
		it := p.mem[0]
		p.mem[0] = nil
		p.mem = p.mem[1:]
		p.memBytes -= it.memSize()
		p.m.memBytes.Set(float64(p.memBytes))
		return it
	}
	it := p.spool.next()
	p.collectCorruptLocked()
	p.gaugesLocked()
	return it
}

// collectCorruptLocked moves spool corruptions into the loss book.
func (p *Publisher) collectCorruptLocked() {
	for _, c := range p.spool.takeCorrupt() {
		p.loss.corruptions = append(p.loss.corruptions, c)
		p.m.corruptBytes.Add(float64(c.Bytes))
		p.hasLoss.Store(true)
		p.lossDirty = true
	}
}

func (p *Publisher) gaugesLocked() {
	p.m.memBytes.Set(float64(p.memBytes))
	p.m.spoolBytes.Set(float64(p.spool.bytes))
	p.m.spoolRecs.Set(float64(p.spool.records()))
}

// Close stops accepting batches, publishes what is queued until ctx ends, then writes what is still
// unacknowledged (in flight, retried or in memory) to the spool ahead of what was already there, so the
// next Publisher on the same directory sends it first with the same message ids. It returns an error
// only when something could not be made durable (then it was accounted as dropped where possible).
// Calling it again waits for the first call and returns its result.
func (p *Publisher) Close(ctx context.Context) error {
	p.closeOnce.Do(func() { p.closeErr = p.close(ctx) })
	return p.closeErr
}

func (p *Publisher) close(ctx context.Context) error {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	close(p.drain)
	select {
	case <-p.done:
	case <-ctx.Done():
		close(p.stop)
		<-p.done
	}
	p.cfg.Conn.RemoveStatusListener(p.connected)
	return p.persist()
}

// persist runs after the sender has exited: spool what is left, save the cursor and the loss report.
func (p *Publisher) persist() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	items := append(p.left, p.mem...)
	p.left, p.mem, p.memBytes = nil, nil, 0
	herr := p.spool.writeHead(items)
	if herr != nil {
		for _, it := range items {
			if it.seg == nil { // a spooled one stays in its segment; the cursor is not saved past it
				p.dropLocked(&it.msg, ReasonSpoolError, herr)
			}
		}
	}
	cerr := p.spool.close(herr == nil)
	p.collectCorruptLocked()
	var lerr error
	if !p.loss.empty() {
		lerr = saveLoss(p.cfg.SpoolDir, p.loss.report())
	}
	p.gaugesLocked()
	p.m.pending.Set(0)
	p.log.Info("publisher closed", zap.Int("spooled_batches", p.spool.records()), zap.Int64("spool_bytes", p.spool.bytes),
		zap.Int("batches_written_at_close", len(items)), zap.Bool("unreported_loss", !p.loss.empty()))
	if err := errors.Join(herr, cerr, lerr); err != nil {
		return fmt.Errorf("closing publisher: %w", err)
	}
	return nil
}

// tickInterval is how often the sender fsyncs the spool and saves the loss book.
func (p *Publisher) tickInterval() time.Duration {
	if p.cfg.SyncInterval > 0 {
		return min(p.cfg.SyncInterval, time.Second)
	}
	return time.Second
}
