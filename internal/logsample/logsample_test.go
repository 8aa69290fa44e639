package logsample_test

import (
	"testing"
	"time"

	"github.com/factstream/factstream/internal/logsample"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// clock is a zapcore.Clock a test moves by hand: the sampler reads an entry's time from it.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time                         { return c.now }
func (c *clock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

func setup(t *testing.T, every time.Duration) (*logsample.Logger, *observer.ObservedLogs, *clock, prometheus.Counter) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	c := &clock{now: time.Unix(1_000_000, 0)}
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "dropped_total"})
	return logsample.New(zap.New(core, zap.WithClock(c)), every, dropped), logs, c, dropped
}

// TestOnePerInterval: of a message repeated every second, one line per interval gets through, the
// interval starting at that line; every line held back is counted, in the metric and for the next line.
func TestOnePerInterval(t *testing.T) {
	l, logs, c, dropped := setup(t, 10*time.Second)
	var passed []time.Duration
	start := c.now
	for i := range 35 {
		c.now = start.Add(time.Duration(i) * time.Second)
		if ce := l.Check(zap.WarnLevel, "spool full"); ce != nil {
			passed = append(passed, c.now.Sub(start))
			ce.Write(zap.Int64("similar_warnings_suppressed", l.Suppressed()))
		}
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second}
	if len(passed) != len(want) {
		t.Fatalf("lines at %v, want %v", passed, want)
	}
	for i := range want {
		if passed[i] != want[i] {
			t.Fatalf("lines at %v, want %v", passed, want)
		}
	}
	lines := logs.FilterMessage("spool full").All()
	if len(lines) != len(want) {
		t.Fatalf("%d lines logged, want %d", len(lines), len(want))
	}
	for i, held := range []int64{0, 9, 9, 9} {
		if got := lines[i].ContextMap()["similar_warnings_suppressed"]; got != held {
			t.Errorf("line %d says %v suppressed, want %d", i, got, held)
		}
	}
	if got := testutil.ToFloat64(dropped); got != 35-4 {
		t.Errorf("dropped counter %v, want %d", got, 35-4)
	}
	if got := l.Suppressed(); got != 4 {
		t.Errorf("%d held back after the last line, want 4", got)
	}
}

// TestMessagesApart: each message and level has its own budget; Log behaves as Check and Write.
func TestMessagesApart(t *testing.T) {
	l, logs, _, dropped := setup(t, time.Minute)
	for range 5 {
		l.Log(zap.ErrorLevel, "reading failed")
		l.Log(zap.WarnLevel, "malformed record")
		l.Log(zap.ErrorLevel, "malformed record")
	}
	for msg, n := range map[string]int{"reading failed": 1, "malformed record": 2} {
		if got := logs.FilterMessage(msg).Len(); got != n {
			t.Errorf("%q logged %d times, want %d", msg, got, n)
		}
	}
	if got := testutil.ToFloat64(dropped); got != 3*4 {
		t.Errorf("dropped counter %v, want %d", got, 3*4)
	}
}

// TestNoInterval: a zero interval lets every line through and counts nothing; a nil counter is allowed.
func TestNoInterval(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := logsample.New(zap.New(core), 0, nil)
	for range 5 {
		l.Log(zap.WarnLevel, "again")
	}
	if logs.Len() != 5 || l.Suppressed() != 0 {
		t.Fatalf("%d lines, %d suppressed; want 5 and 0", logs.Len(), l.Suppressed())
	}
}

// TestDisabledLevel: a line below the logger's level is neither logged nor counted as suppressed.
func TestDisabledLevel(t *testing.T) {
	core, logs := observer.New(zapcore.ErrorLevel)
	dropped := prometheus.NewCounter(prometheus.CounterOpts{Name: "dropped_total"})
	l := logsample.New(zap.New(core), time.Hour, dropped)
	for range 5 {
		l.Log(zap.WarnLevel, "quiet")
	}
	if logs.Len() != 0 || testutil.ToFloat64(dropped) != 0 {
		t.Fatalf("%d lines, %v counted; want none", logs.Len(), testutil.ToFloat64(dropped))
	}
}
