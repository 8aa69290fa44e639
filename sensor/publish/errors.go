package publish

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of this package, wrapped with what was being done; test with errors.Is.
var (
	// ErrClosed is returned by Publish and Close after Close has been called.
	ErrClosed = errors.New("publisher closed")
	// ErrDropped is matched by a *DropError: the message was accepted for accounting but not kept (spool
	// full or failing); it is counted in metrics and will be in a LossReport. Callers need not act.
	ErrDropped = errors.New("message dropped")
	// ErrInvalidMsg means a Msg lacks a subject, a message id or data, or is too large for the server.
	ErrInvalidMsg = errors.New("invalid message")
	// ErrInvalidConfig means a Config or RawStreamConfig field is missing or out of range.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrSpoolLocked means another Publisher (in this or another process) uses the spool directory.
	ErrSpoolLocked = errors.New("spool directory in use by another publisher")
	// ErrReconnectBuffer means the connection buffers publishes while reconnecting, which would reorder
	// messages against our retries; create it with ConnOptions (nats.ReconnectBufSize(-1)).
	ErrReconnectBuffer = errors.New("connection must not buffer while reconnecting")
	// ErrNotConnected means a request failed while the connection to NATS is down (unreachable server).
	ErrNotConnected = errors.New("not connected to NATS")
	// ErrIncompatibleStream is matched by an *IncompatibleStreamError.
	ErrIncompatibleStream = errors.New("incompatible stream")
)

// DropError says a message was dropped and why. It matches ErrDropped.
type DropError struct {
	Reason DropReason
	Err    error // the underlying cause, if any (a disk error)
}

func (e *DropError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("message dropped (%s): %v", e.Reason, e.Err)
	}
	return fmt.Sprintf("message dropped (%s)", e.Reason)
}

// Is reports whether target is ErrDropped.
func (e *DropError) Is(target error) bool { return target == ErrDropped }

// Unwrap returns the underlying cause.
func (e *DropError) Unwrap() error { return e.Err }

// Mismatch is one setting of an existing stream that does not fit what the sensor needs.
type Mismatch struct {
	Setting string // subjects, subject_transform, storage, retention, discard, duplicate_window
	Have    string
	Want    string
}

// IncompatibleStreamError says an existing stream cannot be used as is; nothing was changed. It
// matches ErrIncompatibleStream.
type IncompatibleStreamError struct {
	Stream     string
	Mismatches []Mismatch
}

func (e *IncompatibleStreamError) Error() string {
	parts := make([]string, len(e.Mismatches))
	for i, m := range e.Mismatches {
		parts[i] = fmt.Sprintf("%s is %s, want %s", m.Setting, m.Have, m.Want)
	}
	return fmt.Sprintf("stream %s exists with an incompatible config (not changed): %s", e.Stream, strings.Join(parts, "; "))
}

// Is reports whether target is ErrIncompatibleStream.
func (e *IncompatibleStreamError) Is(target error) bool { return target == ErrIncompatibleStream }

// Has reports whether setting is among the mismatches.
func (e *IncompatibleStreamError) Has(setting string) bool {
	for _, m := range e.Mismatches {
		if m.Setting == setting {
			return true
		}
	}
	return false
}
