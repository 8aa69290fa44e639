//go:build !unix

package publish

import "os"

// lockDir does not lock where flock is missing; one Publisher per directory is then up to the caller.
func lockDir(dir string) (*os.File, error) { return nil, os.MkdirAll(dir, 0o700) }
