package snapcodec

import "errors"

// ErrBadSnapshot means a snapshot could not be read: not a snapshot, an unknown version, truncated, a
// length over its bound, or inconsistent (what the layout on top finds wrong). The wrapping error says
// which.
var ErrBadSnapshot = errors.New("bad snapshot")
