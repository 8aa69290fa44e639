package natsserver

import "errors"

// Sentinel errors returned by this package, wrapped with what was being done; test with errors.Is.
var (
	// ErrNoStoreDir means Config.StoreDir is empty; JetStream needs a directory for its file store.
	ErrNoStoreDir = errors.New("store directory is required")
	// ErrInvalidPort means Config.Port is outside -1..65535.
	ErrInvalidPort = errors.New("port must be -1 (random), 0 (default 4222) or 1..65535")
	// ErrNotReady means the server did not accept connections within Config.ReadyTimeout.
	ErrNotReady = errors.New("server not ready for connections")
	// ErrServerFatal means the server reported a fatal error while starting (it logs it, we return it).
	ErrServerFatal = errors.New("server failed")
	// ErrStoreLocked means another server (in this or another process) uses the store directory.
	ErrStoreLocked = errors.New("store directory in use by another server")
	// ErrNoJetStream means the server started but JetStream is not enabled.
	ErrNoJetStream = errors.New("jetstream not enabled")
	// ErrTLSRequired means the server would listen beyond loopback without TLS: clients would send their
	// credentials and read the record in the clear.
	ErrTLSRequired = errors.New("listening beyond loopback requires TLS (a server certificate and key)")
	// ErrTLSIncomplete means only one of the TLS certificate and key is set.
	ErrTLSIncomplete = errors.New("TLS needs both a certificate and a key")
)
