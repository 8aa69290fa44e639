package sensor

import (
	"context"
	"maps"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/schemas"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/factstream/factstream/internal/testtime"
)

// fakeProbes is a synthetic EventSource and Kernel: tests push records, and read what the sensor did
// to the tracked set and the prefixes.
type fakeProbes struct {
	events chan bpf.Event
	closed chan struct{}
	once   sync.Once

	mu       sync.Mutex
	deadline time.Time
	tracked  map[[2]uint64]bool
	prefixes map[string]bool
	mounts   []uint32
	counters bpf.Counters
	set      bpf.ProbeSet
	procs    []bpf.ProcessInfo
	instance uint64 // 0: never continued by a restart
}

func newFakeProbes() *fakeProbes {
	return &fakeProbes{events: make(chan bpf.Event, 1<<16), closed: make(chan struct{}), tracked: map[[2]uint64]bool{},
		prefixes: map[string]bool{}, counters: bpf.Counters{}, set: bpf.ProbeSetTracepoint}
}

func (f *fakeProbes) ReadInto(ev *bpf.Event) error {
	f.mu.Lock()
	d := f.deadline
	f.mu.Unlock()
	var timeout <-chan time.Time
	if !d.IsZero() {
		t := time.NewTimer(time.Until(d))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case e := <-f.events:
		*ev = e
		return nil
	case <-timeout:
		return os.ErrDeadlineExceeded
	case <-f.closed:
		return bpf.ErrClosed
	}
}

func (f *fakeProbes) SetDeadline(t time.Time) {
	f.mu.Lock()
	f.deadline = t
	f.mu.Unlock()
}

func (f *fakeProbes) Close() { f.once.Do(func() { close(f.closed) }) }

func (f *fakeProbes) Instance() uint64 { return f.instance }

func (f *fakeProbes) Track(dev, ino uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tracked[[2]uint64{dev, ino}] = true
	return nil
}

func (f *fakeProbes) Untrack(dev, ino uint64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.tracked, [2]uint64{dev, ino})
	return nil
}

func (f *fakeProbes) isTracked(dev, ino uint64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tracked[[2]uint64{dev, ino}]
}

func (f *fakeProbes) AddPrefix(p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prefixes[p] = true
	return nil
}

// prefixList returns the prefixes, for checks.
func (f *fakeProbes) prefixList() map[string]bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]bool{}
	for k, v := range f.prefixes {
		out[k] = v
	}
	return out
}

// Prefixes lists the prefixes, as pinned probes continued from an earlier run do.
func (f *fakeProbes) Prefixes() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(maps.Keys(f.prefixes))
}

func (f *fakeProbes) RemovePrefix(p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.prefixes, p)
	return nil
}

func (f *fakeProbes) SetMounts(ids []uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mounts = slices.Clone(ids)
	return nil
}

func (f *fakeProbes) Counters() (bpf.Counters, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := bpf.Counters{}
	for k, v := range f.counters {
		out[k] = v
	}
	return out, nil
}

func (f *fakeProbes) addRingFull(hook string, n uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.counters[hook]
	c.RingbufferFull += n
	f.counters[hook] = c
}

func (f *fakeProbes) Set() bpf.ProbeSet { return f.set }

func (f *fakeProbes) Processes() ([]bpf.ProcessInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.procs), nil
}

// openEvent is a kernel record: process 42 opened inode ino on dev for writing.
func openEvent(seq, dev, ino uint64) bpf.Event {
	var ev bpf.Event
	ev.Kind, ev.Monitored, ev.Probe = uint8(bpf.KindOpen), uint8(bpf.MonitoredByInode), 2
	ev.Seq, ev.TimeNs, ev.Dev, ev.Ino, ev.ParentIno = seq, seq*1000, uint32(dev), ino, 2
	ev.Tgid, ev.Pid = 42, 42
	ev.Name = []byte("f")
	return ev
}

// testConfig is a valid config monitoring paths with its state in a temporary directory.
func testConfig(t testing.TB, paths ...string) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Host, cfg.BootID, cfg.Paths, cfg.StateDir = "node1", "boot1", paths, t.TempDir()
	cfg.Batch = BatchConfig{MaxEvents: 256, MaxBytes: 256 << 10, MaxDelay: 5 * time.Millisecond}
	return cfg
}

// running is a sensor running in the background.
type running struct {
	s      *Sensor
	probes *fakeProbes
	cancel context.CancelFunc
	done   chan error
}

func startSensor(t testing.TB, cfg Config, deps Deps) *running {
	t.Helper()
	if deps.Probes == nil {
		deps.Probes = newFakeProbes()
	}
	probes, _ := deps.Probes.(*fakeProbes) // nil with real probes
	if deps.Logger == nil {
		deps.Logger = zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	if deps.Clock == (BootClock{}) {
		deps.Clock = FixedBootClock(1_700_000_000_000_000_000)
	}
	s, err := New(cfg, deps)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{s: s, probes: probes, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	waitFor(t, 10*time.Second, "the sensor to be ready", s.Ready)
	return r
}

// stop stops the sensor and waits for Run to return; it is safe to call twice.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok && err != nil {
			t.Errorf("Run: %v", err)
		}
		if ok {
			close(r.done)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
}

// waitFor polls cond until it holds, for d stretched by the machine's time scale (package testtime).
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	d = testtime.Scaled(d)
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// events flattens the batches a capture publisher saw.
func (c *capture) events(t *testing.T) []schemas.RawEvent {
	t.Helper()
	var out []schemas.RawEvent
	for _, b := range c.batches(t) {
		for _, ev := range b.Events {
			ev.Name, ev.Path = append([]byte(nil), ev.Name...), append([]byte(nil), ev.Path...)
			out = append(out, ev)
		}
	}
	return out
}
