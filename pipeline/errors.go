package pipeline

import "errors"

// Errors of this package; test for them with errors.Is.
var (
	// ErrBadSnapshot means a snapshot could not be read: not a snapshot, an unknown version, truncated,
	// or inconsistent (an edge to a node that is not in it). The wrapping error says which.
	ErrBadSnapshot = errors.New("bad snapshot")
)
