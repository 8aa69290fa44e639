package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/factstream/factstream/pipeline/lease"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Defaults applied to zero fields of Config.
const (
	DefaultMaxEvents          = 8192
	DefaultMaxBytes           = 256 << 10
	DefaultMaxDelay           = 20 * time.Millisecond
	DefaultCheckpointInterval = time.Second
	DefaultSnapshotInterval   = 5 * time.Minute
	DefaultSnapshotEvents     = 5_000_000
	DefaultLateness           = 500 * time.Millisecond
	DefaultIdleMargin         = 250 * time.Millisecond
	DefaultDiscoveryInterval  = 2 * time.Second
	DefaultMaxHeld            = 16384
)

// BatchLimits bound what one commit to FACT_ACTIVITY carries.
type BatchLimits struct {
	// MaxEvents enriched events per commit, DefaultMaxEvents when zero.
	MaxEvents int
	// MaxBytes per message (one subject's batch), DefaultMaxBytes when zero; keep it below the server's
	// max payload.
	MaxBytes int
	// MaxDelay an event waits for more before it is committed, DefaultMaxDelay when zero.
	MaxDelay time.Duration
}

// Config configures a Resolver. The zero value of each field but Conn takes a default.
type Config struct {
	// Conn is the NATS connection; required. The Resolver does not close it.
	Conn *nats.Conn
	// WorkerID names this worker among the resolver's workers (letters, digits, '-', '_'); by default
	// the host name and the process id.
	WorkerID string
	// Partitions of FACT_RAW, schemas.DefaultPartitions when zero; it must be the sensors' number.
	Partitions int
	// Patterns are the monitored host-path globs events are reported for (package glob); HostPatterns
	// replace them for the hosts they name. With none, every event the sensors send is reported.
	Patterns     []string
	HostPatterns map[string][]string
	// Batch bounds the commits of output.
	Batch BatchLimits
	// CheckpointInterval is how often a partition commits a checkpoint when it made progress without
	// output (a scan, process events), DefaultCheckpointInterval when zero.
	CheckpointInterval time.Duration
	// SnapshotInterval and SnapshotEvents say when a partition snapshots its projections: after a commit,
	// once SnapshotInterval has passed with new events, or after SnapshotEvents raw events. Defaults
	// DefaultSnapshotInterval, DefaultSnapshotEvents.
	SnapshotInterval time.Duration
	SnapshotEvents   uint64
	// LeaseTTL is how long a dead worker keeps its partitions, lease.DefaultTTL when zero.
	LeaseTTL time.Duration
	// Lateness is how much stream time a file event waits for the process events before it (they travel
	// on another subject), DefaultLateness when zero. IdleMargin is how long the stream must be quiet
	// before the wall clock stands in for stream time, DefaultIdleMargin when zero.
	Lateness   time.Duration
	IdleMargin time.Duration
	// MaxHeld bounds the raw events a host's view holds back, DefaultMaxHeld when zero.
	MaxHeld int
	// DiscoveryInterval is how often a partition looks for new hosts, DefaultDiscoveryInterval when zero.
	DiscoveryInterval time.Duration
	// Procs bounds the process tables.
	Procs ProcLimits
	// Streams configures FACT_ACTIVITY and FACT_SNAPSHOTS when the resolver creates them.
	Streams StreamsConfig
	// Logger, zap.NewNop() when nil.
	Logger *zap.Logger
	// Registry receives the metrics; none are exported when nil.
	Registry prometheus.Registerer
}

func (c Config) withDefaults() (Config, error) {
	if c.Conn == nil {
		return c, fmt.Errorf("%w: Conn is nil", ErrInvalidConfig)
	}
	if c.Partitions < 0 || c.Batch.MaxEvents < 0 || c.Batch.MaxBytes < 0 || c.MaxHeld < 0 || c.Lateness < 0 {
		return c, fmt.Errorf("%w: negative Partitions, Batch, MaxHeld or Lateness", ErrInvalidConfig)
	}
	if c.WorkerID == "" {
		host, _ := os.Hostname()
		c.WorkerID = strings.Map(func(r rune) rune {
			if r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				return r
			}
			return '_'
		}, host) + "-" + strconv.Itoa(os.Getpid())
	}
	c.Partitions = cmp.Or(c.Partitions, schemas.DefaultPartitions)
	c.Batch.MaxEvents = cmp.Or(c.Batch.MaxEvents, DefaultMaxEvents)
	c.Batch.MaxBytes = cmp.Or(c.Batch.MaxBytes, DefaultMaxBytes)
	c.Batch.MaxDelay = cmp.Or(c.Batch.MaxDelay, DefaultMaxDelay)
	c.CheckpointInterval = cmp.Or(c.CheckpointInterval, DefaultCheckpointInterval)
	c.SnapshotInterval = cmp.Or(c.SnapshotInterval, DefaultSnapshotInterval)
	c.SnapshotEvents = cmp.Or(c.SnapshotEvents, DefaultSnapshotEvents)
	c.LeaseTTL = cmp.Or(c.LeaseTTL, lease.DefaultTTL)
	c.Lateness = cmp.Or(c.Lateness, DefaultLateness)
	c.IdleMargin = cmp.Or(c.IdleMargin, DefaultIdleMargin)
	c.MaxHeld = cmp.Or(c.MaxHeld, DefaultMaxHeld)
	c.DiscoveryInterval = cmp.Or(c.DiscoveryInterval, DefaultDiscoveryInterval)
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c, nil
}

// tick is how often a partition checks its idle hosts and its commit timers.
func (c Config) tick() time.Duration {
	return max(min(c.Batch.MaxDelay, c.IdleMargin/2), time.Millisecond)
}

// Resolver is a resolver worker: it takes its share of FACT_RAW's partitions, rebuilds their projections
// and publishes enriched events to FACT_ACTIVITY exactly once. Run it on as many processes as needed; they
// share the partitions through leases.
//
// New, Run and Close may be called from different goroutines; Run once.
type Resolver struct {
	cfg      Config
	js       jetstream.JetStream
	log      *zap.Logger
	m        *metrics
	patterns *Patterns

	snapshots jetstream.ObjectStore

	mu      sync.Mutex
	leases  *lease.Manager
	running bool
	closed  bool
	setup   context.CancelFunc // ends Run while it has no leases yet
	done    chan struct{}
}

// New checks cfg and returns a Resolver; nothing runs until Run.
func New(cfg Config) (*Resolver, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	pats, err := NewPatterns(cfg.Patterns, cfg.HostPatterns)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	js, err := jetstream.New(cfg.Conn)
	if err != nil {
		return nil, fmt.Errorf("opening JetStream: %w", err)
	}
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	return &Resolver{cfg: cfg, js: js, log: cfg.Logger.With(zap.String("worker", cfg.WorkerID)), m: m, patterns: pats,
		done: make(chan struct{})}, nil
}

// Run provisions what the resolver needs, waits for FACT_RAW, and works on this worker's partitions until
// ctx ends (its leases are then left to expire, as after a crash) or Close is called (they are released).
func (r *Resolver) Run(ctx context.Context) error {
	r.mu.Lock()
	switch {
	case r.running:
		r.mu.Unlock()
		return ErrRunning
	case r.closed:
		r.mu.Unlock()
		return ErrClosed
	}
	r.running = true
	setupCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.setup = cancel
	r.mu.Unlock()
	defer close(r.done)
	lm, raw, act, err := r.prepare(setupCtx)
	if err != nil {
		if r.isClosed() {
			return nil
		}
		return err
	}
	r.mu.Lock()
	r.leases = lm
	closed := r.closed
	r.mu.Unlock()
	if closed {
		lm.Stop()
	}
	r.log.Info("resolver running", zap.Int("partitions", r.cfg.Partitions))
	err = lm.Run(ctx, func(ctx context.Context, l lease.Lease) { r.own(ctx, l, raw, act) })
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (r *Resolver) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// prepare provisions the streams, waits for FACT_RAW and opens what the partitions use.
func (r *Resolver) prepare(ctx context.Context) (*lease.Manager, jetstream.Stream, jetstream.Stream, error) {
	if err := EnsureStreams(ctx, r.js, r.cfg.Streams); err != nil {
		return nil, nil, nil, err
	}
	raw, err := r.waitRaw(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	act, err := r.js.Stream(ctx, schemas.ActivityStream)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("opening %s: %w", schemas.ActivityStream, err)
	}
	if r.snapshots, err = r.js.ObjectStore(ctx, schemas.SnapshotBucket); err != nil {
		return nil, nil, nil, fmt.Errorf("opening %s: %w", schemas.SnapshotBucket, err)
	}
	lm, err := lease.New(ctx, lease.Config{JS: r.js, Worker: r.cfg.WorkerID, Partitions: r.cfg.Partitions,
		TTL: r.cfg.LeaseTTL, Replicas: r.cfg.Streams.Replicas, Logger: r.cfg.Logger})
	if err != nil {
		return nil, nil, nil, err
	}
	return lm, raw, act, nil
}

// own runs a partition while the lease holds.
func (r *Resolver) own(ctx context.Context, l lease.Lease, raw, act jetstream.Stream) {
	r.m.owned.Inc()
	defer r.m.owned.Dec()
	err := r.newRunner(l, raw, act).run(ctx)
	if err != nil && ctx.Err() == nil {
		r.log.Warn("partition stopped; its lease goes back", zap.Int("partition", l.Partition), zap.Error(err))
	}
}

// waitRaw waits for a sensor to provision FACT_RAW.
func (r *Resolver) waitRaw(ctx context.Context) (jetstream.Stream, error) {
	for warned := false; ; warned = true {
		s, err := r.js.Stream(ctx, schemas.RawStream)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("opening %s: %w", schemas.RawStream, err)
		}
		if !warned {
			r.log.Info("waiting for a sensor to create " + schemas.RawStream)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w: %w", schemas.RawStream, ErrNoRawStream, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// Owned returns the partitions this worker holds now.
func (r *Resolver) Owned() []int {
	r.mu.Lock()
	lm := r.leases
	r.mu.Unlock()
	if lm == nil {
		return nil
	}
	var ps []int
	for _, l := range lm.Owned() {
		ps = append(ps, l.Partition)
	}
	return ps
}

// Close stops Run gracefully: the partitions' leases are released so other workers take them at once.
// It waits for Run to return and is safe to call more than once, also when Run was never called.
func (r *Resolver) Close() error {
	r.mu.Lock()
	r.closed = true
	lm, running, setup := r.leases, r.running, r.setup
	r.mu.Unlock()
	if lm != nil {
		lm.Stop()
	} else if setup != nil {
		setup()
	}
	if running {
		<-r.done
	}
	return nil
}
