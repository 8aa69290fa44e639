package sensor

import (
	"errors"
	"slices"

	"github.com/factstream/factstream/internal/settings"
	"github.com/spf13/pflag"
)

// EnvPrefix starts every environment variable the sensor reads: a key such as batch.max_delay is read
// from FACTSTREAM_BATCH_MAX_DELAY.
const EnvPrefix = settings.EnvPrefix

// ConfigEnv names the configuration file when --config is not given.
const ConfigEnv = settings.ConfigEnv

// table lists every key, bound to the fields of c. It is the one list the file, the environment,
// the flags and --help agree on.
func table(c *Config) []settings.Setting {
	return slices.Concat([]settings.Setting{
		settings.New("host", "node name used in subjects (default: the host name)", &c.Host),
		settings.New("boot_id", "boot id (default: "+bootIDFile+")", &c.BootID),
		settings.New("paths", "monitored host paths as globs (/srv/app, /srv/app/**, /srv/app/*.conf); comma-separated or repeated", &c.Paths),
		settings.New("state_dir", "directory for sequence marks, the kernel checkpoint and the spool", &c.StateDir),
		settings.New("host_root", "where the host's root is mounted (running in a container)", &c.HostRoot),
		settings.New("verify_interval", "rescan every monitored filesystem and hash its regular files this often (0: only when factstream verify asks)", &c.VerifyInterval),
		settings.New("probes.set", "probe set: auto, lsm or tracepoint", &c.Probes.Set),
		settings.New("probes.pin_path", "bpffs directory to pin probes in so the kernel records across restarts (empty: no pinning)", &c.Probes.PinPath),
		settings.New("probes.ring_size", "ring buffer size, a power of two (0: the probes' default)", &c.Probes.RingSize),
		settings.New("probes.tracked_inodes", "capacity of the kernel's tracked inode set (0: the probes' default)", &c.Probes.TrackedInodes),
		settings.New("probes.wakeup_bytes", "the probes wake the sensor once this much waits in the ring; less waits for its 5ms poll (0: every record, lowest latency, highest cost)", &c.Probes.WakeupBytes),
	}, NATSClientSettings("external NATS URL(s), comma-separated; empty starts an embedded server",
		&c.NATS.URL, &c.NATS.CredsFile, &c.NATS.NkeySeedFile, &c.NATS.TLS), []settings.Setting{
		settings.New("nats.embedded.store_dir", "JetStream store of the embedded server (empty: <state_dir>/jetstream)", &c.NATS.Embedded.StoreDir),
		settings.New("nats.embedded.listen", "address the embedded server listens on; beyond loopback it needs nats.embedded.tls", &c.NATS.Embedded.Listen),
		settings.New("nats.embedded.tls.cert", "server certificate file of the embedded server (PEM)", &c.NATS.Embedded.TLS.Cert),
		settings.New("nats.embedded.tls.key", "server key file of the embedded server (PEM)", &c.NATS.Embedded.TLS.Key),
		settings.New("nats.stream.partitions", "FACT_RAW virtual partitions on creation (0: 64)", &c.NATS.Stream.Partitions),
		settings.New("nats.stream.max_age", "FACT_RAW retention by age on creation (0: 7 days)", &c.NATS.Stream.MaxAge),
		settings.New("nats.stream.max_bytes", "FACT_RAW retention by size on creation (0: unlimited)", &c.NATS.Stream.MaxBytes),
		settings.New("nats.stream.duplicates", "FACT_RAW duplicate window (0: 2m)", &c.NATS.Stream.Duplicates),
		settings.New("nats.stream.replicas", "FACT_RAW replicas on creation (0: 1)", &c.NATS.Stream.Replicas),
		settings.New("batch.max_events", "events per batch at most", &c.Batch.MaxEvents),
		settings.New("batch.max_bytes", "encoded bytes per batch at most", &c.Batch.MaxBytes),
		settings.New("batch.max_delay", "how long an event may wait in a batch", &c.Batch.MaxDelay),
		settings.New("spool.memory_bytes", "batches held in memory while NATS is away (0: 64MiB)", &c.Spool.MemoryBytes),
		settings.New("spool.max_bytes", "disk spool size after memory (0: 1GiB)", &c.Spool.MaxBytes),
		settings.New("hash.algorithm", "digest of a monitored file's content after its last writer: sha256, sha512 or none (no hashing)", &c.Hash.Algorithm),
		settings.New("hash.max_size", "larger files are reported too_large, never hashed in part", &c.Hash.MaxSize),
		settings.New("hash.bytes_per_second", "reading pace of the hashers together", &c.Hash.BytesPerSecond),
		settings.New("hash.workers", "files hashed at once", &c.Hash.Workers),
		settings.New("metrics.listen", "address for /metrics, /healthz and /readyz (empty: none)", &c.Metrics.Listen),
	}, LogSettings(&c.Log))
}

// LogSettings are the keys log.level and log.format, bound to l; every command that logs reads them.
func LogSettings(l *LogConfig) []settings.Setting {
	return []settings.Setting{
		settings.New("log.level", "debug, info, warn or error", &l.Level),
		settings.New("log.format", "auto (console on a terminal, else JSON), json or console", &l.Format),
	}
}

// NATSClientSettings are the keys of a connection to an external NATS server, bound to url, creds,
// nkey and tls: nats.url (described by urlHelp), nats.creds_file, nats.nkey_seed_file and nats.tls.ca,
// cert and key. The sensor and every command that connects to NATS read them under the same names.
func NATSClientSettings(urlHelp string, url, creds, nkey *string, tls *TLSConfig) []settings.Setting {
	return []settings.Setting{
		settings.New("nats.url", urlHelp, url),
		settings.New("nats.creds_file", "NATS credentials file", creds),
		settings.New("nats.nkey_seed_file", "file with a NATS user nkey seed", nkey),
		settings.New("nats.tls.ca", "CA file for TLS to NATS", &tls.CA),
		settings.New("nats.tls.cert", "client certificate file for TLS to NATS", &tls.Cert),
		settings.New("nats.tls.key", "client key file for TLS to NATS", &tls.Key),
	}
}

// splitList splits a comma-separated list, keeping commas inside {...} (glob alternatives).
func splitList(v string) []string { return settings.SplitList(v) }

// Flags are the sensor's command-line flags, bound to a pflag.FlagSet by BindFlags. Their values are
// applied by Load over the file and the environment, and only when given.
type Flags = settings.Flags

// BindFlags registers --config and one flag per key on fs, showing the defaults in --help.
func BindFlags(fs *pflag.FlagSet) *Flags {
	def := DefaultConfig()
	return settings.Bind(fs, table(&def))
}

// Sources are where Load reads a configuration from, lowest precedence first after the defaults.
type Sources = settings.Sources

// Load builds a Config from defaults, then the file, then the environment, then the flags, and
// validates it after filling Host and BootID from the machine. Errors name the key, variable or flag.
func Load(src Sources) (Config, error) {
	cfg := DefaultConfig()
	err := settings.Load(&cfg, table(&cfg), src, func() error {
		return errors.Join(cfg.Resolve(), cfg.Validate())
	})
	return cfg, err
}
