package client

import (
	"errors"
	"fmt"

	"github.com/factstream/factstream/schemas"
)

// Sentinel errors, for errors.Is. Errors from NATS and from a handler come back wrapped as they are.
var (
	// ErrInvalidFilter is wrapped by a *ValueError: a filter value that cannot select events.
	ErrInvalidFilter = errors.New("invalid filter")
	// ErrInvalidStart is wrapped by a *ValueError: a start position ParseStart cannot read.
	ErrInvalidStart = errors.New("invalid start")
	// ErrUnreadable is what an *UnreadableError is: a FACT_ACTIVITY message that is not a FILE_ACTIVITY
	// batch this package can decode.
	ErrUnreadable = errors.New("unreadable FILE_ACTIVITY batch")
	// ErrNoHandler is returned by Subscribe when its handler is nil.
	ErrNoHandler = errors.New("no handler")
)

// ValueError names one bad value: of a Filter (Field "host", "type" or "path"; it wraps
// ErrInvalidFilter) or of ParseStart (Field "start"; it wraps ErrInvalidStart).
type ValueError struct {
	Field  string
	Value  string
	Reason string // what a good value looks like
	Err    error  // ErrInvalidFilter or ErrInvalidStart
}

func (e *ValueError) Error() string { return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason) }

// Unwrap returns the sentinel error.
func (e *ValueError) Unwrap() error { return e.Err }

// UnreadableError is a FACT_ACTIVITY message that Subscribe skipped because it could not decode it.
type UnreadableError struct {
	Subject string // the message's subject, fact.activity.<host>.<type>
	Seq     uint64 // its FACT_ACTIVITY stream sequence
	Err     error  // why, usually a *schemas.DecodeError
}

func (e *UnreadableError) Error() string {
	return fmt.Sprintf("reading %s message %d on %s: %v", schemas.ActivityStream, e.Seq, e.Subject, e.Err)
}

// Unwrap returns the decoding error.
func (e *UnreadableError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnreadable.
func (e *UnreadableError) Is(target error) bool { return target == ErrUnreadable }
