package schemas

import "time"

// The replies of a sensor's control verbs, JSON on the request's reply subject.

// RescanReply answers a rescan request on ControlSubject(host, VerbRescan) (its data: a host path, or a
// RescanRequest). Error is set when it failed.
type RescanReply struct {
	Epoch uint64 `json:"epoch,omitempty"`
	Error string `json:"error,omitempty"`
}

// SensorStatus answers a request on ControlSubject(host, VerbStatus): the sensor's state.
type SensorStatus struct {
	Host      string      `json:"host"`
	BootID    string      `json:"boot_id"`
	ProbeSet  string      `json:"probe_set"`
	Ready     bool        `json:"ready"`
	Paths     []string    `json:"paths"`
	Prefixes  []string    `json:"kernel_prefixes"`
	Sequence  uint64      `json:"sequence"`                // the next sensor sequence
	LastSeq   uint64      `json:"last_sequence"`           // the last one handed out in this run
	KernelSeq uint64      `json:"kernel_seq"`              // the kernel sequence read (or written off) so far
	Delivered uint64      `json:"kernel_delivered"`        // every kernel record up to here is stored or reported lost
	Instance  uint64      `json:"probe_instance"`          // the probes' record sequence; a pinned one outlives the sensor
	Restart   string      `json:"restart_check,omitempty"` // after a restart with pinned probes: checking, done
	Pending   int         `json:"pending"`                 // events in open batches
	Spool     SpoolStatus `json:"spool"`
	Counters  Counters    `json:"counters"`
	LastScan  *ScanResult `json:"last_scan,omitempty"`
	Hash      *HashStatus `json:"hash,omitempty"` // nil when hashing is off
}

// HashStatus is a sensor's content hashing: the baseline of the scan epoch being hashed in the
// background (the first scan's, a rescan's or a verify's) and the hasher's queue.
type HashStatus struct {
	// BaselineEpoch is the scan epoch whose regular files are being (or were last) hashed; 0: none yet.
	BaselineEpoch uint64 `json:"baseline_epoch"`
	// BaselineFiles are that epoch's files to hash, BaselineDone those whose content event is batched.
	BaselineFiles int64 `json:"baseline_files"`
	BaselineDone  int64 `json:"baseline_done"`
	// BaselinePending counts the scan epochs waiting for their baseline after this one.
	BaselinePending int `json:"baseline_pending"`
	// Queued counts the files waiting or being hashed, BaselineQueued those of them from a baseline.
	Queued         int `json:"queued"`
	BaselineQueued int `json:"baseline_queued"`
	// HashedTotal counts the content events with a digest since the sensor started.
	HashedTotal uint64 `json:"hashed_total"`
}

// VerifyRequest asks the sensor of Host for a rescan whose regular files are hashed, as JSON on
// ControlSubject(Host, VerbVerify): drift found by comparing the hashes with what the resolver knows.
// Paths, when set, are globs (package glob's syntax): only the files they match, or that are below a
// directory they match, are hashed; the epoch still covers every monitored filesystem.
type VerifyRequest struct {
	Host   string   `json:"host"`
	Paths  []string `json:"paths,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

// VerifyReply answers a VerifyRequest once the scan epoch is published: its epoch and how many files
// were queued to hash (their content events follow in the background). Error is set when it failed.
type VerifyReply struct {
	Epoch uint64 `json:"epoch,omitempty"`
	Files int    `json:"files"`
	Error string `json:"error,omitempty"`
}

// SpoolStatus is a sensor publisher's backlog.
type SpoolStatus struct {
	Batches     float64 `json:"batches"`
	Bytes       float64 `json:"bytes"`
	MemoryBytes float64 `json:"memory_bytes"`
	PendingAcks float64 `json:"pending_acks"`
}

// ScanResult describes one scan epoch of a sensor.
type ScanResult struct {
	Epoch    uint64        `json:"epoch"`
	Entries  int64         `json:"entries"`
	Devs     []uint64      `json:"devs"`
	Missing  []string      `json:"missing,omitempty"`
	Errors   int64         `json:"errors"`
	Duration time.Duration `json:"duration_ns"`
}

// HookCounters are one kernel hook's counters, summed over CPUs.
type HookCounters struct {
	Total          uint64 // calls
	Added          uint64 // records written to the ring buffer
	Ignored        uint64 // calls about files that are not monitored
	Error          uint64 // calls that could not be handled
	RingbufferFull uint64 // records lost because the ring buffer was full
	Mkdir          uint64 // d_instantiate: mkdir completions
	Symlink        uint64 // d_instantiate: symlink completions
	Mknod          uint64 // d_instantiate: mknod completions
	Discarded      uint64 // calls a discarder dismissed without walking their path (tracepoint set)
}

// Counters are every hook's counters, by hook name (the name of the hook it counts, e.g. "path_mkdir").
type Counters map[string]HookCounters

// Sub returns c minus before, hook by hook: what happened between two readings.
func (c Counters) Sub(before Counters) Counters {
	out := make(Counters, len(c))
	for name, v := range c {
		b := before[name]
		out[name] = HookCounters{
			Total: v.Total - b.Total, Added: v.Added - b.Added, Ignored: v.Ignored - b.Ignored,
			Error: v.Error - b.Error, RingbufferFull: v.RingbufferFull - b.RingbufferFull,
			Mkdir: v.Mkdir - b.Mkdir, Symlink: v.Symlink - b.Symlink, Mknod: v.Mknod - b.Mknod,
			Discarded: v.Discarded - b.Discarded,
		}
	}
	return out
}
