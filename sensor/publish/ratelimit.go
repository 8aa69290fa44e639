package publish

import (
	"sync"
	"time"
)

// limiter lets a warning through at most once per interval per key and counts what it held back, so a
// condition that repeats per message (NATS away, spool full) logs a line every few seconds, not a flood.
// Safe for concurrent use.
type limiter struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
	held  map[string]int
}

func newLimiter(every time.Duration) *limiter {
	return &limiter{every: every, last: make(map[string]time.Time), held: make(map[string]int)}
}

// allow reports whether a warning for key may be logged now, and how many were held back since the last.
func (l *limiter) allow(key string) (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if t, seen := l.last[key]; seen && now.Sub(t) < l.every {
		l.held[key]++
		return false, 0
	}
	l.last[key] = now
	n := l.held[key]
	l.held[key] = 0
	return true, n
}
