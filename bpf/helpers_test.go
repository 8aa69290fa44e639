package bpf

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/factstream/factstream/internal/testtime"
)

// requireLSM is set where the kernel must run the LSM set (the VM tests): there, unavailability fails.
var requireLSM = os.Getenv("FACTSTREAM_REQUIRE_LSM") == "1"

// loadForTest loads the probes, or skips with the reason where this kernel cannot run them (fails instead
// when FACTSTREAM_REQUIRE_LSM=1).
func loadForTest(t *testing.T, opts Options) *Probes {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading probes needs root")
	}
	if opts.Set == "" {
		opts.Set = ProbeSet(os.Getenv("FACTSTREAM_PROBE_SET")) // the VM runs the tests under each set
	}
	p, err := Load(opts)
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		// A program the verifier refuses is a bug in the probes, never a kernel that cannot run them.
		t.Fatalf("load: the verifier refused a program: %v", err)
	}
	if errors.Is(err, ErrUnavailable) && !requireLSM {
		t.Skipf("this kernel cannot run them: %v", err)
	}
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return p
}

// collector reads every record in the background and keeps the ones of this test process.
type collector struct {
	ch   chan *Event
	errs chan error
}

func collect(t *testing.T, p *Probes) *collector {
	t.Helper()
	c := &collector{ch: make(chan *Event, 4096), errs: make(chan error, 1)}
	pid := uint32(os.Getpid())
	go func() {
		for {
			ev := new(Event)
			err := p.ReadInto(ev)
			if errors.Is(err, ErrClosed) {
				close(c.ch)
				return
			}
			if err != nil {
				c.errs <- err
				close(c.ch)
				return
			}
			if ev.Tgid == pid || ev.EventKind() == KindExec || ev.EventKind() == KindFork || ev.EventKind() == KindExit || ev.EventKind() == KindCloseWrite {
				c.ch <- ev
			}
		}
	}()
	return c
}

// until returns the events up to and including the first that matches, failing after a timeout.
func (c *collector) until(t *testing.T, what string, match func(*Event) bool) []*Event {
	t.Helper()
	var seen []*Event
	limit := testtime.Scaled(10 * time.Second)
	deadline := time.After(limit)
	for {
		select {
		case ev, ok := <-c.ch:
			if !ok {
				t.Fatalf("waiting for %s: reader stopped: %v", what, <-c.errs)
			}
			seen = append(seen, ev)
			if match(ev) {
				return seen
			}
		case <-deadline:
			t.Fatalf("no %s within %v; saw %d other events: %s", what, limit, len(seen), describe(seen))
		}
	}
}

// marker creates a file in dir, a monitored directory, and returns the events seen before its creation
// record: everything the test did before it has then been read.
func (c *collector) marker(t *testing.T, dir string) []*Event {
	t.Helper()
	name := "marker-" + time.Now().Format("150405.000000000")
	touch(t, dir+"/"+name)
	evs := c.until(t, "marker "+name, func(e *Event) bool {
		return e.EventKind() == KindCreation && string(e.Name) == name
	})
	return evs[:len(evs)-1]
}

func describe(evs []*Event) string {
	s := ""
	for _, e := range evs {
		s += "\n  " + e.String()
	}
	return s
}

func touch(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func stat(t *testing.T, path string) unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
