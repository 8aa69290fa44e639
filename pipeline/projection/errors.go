package projection

import "errors"

// ErrBadSnapshot means a snapshot could not be read: not a snapshot, an unknown version, truncated,
// or inconsistent (an edge to a node that is not in it). The wrapping error says which.
var ErrBadSnapshot = errors.New("bad snapshot")
