package bpf

import "errors"

// Sentinel errors; test with errors.Is.
var (
	// ErrMalformed: a record does not have the layout its header claims.
	ErrMalformed = errors.New("malformed record")
	// ErrUnavailable: the probe set cannot run on this kernel; the error says why (see UnavailableError).
	ErrUnavailable = errors.New("probe set unavailable")
	// ErrClosed: the probes were closed.
	ErrClosed = errors.New("probes closed")
	// ErrBadPrefix: a path prefix the kernel cannot match (relative, too long).
	ErrBadPrefix = errors.New("bad path prefix")
	// ErrTooManyMounts: more monitored mounts than the probes' map holds.
	ErrTooManyMounts = errors.New("too many monitored mounts")
	// ErrNoTaskIterator: the kernel did not load the task iterator, so Processes cannot list processes.
	ErrNoTaskIterator = errors.New("no task iterator loaded")
	// ErrBadPinPath: Options.PinPath is not a directory on a BPF filesystem.
	ErrBadPinPath = errors.New("bad pin path")
)

// UnavailableError says why a probe set cannot run here. It matches ErrUnavailable.
type UnavailableError struct {
	Set    ProbeSet
	Reason string
	Err    error // the underlying error, if any
}

func (e *UnavailableError) Error() string {
	msg := string(e.Set) + " probes unavailable: " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Summary is the error without its underlying cause: the line to show a person, whose cause (a loader's
// error with hints meant for other failures) belongs in a log.
func (e *UnavailableError) Summary() string {
	return string(e.Set) + " probes unavailable: " + e.Reason
}

func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

func (e *UnavailableError) Unwrap() error { return e.Err }
