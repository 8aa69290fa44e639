package sensor

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/factstream/factstream/glob"
	"github.com/factstream/factstream/sensor/accounting"
	"github.com/factstream/factstream/sensor/hasher"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/factstream/factstream/sensor/seqstore"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Timings of the sensor's background work.
const (
	pollInterval = time.Second            // kernel counters, loss accounting, checkpoint
	idleTick     = 100 * time.Millisecond // how often an idle drain loop looks up
	closeTimeout = 10 * time.Second       // publishing what is left at shutdown
	streamRetry  = 5 * time.Second        // retrying FACT_RAW provisioning while NATS is away
	spoolDirName = "spool"
)

// Deps are what a Sensor works with besides its Config.
type Deps struct {
	// Probes are the loaded probes (or a synthetic source in tests). Required.
	Probes Probes
	// Conn is the NATS connection batches are published on and control requests answered on. It must
	// come from ConnOptions (publish.ConnOptions). Required unless Publisher is set.
	Conn *nats.Conn
	// Publisher replaces the publish.Publisher the sensor would create on Conn (benchmarks, tests).
	Publisher Publisher
	// Registry receives the metrics and serves them; nil creates one.
	Registry *prometheus.Registry
	// Logger is where the sensor logs; nil discards.
	Logger *zap.Logger
	// Clock converts kernel timestamps; zero measures the boot clock.
	Clock BootClock
}

// Sensor is a running node agent. Create with New, then Run.
type Sensor struct {
	cfg    Config
	log    *zap.Logger
	probes Probes
	kernel Kernel
	conn   *nats.Conn
	reg    *prometheus.Registry
	m      *metrics
	clock  BootClock
	seqs   *seqstore.Store
	pub    Publisher
	owned  *publish.Publisher // the publisher the sensor created and closes
	batch  *batcher
	acct   *accounting.Ledger // gaps, kernel loss, coverage, restart check and checkpoint of the kernel records
	hasher *hasher.Hasher     // content hashes after a file's last writer; nil when hashing is off
	base   *baseline          // the scan epochs' regular files, waiting to be hashed

	scanMu   sync.Mutex // one scan or reload at a time; guards prefixes
	set      atomic.Pointer[glob.Set]
	prefixes []string
	missing  atomic.Pointer[[]string] // kernel prefixes of bases missing on disk
	appeared chan struct{}            // a missing base was created
	lastScan atomic.Pointer[ScanResult]

	requestMu   sync.Mutex      // guards requested
	requested   map[uint64]bool // filesystems resolvers asked to rescan (0: all), not yet scanned
	requestKick chan struct{}   // a filesystem was queued in requested

	ready     atomic.Bool
	started   atomic.Bool
	running   atomic.Bool
	pollKick  chan struct{}
	lossMu    sync.Mutex
	pubLosses []publish.LossReport
}

// New checks cfg, opens the state directory's sequence store and checkpoint, and creates the
// publisher (which recovers its spool). Nothing runs until Run.
func New(cfg Config, deps Deps) (*Sensor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("checking config: %w", err)
	}
	if deps.Probes == nil {
		return nil, fmt.Errorf("creating sensor: %w", ErrNoProbes)
	}
	if deps.Conn == nil && deps.Publisher == nil {
		return nil, fmt.Errorf("creating sensor: %w", ErrNoNATS)
	}
	s := &Sensor{cfg: cfg, log: deps.Logger, probes: deps.Probes, kernel: deps.Probes, conn: deps.Conn, reg: deps.Registry,
		clock: deps.Clock, pub: deps.Publisher, pollKick: make(chan struct{}, 1), appeared: make(chan struct{}, 1),
		requested: map[uint64]bool{}, requestKick: make(chan struct{}, 1), base: newBaseline()}
	if s.log == nil {
		s.log = zap.NewNop()
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
	}
	if err := s.open(); err != nil {
		s.closeState(context.Background())
		return nil, err
	}
	return s, nil
}

// open sets up what New needs, in order; on failure the caller closes what was opened.
func (s *Sensor) open() error {
	set, err := glob.NewSet("paths", s.cfg.Paths)
	if err != nil {
		return err
	}
	s.set.Store(set)
	if s.clock == (BootClock{}) {
		if s.clock, err = NewBootClock(); err != nil {
			return err
		}
	}
	if s.m, err = newMetrics(s.reg); err != nil {
		return err
	}
	if err := s.newHasher(); err != nil {
		return fmt.Errorf("creating the content hasher: %w", err)
	}
	s.seqs, err = seqstore.Open(s.cfg.StateDir, s.cfg.BootID, seqstore.Options{OnSync: s.m.markSync.Observe})
	if err != nil {
		return err
	}
	cp, err := accounting.LoadCheckpoint(s.cfg.StateDir, s.cfg.BootID)
	if err != nil {
		s.log.Warn("ignoring the kernel checkpoint", zap.Error(err))
		cp = accounting.Checkpoint{}
	}
	s.acct = accounting.New(cp, s.kernel.Instance(), accounting.Options{Gaps: s.m.seqGaps, Late: s.m.seqLate, Logger: s.log, Kick: s.kick})
	if s.pub == nil {
		if err := s.newPublisher(); err != nil {
			return err
		}
	}
	// Batches are handed to the publisher (Publish only queues them) until shutdown's last flush, after
	// Run's ctx has ended: the batcher's lifetime is the publisher's, not Run's, and no ctx ends it.
	s.batch = newBatcher(context.Background(), s.cfg.Host, s.cfg.BootID, s.cfg.Batch, s.seqs, s.pub, s.acct, s.m, s.log)
	return nil
}

// newPublisher creates the publisher, which recovers its spool now. It lives from New to shutdown, longer
// than any ctx of Run: it must take the last batches after Run's ctx ended. So it gets no ctx of its own
// to end it (context.Background); Close ends its goroutine and waits for it, in shutdown or closeState.
func (s *Sensor) newPublisher() error {
	p, err := publish.New(context.Background(), publish.Config{
		Conn:        s.conn,
		SpoolDir:    filepath.Join(s.cfg.StateDir, spoolDirName),
		MemoryBytes: int64(s.cfg.Spool.MemoryBytes),
		SpoolBytes:  int64(s.cfg.Spool.MaxBytes),
		OnLoss:      s.onPublishLoss,
		OnDone:      func(m publish.Msg) { s.acct.Acked(m.MsgID) },
		OnRecovered: s.onRecovered,
		Logger:      s.log.Named("publish"),
		Registerer:  s.reg,
	})
	if err != nil {
		return fmt.Errorf("creating publisher: %w", err)
	}
	s.owned, s.pub = p, p
	return nil
}

// closeState closes what New opened when New or Run fails to start. ctx only bounds the publisher's
// Close: it is called after ctx may have ended, so what ctx carries is kept and its cancellation is not.
func (s *Sensor) closeState(ctx context.Context) {
	if s.owned != nil {
		_ = s.closePublisher(ctx)
	}
	if s.seqs != nil {
		_ = s.seqs.Close()
	}
	if s.hasher != nil {
		_ = s.hasher.Close()
	}
}

// Registry returns the registry the sensor's metrics are on.
func (s *Sensor) Registry() *prometheus.Registry { return s.reg }

// Run provisions FACT_RAW, starts draining the ring buffer, sets the kernel prefixes, publishes the first
// scan epoch (then the sensor is ready), answers control requests and polls the kernel's counters, until
// ctx ends or the ring buffer is closed. Then it publishes what is open, closes the publisher (spooling
// what NATS has not taken) and saves the checkpoint. It returns an error when it cannot start or the ring
// buffer fails, and only after every goroutine it started has ended.
func (s *Sensor) Run(ctx context.Context) (err error) {
	if !s.started.CompareAndSwap(false, true) {
		return ErrRunning
	}
	s.running.Store(true)
	defer s.running.Store(false)
	retry, err := s.provision(ctx)
	if err != nil {
		s.closeState(ctx)
		return err
	}
	s.saveCheckpoint() // the probes' instance, before any record: a run killed at once is still continued
	// One ctx for every part: it ends when Run's ctx does, when a part fails, or when the drain loop
	// ends (the ring buffer closed), and Run waits for all of them before shutting down.
	runCtx, end := context.WithCancel(ctx)
	defer end()
	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error {
		defer end()
		if err := s.drain(gctx); err != nil {
			return fmt.Errorf("draining the ring buffer: %w", err)
		}
		return nil
	})
	g.Go(func() error { s.pollLoop(gctx); return nil })
	if s.hasher != nil {
		g.Go(func() error { return s.hasher.Run(gctx) })
		g.Go(func() error { s.baselineLoop(gctx); return nil })
	}
	g.Go(func() error { s.rescanLoop(gctx); return nil })
	g.Go(func() error { s.verifyLoop(gctx); return nil })
	if since, ok := s.acct.Restarting(); ok {
		g.Go(func() error { s.checkRestart(gctx, since); return nil })
	}
	if retry {
		g.Go(func() error { s.retryProvision(gctx); return nil })
	}
	unsub := s.control()
	g.Go(func() error {
		// Control goes first, as the other parts stop: no request is taken that they cannot answer.
		<-gctx.Done()
		s.ready.Store(false)
		unsub()
		return nil
	})
	g.Go(func() error { return s.start(gctx) })
	err = g.Wait()
	return errors.Join(err, s.shutdown(ctx))
}

// start applies the kernel prefixes and runs the first scan.
func (s *Sensor) start(ctx context.Context) error {
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	set := s.set.Load()
	s.applyPrefixes(set)
	s.addHashFilesystems(set.Roots())
	if _, err := s.scanProcesses(); err != nil {
		// The processes' own events still come; only those older than the probes lack their details.
		s.log.Warn("processes that started before the sensor will lack exe, arguments and container", zap.Error(err))
	}
	if _, err := s.runScan(ctx, set, nil); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	s.batch.flush()
	s.ready.Store(true)
	s.log.Info("sensor ready", zap.String("probes", string(s.kernel.Set())), zap.Strings("paths", set.Strings()),
		zap.Strings("kernel_prefixes", s.prefixes))
	return nil
}

// shutdown runs after every goroutine of Run has ended and control is unsubscribed: the holes still open,
// the last counter poll and checkpoint, the open batches, the publisher, the sequence store. ctx has
// usually ended by now; it only bounds the publisher's Close.
func (s *Sensor) shutdown(ctx context.Context) error {
	s.ready.Store(false) // again: start may have finished as ctx ended
	s.acct.Flush()
	s.poll(time.Now())
	s.batch.stop()
	s.batch.flush()
	var errs []error
	if s.owned != nil {
		errs = append(errs, s.closePublisher(ctx))
	}
	s.saveCheckpoint() // after the last acknowledgements
	errs = append(errs, s.seqs.Close())
	if s.hasher != nil {
		errs = append(errs, s.hasher.Close())
	}
	s.log.Info("sensor stopped", zap.Uint64("next_sequence", s.seqs.Peek(seqstore.Events)), zap.Uint64("kernel_seq", s.acct.KernelSeq()))
	return errors.Join(errs...)
}

// closePublisher closes the sensor's publisher, which publishes what is queued and spools the rest. It
// runs when ctx has ended, and must still flush: so it keeps ctx's values without its cancellation, and
// closeTimeout bounds it instead.
func (s *Sensor) closePublisher(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	return s.owned.Close(cctx)
}

// provision creates or checks FACT_RAW. An incompatible stream stops the sensor; an unreachable NATS
// does not (the publisher spools): retry says Run must keep retrying (retryProvision).
func (s *Sensor) provision(ctx context.Context) (retry bool, _ error) {
	if s.conn == nil {
		return false, nil
	}
	err := s.ensureStream(ctx)
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, publish.ErrIncompatibleStream), errors.Is(err, publish.ErrInvalidConfig):
		return false, err
	}
	s.log.Warn("cannot provision FACT_RAW yet; spooling and retrying", zap.Error(err), zap.Duration("every", streamRetry))
	return true, nil
}

func (s *Sensor) ensureStream(ctx context.Context) error {
	js, err := jetstreamFor(s.conn)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return publish.EnsureRawStream(cctx, js, s.cfg.NATS.Stream.Raw())
}

func (s *Sensor) retryProvision(ctx context.Context) {
	every(ctx, streamRetry, func() bool {
		err := s.ensureStream(ctx)
		if err == nil {
			s.log.Info("FACT_RAW provisioned")
			return false
		}
		if errors.Is(err, publish.ErrIncompatibleStream) {
			s.log.Error("FACT_RAW exists with an incompatible config; batches stay in the spool until it is fixed", zap.Error(err))
			return false
		}
		return true
	})
}

// every calls fn each interval until ctx ends or fn returns false.
func every(ctx context.Context, interval time.Duration, fn func() bool) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !fn() {
			return
		}
	}
}
