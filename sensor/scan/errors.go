package scan

import "errors"

// Sentinel errors; test with errors.Is.
var (
	// ErrChanged: a directory was replaced between being listed and being opened; it was skipped.
	ErrChanged = errors.New("directory changed during the scan")
)
