package bpf

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestWakeupBytes: with WakeupBytes set, a lone record does not wake the reader, and a reader that
// polls with a deadline still gets it, complete, at its next deadline.
func TestWakeupBytes(t *testing.T) {
	p := loadForTest(t, Options{WakeupBytes: 1 << 16})
	dir := t.TempDir()
	must(t, p.TrackPath(dir))
	touch(t, filepath.Join(dir, "polled"))
	var ev Event
	deadline := time.Now().Add(10 * time.Second)
	polls := 0
	for time.Now().Before(deadline) {
		p.SetDeadline(time.Now().Add(20 * time.Millisecond))
		err := p.ReadInto(&ev)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			polls++
			continue
		}
		must(t, err)
		if ev.EventKind() == KindCreation && string(ev.Name) == "polled" {
			t.Logf("the creation came at a poll deadline after %d empty polls", polls)
			return
		}
	}
	t.Fatal("the creation record never came to a polling reader")
}
