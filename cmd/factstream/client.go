package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"

	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/sensor"
	"github.com/nats-io/nats.go"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
)

// credsEnv names a credentials file when --creds is not given (the sensor's nats.creds_file too).
const credsEnv = "FACTSTREAM_NATS_CREDS_FILE"

// clientOptions are the flags of a command that works against a given NATS (resolver, tail).
type clientOptions struct {
	url       string
	creds     string
	dataDir   string
	logLevel  string
	logFormat string
}

func (o *clientOptions) bind(fs *pflag.FlagSet) {
	fs.StringVar(&o.url, "nats", "nats://"+sensor.DefaultEmbeddedListen, "NATS URL(s), comma-separated")
	fs.StringVar(&o.creds, "creds", "", "NATS credentials file: a .creds file or an nkey seed (default: $"+credsEnv+", else the data directory's)")
	fs.StringVar(&o.dataDir, "data-dir", defaultDataDir(), "data directory of the local up or sensor, whose credentials are used when readable and --creds is not given")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "auto", "auto (console on a terminal, else JSON), json or console")
}

func (o *clientOptions) logger() (*zap.Logger, error) {
	return newLogger(sensor.LogConfig{Level: o.logLevel, Format: o.logFormat})
}

// credsFile is the credentials file a connection of role uses: --creds, else $FACTSTREAM_NATS_CREDS_FILE,
// else the data directory's file of role when this process can read it (root, next to up), else none.
func (o *clientOptions) credsFile(role natsauth.Role) string {
	if file := cmp.Or(o.creds, os.Getenv(credsEnv)); file != "" {
		return file
	}
	file, _ := natsauth.Readable(o.dataDir, role)
	return file
}

// connect connects as role to the NATS the options name; the connection keeps reconnecting when it
// drops. A refusal of the server says what to pass.
func (o *clientOptions) connect(name string, role natsauth.Role, log *zap.Logger) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), connLogging(log)}
	if file := o.credsFile(role); file != "" {
		cred, err := natsauth.FileOption(file, role, "")
		if err != nil {
			return nil, fmt.Errorf("--creds %s: %w", file, err)
		}
		opts = append(opts, cred)
	}
	nc, err := nats.Connect(o.url, opts...)
	if err != nil {
		if refused := o.explain(nil, role, "connect to NATS at "+o.url, err); errors.Is(refused, natsauth.ErrNotAuthorized) {
			return nil, refused
		}
		return nil, fmt.Errorf("connecting to NATS at %s: %w", o.url, err)
	}
	return nc, nil
}

// explain turns a refusal of the server (err, from nc) into one line that says what was refused (what)
// and what to pass instead; other errors are returned as they are.
func (o *clientOptions) explain(nc *nats.Conn, role natsauth.Role, what string, err error) error {
	hint := fmt.Sprintf("run as root (to use %s) or pass --creds", natsauth.CredsFile(o.dataDir, role))
	if file := o.credsFile(role); file != "" {
		hint = fmt.Sprintf("the credentials in %s do not allow it; pass the %s credentials with --creds", file, role)
	}
	return natsauth.Explain(nc, err, what, hint)
}
