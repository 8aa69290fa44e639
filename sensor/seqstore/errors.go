package seqstore

import "errors"

// Sentinel errors; test with errors.Is.
var (
	// ErrCorrupt: the state file exists but neither slot can be read, so the numbers already used are
	// unknown. The store refuses to guess; remove the file only if the machine has rebooted since.
	ErrCorrupt = errors.New("sequence state unreadable")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("sequence store closed")
	// ErrBootID: the boot id is empty or longer than the file format allows.
	ErrBootID = errors.New("bad boot id")
)
