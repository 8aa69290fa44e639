package sensor

import "errors"

// Sentinel errors; test with errors.Is.
var (
	// ErrNoProbes: Deps.Probes is missing.
	ErrNoProbes = errors.New("no probes")
	// ErrNoNATS: neither Deps.Conn nor Deps.Publisher is set.
	ErrNoNATS = errors.New("no NATS connection")
	// ErrRunning: Run was called twice.
	ErrRunning = errors.New("sensor already running")
	// ErrNotMonitored: a rescan asked for a path outside every monitored pattern.
	ErrNotMonitored = errors.New("path not monitored")
	// ErrNotReady: a request came before the sensor finished starting.
	ErrNotReady = errors.New("sensor not ready")
	// ErrHashingOff: a verification was asked of a sensor whose hash.algorithm is none.
	ErrHashingOff = errors.New("hashing is off (hash.algorithm none)")
	// ErrBadGlob: a verification named a glob that does not compile.
	ErrBadGlob = errors.New("bad glob")
)
