package natsauth

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nats-io/nats.go"
)

// FileOption is the connection option of a credentials file for a client of role (host: a sensor's):
// a NATS .creds file (user JWT and seed) or an nkey seed file, such as those EnsureIdentities writes.
// The file is read now, so that a missing or unreadable one is an error before anything connects.
func FileOption(path string, role Role, host string) (nats.Option, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the credentials file: %w", err)
	}
	if bytes.Contains(data, []byte("BEGIN NATS USER JWT")) {
		creds := nats.UserCredentials(path)
		inbox := inboxOption(role, host)
		return func(o *nats.Options) error { return errors.Join(creds(o), inbox(o)) }, nil
	}
	kp, err := readKey(path)
	if err != nil {
		return nil, err
	}
	return keyOption(kp, role, host), nil
}

// Readable returns the credentials file of role under dataDir if this process can read it: root on the
// machine that runs the embedded server.
func Readable(dataDir string, role Role) (string, bool) {
	path := CredsFile(dataDir, role)
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	f.Close()
	return path, true
}

// Explain turns err, from a connection or an operation on nc, into a refusal that says what was refused
// and what to do about it, when the server refused it; otherwise it returns err. what names the
// operation ("read FACT_ACTIVITY"), hint the remedy ("run as root or pass --creds").
func Explain(nc *nats.Conn, err error, what, hint string) error {
	if err == nil {
		return nil
	}
	refusal := refused(err)
	if refusal == nil && nc != nil {
		refusal = refused(nc.LastError())
	}
	if refusal == nil {
		return err
	}
	return fmt.Errorf("%w to %s: %s (%v)", ErrNotAuthorized, what, hint, refusal)
}

// refused returns err when it is the server refusing the credentials or an operation.
func refused(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired), errors.Is(err, nats.ErrAuthRevoked),
		errors.Is(err, nats.ErrPermissionViolation), errors.Is(err, nats.ErrNkeysNotSupported),
		strings.Contains(strings.ToLower(err.Error()), "authorization violation"):
		return err
	}
	return nil
}
