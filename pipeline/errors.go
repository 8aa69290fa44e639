package pipeline

import (
	"errors"

	"github.com/factstream/factstream/pipeline/projection"
)

// Errors of this package; test for them with errors.Is.
var (
	// ErrBadSnapshot means a snapshot could not be read: not a snapshot, an unknown version, truncated,
	// or inconsistent (an edge to a node that is not in it). The wrapping error says which.
	ErrBadSnapshot = projection.ErrBadSnapshot
	// ErrBadPattern means a monitored-path pattern is not a valid absolute glob (package glob).
	ErrBadPattern = errors.New("bad pattern")
	// ErrInvalidConfig means a Config field is out of range; the wrapping error names it.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrFenced means a partition's checkpoint moved under a worker: another worker owns the partition
	// now, and this one must stop publishing for it.
	ErrFenced = errors.New("fenced: partition taken over")
	// ErrClosed means the Resolver was closed.
	ErrClosed = errors.New("resolver closed")
	// ErrRunning means Run was called on a Resolver that runs already.
	ErrRunning = errors.New("resolver already running")
	// ErrNoRawStream means FACT_RAW does not exist (no sensor has provisioned it yet).
	ErrNoRawStream = errors.New("raw stream missing")
	// ErrNoBaseline means FACT_RAW holds no finished scan of the host: there is no baseline to start from.
	ErrNoBaseline = errors.New("no finished scan")
)
