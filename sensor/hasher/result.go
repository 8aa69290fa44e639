package hasher

import (
	"time"

	"github.com/factstream/factstream/schemas"
)

// Identity names a file's inode: its filesystem (st_dev), inode number and generation.
type Identity struct {
	Dev uint64
	Ino uint64
	Gen uint32
}

// Request asks for a file to be hashed: from the kernel's record of its last close after a write, or
// from a scan entry (SubmitWait).
type Request struct {
	// ID names the inode. Where GenUnknown is set its Gen is not known (a scan entry's): the file is
	// then opened by Path when there is one, and only its dev and inode number are checked with fstat.
	ID         Identity
	GenUnknown bool
	// Size and Ctime are the file's as the kernel recorded them; they are echoed, not trusted.
	Size  int64
	Ctime time.Time
	// Path is the file's host path, tried when the file cannot be opened by handle; may be empty.
	Path string
	// Token is echoed in the Result untouched (the last writer, a sequence number...).
	Token any
}

// State says what became of an attempt to hash a file: the wire's hash state, whose names are
// FILE_ACTIVITY's hash_state.
type State = schemas.HashState

// The states of a Result. Only StateOK carries a digest.
const (
	StateOK                = schemas.HashOK
	StateTooLarge          = schemas.HashTooLarge
	StateChangedDuringHash = schemas.HashChangedDuringHash
	StateUnreadable        = schemas.HashUnreadable
	StateRateLimited       = schemas.HashRateLimited
)

// Result is one attempt's outcome for an identity.
type Result struct {
	ID Identity
	// Size and Mtime are the file's as stat'ed after hashing (before, if it was not read); zero when it
	// could not be opened.
	Size      int64
	Mtime     time.Time
	Algorithm string
	Digest    []byte // StateOK only
	State     State
	// Reason says why, for states other than StateOK.
	Reason string
	// Retry is set with StateChangedDuringHash when the file will be hashed again once quiet.
	Retry bool
	// ByHandle tells that the file was opened by handle rather than by path.
	ByHandle bool
	// Request is the last request merged into this attempt, Coalesced how many were since the attempt
	// before (0 for a retry after StateChangedDuringHash that no request came for).
	Request   Request
	Coalesced int

	// pathGone: the file was not at the request's path (and no handle opened it). It may have been
	// renamed, with a Repath on its way: finish tries again before it says unreadable.
	pathGone bool
}
