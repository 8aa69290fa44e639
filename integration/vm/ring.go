package vm

import (
	"strings"
	"sync"
)

// lineRing is an io.Writer that keeps the last max lines written to it; safe for concurrent use.
type lineRing struct {
	mu      sync.Mutex
	max     int
	lines   []string
	partial strings.Builder
}

func newLineRing(max int) *lineRing { return &lineRing{max: max} }

func (r *lineRing) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range string(b) {
		if c != '\n' {
			r.partial.WriteRune(c)
			continue
		}
		r.push(strings.TrimRight(r.partial.String(), "\r"))
		r.partial.Reset()
	}
	return len(b), nil
}

func (r *lineRing) push(l string) {
	r.lines = append(r.lines, l)
	if len(r.lines) > 2*r.max {
		r.lines = append(r.lines[:0], r.lines[len(r.lines)-r.max:]...)
	}
}

// Lines returns the last max lines, an unterminated last line included.
func (r *lineRing) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	lines := append([]string(nil), r.lines...)
	if r.partial.Len() > 0 {
		lines = append(lines, r.partial.String())
	}
	if len(lines) > r.max {
		lines = lines[len(lines)-r.max:]
	}
	return lines
}
