package schemas

import (
	"errors"
	"strconv"
)

// Errors returned by DecodeBatch and EncodeBatch, always wrapped in a *DecodeError or a plain wrapping
// error: test for them with errors.Is.
var (
	// ErrUnknownVersion means a batch carries a schema version this build does not read. It is not a
	// corrupt message: a newer sensor wrote it.
	ErrUnknownVersion = errors.New("unknown schema version")
	// ErrUnknownKind means an event carries a kind this version does not define.
	ErrUnknownKind = errors.New("unknown event kind")
	// ErrMalformed means the bytes are not a valid encoding: truncated, a wrong type, a value out of
	// range, too many fields, trailing bytes. The *DecodeError says which and where.
	ErrMalformed = errors.New("malformed batch")
)

// DecodeError says where decoding a batch failed and why. Err is one of the sentinel errors above.
type DecodeError struct {
	Offset int    // byte offset in the message where the bad value starts
	Event  int    // index of the event in the batch, -1 for the envelope
	Field  string // the field being decoded, empty for structure
	Detail string // what was wrong, e.g. "want bin, got 0xa3"
	Err    error
}

func (e *DecodeError) Error() string {
	s := "decode batch: "
	if e.Event >= 0 {
		s += "event " + strconv.Itoa(e.Event) + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	s += e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s + " (at byte " + strconv.Itoa(e.Offset) + ")"
}

// Unwrap returns the sentinel error.
func (e *DecodeError) Unwrap() error { return e.Err }
