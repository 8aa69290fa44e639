package logsample

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Logger logs at most one line per message and level every interval, and counts the lines it dropped.
// Its sampled child logger is built at first use: zap's sampler holds about half a MiB of counters, which
// a call site that never logs need not pay for.
type Logger struct {
	log     func() *zap.Logger
	dropped prometheus.Counter
	held    atomic.Int64
}

// New returns a Logger writing to log: one line per message and level every interval (the interval
// starts at the line let through; zero or negative lets every line through); each line dropped adds one
// to dropped (nil: no metric).
func New(log *zap.Logger, every time.Duration, dropped prometheus.Counter) *Logger {
	l := &Logger{dropped: dropped}
	l.log = sync.OnceValue(func() *zap.Logger {
		return log.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
			return zapcore.NewSamplerWithOptions(c, every, 1, 0, zapcore.SamplerHook(l.hook))
		}))
	})
	return l
}

func (l *Logger) hook(_ zapcore.Entry, dec zapcore.SamplingDecision) {
	if dec&zapcore.LogDropped == 0 {
		return
	}
	l.held.Add(1)
	if l.dropped != nil {
		l.dropped.Inc()
	}
}

// Check returns the entry to write when a line with this level and message may be logged now, else
// nil; it counts a dropped line. Callers compute costly fields only when it is not nil.
func (l *Logger) Check(lvl zapcore.Level, msg string) *zapcore.CheckedEntry {
	return l.log().Check(lvl, msg)
}

// Log logs a line with this level and message if one may be logged now, else counts it as dropped.
func (l *Logger) Log(lvl zapcore.Level, msg string, fields ...zap.Field) {
	l.log().Log(lvl, msg, fields...)
}

// Suppressed returns how many lines of this Logger were dropped since it last returned, for the line
// that gets through to say. It counts over all the Logger's messages: a call site that reports it has a
// Logger of its own.
func (l *Logger) Suppressed() int64 { return l.held.Swap(0) }
