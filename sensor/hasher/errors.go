package hasher

import "errors"

// Sentinel errors of this package, wrapped with what was being done; test with errors.Is.
var (
	// ErrInvalidConfig means a Config field is missing or out of range.
	ErrInvalidConfig = errors.New("invalid hasher config")
	// ErrStopped is returned by Submit and Run once Run has returned, and by Run when it runs already.
	ErrStopped = errors.New("hasher stopped")
	// ErrNoLayout means AddFilesystem could not learn how the filesystem builds file handles; its files
	// are then opened by path.
	ErrNoLayout = errors.New("file handle layout not learned")
)
