package bpf

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/factstream/factstream/internal/bpffstest"
)

// TestPinnedProbesKeepRecording: probes loaded with a pin path go on recording after Close; the next Load
// continues them (same instance, the sequence going on, the prefixes kept) and reads what they wrote
// meanwhile. Other options make a fresh instance, and Unpin removes the pins.
func TestPinnedProbesKeepRecording(t *testing.T) {
	pins := bpffstest.Mount(t)
	dir := t.TempDir()
	opts := Options{PinPath: filepath.Join(pins, "factstream")}
	first := loadForTest(t, opts)
	if first.Reused() || !first.Pinned() {
		t.Fatalf("first load: reused %v pinned %v, want a fresh pinned load", first.Reused(), first.Pinned())
	}
	must(t, first.AddPrefix(dir))
	c := collect(t, first)
	touch(t, filepath.Join(dir, "before"))
	evs := c.until(t, "the first run's creation", func(e *Event) bool {
		return e.EventKind() == KindCreation && string(e.Name) == "before"
	})
	last := evs[len(evs)-1].Seq
	instance := first.Instance()
	must(t, first.Close())

	touch(t, filepath.Join(dir, "while-closed")) // nobody reads: the pinned probes keep it in the ring

	second := loadForTest(t, opts)
	if !second.Reused() || second.Instance() != instance {
		t.Fatalf("second load: reused %v instance %d, want the first's %d reused", second.Reused(), second.Instance(), instance)
	}
	if got := second.Prefixes(); len(got) != 1 || got[0] != dir {
		t.Fatalf("second load's prefixes %q, want the first's [%s]", got, dir)
	}
	c2 := collect(t, second)
	evs = c2.until(t, "the creation made while no sensor ran", func(e *Event) bool {
		return e.EventKind() == KindCreation && string(e.Name) == "while-closed"
	})
	if got := evs[len(evs)-1].Seq; got <= last {
		t.Fatalf("the record made while closed has sequence %d, not after the first run's %d", got, last)
	}
	must(t, second.Close())

	third := loadForTest(t, Options{PinPath: opts.PinPath, WakeupBytes: 4096})
	if third.Reused() || third.Instance() == instance {
		t.Fatalf("load with other options: reused %v instance %d, want fresh probes", third.Reused(), third.Instance())
	}
	must(t, third.Close())
	must(t, Unpin(opts.PinPath))
	left, err := os.ReadDir(opts.PinPath)
	must(t, err)
	if len(left) != 0 {
		t.Fatalf("after Unpin, %s still holds %d entries", opts.PinPath, len(left))
	}
}

// TestPinPathChecked: a pin path that is relative or not on a BPF filesystem is refused with ErrBadPinPath.
func TestPinPathChecked(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading probes needs root")
	}
	for _, path := range []string{"relative/pins", t.TempDir()} {
		_, err := Load(Options{Set: ProbeSetTracepoint, PinPath: path})
		if err == nil || !errors.Is(err, ErrBadPinPath) {
			t.Errorf("pin path %q: got %v, want ErrBadPinPath", path, err)
		}
	}
}
