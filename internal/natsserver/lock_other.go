//go:build !unix

package natsserver

import "os"

// lockStore does not lock where flock is missing; one server per store directory is then up to the caller.
func lockStore(dir string) (*os.File, error) { return nil, os.MkdirAll(dir, 0o700) }
