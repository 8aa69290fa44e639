package natsauth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"
)

// CredsDir is the directory of a data directory that holds the credentials files.
const CredsDir = "creds"

// credsExt is the extension of a credentials file: an nkey seed, as `nats --nkey` reads it.
const credsExt = ".nk"

// CredsFile is the credentials file of role under dataDir.
func CredsFile(dataDir string, role Role) string {
	return filepath.Join(dataDir, CredsDir, string(role)+credsExt)
}

// Identities are the nkey identities of every role of one embedded server. It is safe for concurrent use
// once made.
type Identities struct {
	keys map[Role]nkeys.KeyPair
}

// EnsureIdentities loads the identities kept under dataDir/creds, creating the ones that are missing:
// the directory with mode 0700, each file with mode 0600, owned by the user that runs it. A directory or
// file others could read is tightened, not trusted as is: its permissions are reset.
func EnsureIdentities(dataDir string) (*Identities, error) {
	dir := filepath.Join(dataDir, CredsDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the credentials directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restricting the credentials directory: %w", err)
	}
	ids := &Identities{keys: make(map[Role]nkeys.KeyPair)}
	for _, role := range Roles() {
		kp, err := ensureKey(CredsFile(dataDir, role))
		if err != nil {
			return nil, fmt.Errorf("%s credentials: %w", role, err)
		}
		ids.keys[role] = kp
	}
	return ids, nil
}

// ensureKey reads the user seed in path, or creates one there.
func ensureKey(path string) (nkeys.KeyPair, error) {
	kp, err := readKey(path)
	if err == nil {
		return kp, os.Chmod(path, 0o600)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	kp, err = nkeys.CreateUser()
	if err != nil {
		return nil, fmt.Errorf("creating a user nkey: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, err
	}
	text, err := jwt.DecorateSeed(seed)
	if err != nil {
		return nil, err
	}
	return kp, writePrivate(path, text)
}

// writePrivate writes data to path with mode 0600 through a temporary file, so that a crash leaves either
// no file or a whole one.
func writePrivate(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// readKey reads the user key pair of a credentials file: an nkey seed, bare or decorated, or a NATS
// .creds file (whose JWT is then needed too; see ConnectOption).
func readKey(path string) (nkeys.KeyPair, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	kp, err := nkeys.ParseDecoratedNKey(data)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w: %w", path, ErrBadCredentials, err)
	}
	if pub, err := kp.PublicKey(); err != nil || !nkeys.IsValidPublicUserKey(pub) {
		return nil, fmt.Errorf("reading %s: %w: not a user nkey", path, ErrBadCredentials)
	}
	return kp, nil
}

// Users are the server's users: one per role, the sensor scoped to host.
func (ids *Identities) Users(host string) ([]*server.NkeyUser, error) {
	var users []*server.NkeyUser
	for _, role := range Roles() {
		perms, err := Permissions(role, host)
		if err != nil {
			return nil, err
		}
		pub, err := ids.keys[role].PublicKey()
		if err != nil {
			return nil, err
		}
		users = append(users, &server.NkeyUser{Nkey: pub, Permissions: perms})
	}
	return users, nil
}

// Option is the connection option of role (host: the sensor's): its nkey, and its inbox prefix.
func (ids *Identities) Option(role Role, host string) nats.Option {
	kp, ok := ids.keys[role]
	if !ok {
		return func(*nats.Options) error { return fmt.Errorf("connecting as %q: %w", role, ErrUnknownRole) }
	}
	return keyOption(kp, role, host)
}

// keyOption signs the server's nonce with kp and sets the inbox prefix of role.
func keyOption(kp nkeys.KeyPair, role Role, host string) nats.Option {
	return func(o *nats.Options) error {
		pub, err := kp.PublicKey()
		if err != nil {
			return err
		}
		if err := nats.Nkey(pub, kp.Sign)(o); err != nil {
			return err
		}
		return inboxOption(role, host)(o)
	}
}

// inboxOption sets the inbox prefix of role, unless it is the default one.
func inboxOption(role Role, host string) nats.Option {
	p := InboxPrefix(role, host)
	if p+"." == nats.InboxPrefix {
		return func(*nats.Options) error { return nil }
	}
	return nats.CustomInboxPrefix(p)
}
