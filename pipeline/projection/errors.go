package projection

import "github.com/factstream/factstream/pipeline/internal/snapcodec"

// ErrBadSnapshot means a snapshot could not be read: not a snapshot, an unknown version, truncated,
// or inconsistent (an edge to a node that is not in it). The wrapping error says which. It is the error
// of the snapshot codec that every reader of a snapshot wraps.
var ErrBadSnapshot = snapcodec.ErrBadSnapshot
