package publish

import (
	"cmp"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultMemoryBytes  = 64 << 20
	DefaultSpoolBytes   = 1 << 30
	DefaultSyncInterval = time.Second
	DefaultMaxPending   = 256
	DefaultAckTimeout   = 5 * time.Second
	DefaultMinBackoff   = 50 * time.Millisecond
	DefaultMaxBackoff   = 2 * time.Second
	DefaultWarnEvery    = 10 * time.Second
)

// Config configures a Publisher.
type Config struct {
	// Conn is the connection to publish on. It must not buffer publishes while reconnecting (see
	// ConnOptions); it is not closed by the Publisher.
	Conn *nats.Conn
	// SpoolDir holds the disk spool. Required; one Publisher per directory.
	SpoolDir string
	// MemoryBytes bounds batches waiting in memory before they spill to the spool. Negative writes every
	// batch to the spool first (write-ahead): a killed process then loses nothing Publish accepted, for
	// one write(2) per batch. Batches in flight (at most MaxPending) are held in memory besides.
	MemoryBytes int64
	// SpoolBytes bounds the spool's files; when it is full, new batches are dropped and reported.
	SpoolBytes int64
	// SegmentBytes is the size at which a spool segment is sealed; SpoolBytes/16 within [1 MiB, 64 MiB]
	// when zero. Space is freed a segment at a time.
	SegmentBytes int64
	// SyncInterval is how often the spool is fsynced; negative fsyncs after every record.
	SyncInterval time.Duration
	// MaxPending bounds batches published and not yet acknowledged.
	MaxPending int
	// AckTimeout is how long to wait for an acknowledgement before sending the batch again.
	AckTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts while NATS fails.
	MinBackoff, MaxBackoff time.Duration
	// WarnEvery rate-limits warnings that could repeat per batch.
	WarnEvery time.Duration
	// OnLoss receives what was dropped, once NATS takes batches again (checked every tick, at most one
	// report per second) or after the next start if the publisher closed first. It runs on the
	// publisher's goroutine: it may call Publish, not block. When nil, reports are logged at Error level.
	OnLoss func(LossReport)
	// OnDone is called with each batch the publisher is done with: acknowledged by JetStream (stored, or
	// a duplicate of one stored), or dropped and so counted in a LossReport. It may run on the
	// publisher's goroutine or in Publish, with the publisher's lock held: it must not block or call the
	// publisher.
	OnDone func(Msg)
	// OnRecovered is called by New with each batch found in the spool left by an earlier run, before
	// anything is published: what that run had made durable besides what JetStream acknowledged.
	OnRecovered func(Msg)
	// Logger is where the publisher logs; nil discards.
	Logger *zap.Logger
	// Registerer receives the publisher's metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// ConnOptions are the nats.Options a publishing connection needs: no reconnect buffer (publishes fail
// fast while disconnected, so retries keep the order), endless reconnects, and a first connect that may
// fail and retry in the background (an unreachable server spools instead of stopping the sensor).
func ConnOptions() []nats.Option {
	return []nats.Option{
		nats.ReconnectBufSize(-1),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(true),
	}
}

// withDefaults validates cfg and fills zero fields.
func (cfg Config) withDefaults() (Config, error) {
	switch {
	case cfg.Conn == nil:
		return cfg, fmt.Errorf("%w: Conn is required", ErrInvalidConfig)
	case cfg.SpoolDir == "":
		return cfg, fmt.Errorf("%w: SpoolDir is required", ErrInvalidConfig)
	case cfg.SpoolBytes < 0 || cfg.SegmentBytes < 0 || cfg.MaxPending < 0:
		return cfg, fmt.Errorf("%w: sizes and MaxPending must not be negative", ErrInvalidConfig)
	case cfg.Conn.Opts.ReconnectBufSize != -1:
		return cfg, fmt.Errorf("checking connection: %w (it is %d bytes)", ErrReconnectBuffer, cfg.Conn.Opts.ReconnectBufSize)
	}
	cfg.MemoryBytes = cmp.Or(cfg.MemoryBytes, DefaultMemoryBytes)
	cfg.SpoolBytes = cmp.Or(cfg.SpoolBytes, DefaultSpoolBytes)
	cfg.SegmentBytes = cmp.Or(cfg.SegmentBytes, min(max(cfg.SpoolBytes/16, 1<<20), 64<<20))
	cfg.SyncInterval = cmp.Or(cfg.SyncInterval, DefaultSyncInterval)
	cfg.MaxPending = cmp.Or(cfg.MaxPending, DefaultMaxPending)
	cfg.AckTimeout = cmp.Or(cfg.AckTimeout, DefaultAckTimeout)
	cfg.MinBackoff = cmp.Or(cfg.MinBackoff, DefaultMinBackoff)
	cfg.MaxBackoff = max(cmp.Or(cfg.MaxBackoff, DefaultMaxBackoff), cfg.MinBackoff)
	cfg.WarnEvery = cmp.Or(cfg.WarnEvery, DefaultWarnEvery)
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return cfg, nil
}
