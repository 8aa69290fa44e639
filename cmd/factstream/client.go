package main

import (
	"cmp"
	"errors"
	"fmt"
	"os"

	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/internal/settings"
	"github.com/factstream/factstream/sensor"
	"github.com/nats-io/nats.go"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
)

// clientConfig is what a command that works against a given NATS (resolver, tail, status, replay,
// history) is configured with. Its keys are the sensor's where they mean the same thing, read the same
// way: a YAML file (--config), FACTSTREAM_* variables, flags.
type clientConfig struct {
	NATS natsClientConfig `yaml:"nats"`
	// DataDir is the data directory of a local up or sensor, whose credentials are used when readable
	// and no credentials are given.
	DataDir string           `yaml:"data_dir"`
	Log     sensor.LogConfig `yaml:"log"`
}

// natsClientConfig says where NATS is and how to authenticate to it, as the sensor's nats.* keys do.
type natsClientConfig struct {
	URL          string           `yaml:"url"`
	CredsFile    string           `yaml:"creds_file"`
	NkeySeedFile string           `yaml:"nkey_seed_file"`
	TLS          sensor.TLSConfig `yaml:"tls"`
}

func defaultClientConfig() clientConfig {
	return clientConfig{NATS: natsClientConfig{URL: "nats://" + sensor.DefaultEmbeddedListen}, DataDir: defaultDataDir(),
		Log: sensor.LogConfig{Level: "info", Format: "auto"}}
}

// table lists the keys of c; --nats and --creds stay as the older names of --nats-url and
// --nats-creds-file.
func (c *clientConfig) table() []settings.Setting {
	n := &c.NATS
	keys := sensor.NATSClientSettings("NATS URL(s), comma-separated", &n.URL, &n.CredsFile, &n.NkeySeedFile, &n.TLS)
	for i, s := range keys {
		switch s.Key {
		case "nats.url":
			keys[i] = s.WithAlias("nats")
		case "nats.creds_file":
			s.Help = "NATS credentials file: a .creds file or an nkey seed (default: the data directory's)"
			keys[i] = s.WithAlias("creds")
		}
	}
	keys = append(keys, settings.New("data_dir", "data directory of the local up or sensor, whose credentials are used when readable and no credentials are given", &c.DataDir))
	return append(keys, sensor.LogSettings(&c.Log)...)
}

// validate checks c as the sensor checks the same keys.
func (c *clientConfig) validate() error {
	return sensor.ValidateNATSClient(c.NATS.URL, c.NATS.CredsFile, c.NATS.NkeySeedFile, c.NATS.TLS)
}

// clientOptions are the configuration of a command that works against a given NATS: its flags, and
// what load reads.
type clientOptions struct {
	cfg    *clientConfig
	dst    any // the command's configuration, holding cfg; the YAML file decodes into it
	table  []settings.Setting
	flags  *settings.Flags
	own    clientConfig // cfg when the command has no keys of its own
	loaded bool
	check  func() error // the command's own validation, after cfg's (nil: none)
}

// bind registers --config and the client's keys on fs, for a command with no keys of its own.
func (o *clientOptions) bind(fs *pflag.FlagSet) {
	o.own = defaultClientConfig()
	o.bindConfig(fs, &o.own, &o.own, nil)
}

// bindConfig registers --config, the keys of cfg and the command's own keys (extra) on fs; dst is the
// command's configuration, which holds cfg and the fields extra sets, with their defaults set.
func (o *clientOptions) bindConfig(fs *pflag.FlagSet, cfg *clientConfig, dst any, extra []settings.Setting) {
	o.cfg, o.dst = cfg, dst
	o.table = append(cfg.table(), extra...)
	o.flags = settings.Bind(fs, o.table)
}

// load reads the configuration once: the file, the process's environment, then the flags, and
// validates it.
func (o *clientOptions) load() error { return o.loadEnv(os.Environ()) }

// loadEnv is load with the environment environ.
func (o *clientOptions) loadEnv(environ []string) error {
	if o.loaded {
		return nil
	}
	err := settings.Load(o.dst, o.table, settings.Sources{Env: environ, Flags: o.flags}, func() error {
		if o.check == nil {
			return o.cfg.validate()
		}
		return errors.Join(o.cfg.validate(), o.check())
	})
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	o.loaded = true
	return nil
}

// logger loads the configuration and returns the logger it asks for.
func (o *clientOptions) logger() (*zap.Logger, error) {
	if err := o.load(); err != nil {
		return nil, err
	}
	return newLogger(o.cfg.Log)
}

// credsFile is the credentials file a connection of role uses: nats.creds_file or nats.nkey_seed_file
// (from the file, $FACTSTREAM_NATS_CREDS_FILE or --creds), else the data directory's file of role when
// this process can read it (root, next to up), else none.
func (o *clientOptions) credsFile(role natsauth.Role) string {
	if file := cmp.Or(o.cfg.NATS.CredsFile, o.cfg.NATS.NkeySeedFile); file != "" {
		return file
	}
	file, _ := natsauth.Readable(o.cfg.DataDir, role)
	return file
}

// connect connects as role to the NATS the configuration names, with its credentials and TLS, as the
// sensor connects to an external server; the connection keeps reconnecting when it drops. A refusal of
// the server says what to pass.
func (o *clientOptions) connect(name string, role natsauth.Role, log *zap.Logger) (*nats.Conn, error) {
	if err := o.load(); err != nil {
		return nil, err
	}
	url := o.cfg.NATS.URL
	auth, err := authOptions(o.cfg.NATS.TLS, o.credsFile(role), role, "")
	if err != nil {
		return nil, err
	}
	opts := append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1), connLogging(log)}, auth...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		if refused := o.explain(nil, role, "connect to NATS at "+url, err); errors.Is(refused, natsauth.ErrNotAuthorized) {
			return nil, refused
		}
		return nil, fmt.Errorf("connecting to NATS at %s: %w", url, err)
	}
	return nc, nil
}

// dial loads the configuration, creates its logger and connects as role; closeAll closes the
// connection and flushes the logger.
func (o *clientOptions) dial(name string, role natsauth.Role) (nc *nats.Conn, closeAll func(), _ error) {
	log, err := o.logger()
	if err != nil {
		return nil, nil, err
	}
	nc, err = o.connect(name, role, log)
	if err != nil {
		_ = log.Sync()
		return nil, nil, err
	}
	return nc, func() { nc.Close(); _ = log.Sync() }, nil
}

// explain turns a refusal of the server (err, from nc) into one line that says what was refused (what)
// and what to pass instead; other errors are returned as they are.
func (o *clientOptions) explain(nc *nats.Conn, role natsauth.Role, what string, err error) error {
	hint := fmt.Sprintf("run as root (to use %s) or pass --creds", natsauth.CredsFile(o.cfg.DataDir, role))
	if file := o.credsFile(role); file != "" {
		hint = fmt.Sprintf("the credentials in %s do not allow it; pass the %s credentials with --creds", file, role)
	}
	return natsauth.Explain(nc, err, what, hint)
}
