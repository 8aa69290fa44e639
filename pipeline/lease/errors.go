package lease

import "errors"

// Errors of this package; test for them with errors.Is.
var (
	// ErrInvalidConfig means a Config field is missing or out of range; the wrapping error names it.
	ErrInvalidConfig = errors.New("invalid lease config")
)
