package glob

import (
	"errors"
	"strings"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNotAbsolute: a pattern does not start with '/'.
	ErrNotAbsolute = errors.New("not absolute")
	// ErrBadPattern: a pattern is empty, malformed, or uses a form the scan cannot follow.
	ErrBadPattern = errors.New("bad pattern")
)

// listError joins errors one per line, like errors.Join, and keeps them for errors.Is.
type listError []error

func (l listError) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

func (l listError) Unwrap() []error { return l }

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return listError(errs)
}
