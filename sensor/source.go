package sensor

import (
	"time"

	"github.com/factstream/factstream/bpf"
)

// EventSource is where kernel records come from: the probes' ring buffer, or a synthetic source in
// tests and benchmarks. *bpf.Probes satisfies it.
//
// ReadInto blocks until a record arrives and decodes it into ev, reusing ev's buffer; it returns
// bpf.ErrClosed once the source is closed and os.ErrDeadlineExceeded when the deadline set with
// SetDeadline passes with nothing to read. Only the sensor's drain goroutine calls either.
type EventSource interface {
	ReadInto(ev *bpf.Event) error
	SetDeadline(t time.Time)
}

// Kernel is the probes' state the sensor changes and reads: the tracked inode set, the path prefixes,
// the monitored mounts, the per-hook counters, the processes running now and the name of the running probe set. *bpf.Probes
// satisfies it. Its methods may be called from several goroutines.
type Kernel interface {
	Processes() ([]bpf.ProcessInfo, error)
	Track(dev, ino uint64) error
	Untrack(dev, ino uint64) error
	AddPrefix(prefix string) error
	RemovePrefix(prefix string) error
	// SetMounts names the mounts the monitored paths live on (see bpf.Probes.SetMounts).
	SetMounts(ids []uint32) error
	Counters() (bpf.Counters, error)
	Set() bpf.ProbeSet
	// Instance names the probes' record sequence within the boot (0: unknown); pinned probes that an
	// earlier run loaded keep theirs.
	Instance() uint64
}

// Probes is both halves, as *bpf.Probes provides them.
type Probes interface {
	EventSource
	Kernel
}

var _ Probes = (*bpf.Probes)(nil)
