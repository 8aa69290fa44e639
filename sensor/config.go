package sensor

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/glob"
	"github.com/factstream/factstream/internal/natsserver"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/hasher"
	"github.com/factstream/factstream/sensor/publish"
)

// Config is everything a sensor is configured with. Each part is a small struct of its own; Load fills
// one from defaults, a YAML file, FACTSTREAM_* variables and flags (see settings.go for the keys), and
// Validate checks it.
type Config struct {
	// Host names the node in subjects and batches; the machine's host name by default.
	Host string `yaml:"host"`
	// BootID is the node's boot id; read from /proc/sys/kernel/random/boot_id when empty.
	BootID string `yaml:"boot_id"`
	// Paths are the monitored host paths, as globs (see package glob).
	Paths []string `yaml:"paths"`
	// StateDir holds the sequence marks, the kernel checkpoint and the spool.
	StateDir string `yaml:"state_dir"`
	// HostRoot is where the host's root is mounted when the sensor runs in a container ("/" on the host).
	HostRoot string `yaml:"host_root"`
	// VerifyInterval is how often the sensor rescans every monitored filesystem and hashes its regular
	// files (the weekly comparison of PCI DSS 11.5.2); 0 never does on its own.
	VerifyInterval time.Duration `yaml:"verify_interval"`

	Probes  ProbesConfig  `yaml:"probes"`
	NATS    NATSConfig    `yaml:"nats"`
	Batch   BatchConfig   `yaml:"batch"`
	Spool   SpoolConfig   `yaml:"spool"`
	Hash    HashConfig    `yaml:"hash"`
	Metrics MetricsConfig `yaml:"metrics"`
	Log     LogConfig     `yaml:"log"`
}

// HashConfig is how the sensor hashes a monitored file's content once its last writer has released it
// (see package hasher).
type HashConfig struct {
	// Algorithm is sha256 (the default), sha512, or none: no hashing, and the probes do not watch releases.
	Algorithm string `yaml:"algorithm"`
	// MaxSize: a larger file is reported too_large, never hashed in part.
	MaxSize ByteSize `yaml:"max_size"`
	// BytesPerSecond paces reading, shared by the workers.
	BytesPerSecond ByteSize `yaml:"bytes_per_second"`
	// Workers hash this many files at once.
	Workers int `yaml:"workers"`
}

// HashNone is HashConfig.Algorithm when nothing is hashed.
const HashNone = "none"

// Enabled reports whether files are hashed (and the probes report releases).
func (h HashConfig) Enabled() bool { return h.Algorithm != HashNone }

// ProbesConfig selects and sizes the kernel probes.
type ProbesConfig struct {
	// Set is auto, lsm or tracepoint.
	Set string `yaml:"set"`
	// PinPath, when set (a directory on a BPF filesystem, e.g. /sys/fs/bpf/factstream), pins the probes'
	// maps and links there: the kernel keeps recording while the sensor restarts or after it is killed,
	// and the next run continues the same probes and counts exactly what the previous one lost.
	// Removing the directory detaches them.
	PinPath string `yaml:"pin_path"`
	// RingSize is the ring buffer's size in bytes (a power of two); the probes' default when zero.
	RingSize ByteSize `yaml:"ring_size"`
	// TrackedInodes bounds the kernel's tracked set; the probes' default when zero.
	TrackedInodes uint32 `yaml:"tracked_inodes"`
	// WakeupBytes: the probes wake the sensor once this many bytes wait in the ring buffer; fewer wait
	// for the sensor's poll (every PollInterval). 0 wakes it for every record: the lowest latency, and
	// on a busy monitored path the highest cost.
	WakeupBytes ByteSize `yaml:"wakeup_bytes"`
}

// DefaultWakeupBytes is ProbesConfig.WakeupBytes by default: about 500 short records.
const DefaultWakeupBytes = 64 << 10

// PollInterval is how often the sensor reads the ring buffer when records below WakeupBytes did not
// wake it: the most a record waits there.
const PollInterval = 5 * time.Millisecond

// NATSConfig says where raw events go: an embedded server (URL empty) or an external one.
type NATSConfig struct {
	// URL of an external server or cluster (comma-separated); empty starts an embedded server.
	URL string `yaml:"url"`
	// CredsFile is a NATS credentials file (JWT and nkey seed).
	CredsFile string `yaml:"creds_file"`
	// NkeySeedFile is a file holding a user nkey seed.
	NkeySeedFile string `yaml:"nkey_seed_file"`
	// TLS configures TLS to an external server.
	TLS TLSConfig `yaml:"tls"`
	// Embedded configures the embedded server.
	Embedded EmbeddedConfig `yaml:"embedded"`
	// Stream configures FACT_RAW when the sensor creates it.
	Stream StreamConfig `yaml:"stream"`
}

// TLSConfig are the files for TLS to NATS; any set file turns TLS on.
type TLSConfig struct {
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Enabled reports whether any TLS file is set.
func (t TLSConfig) Enabled() bool { return t.CA != "" || t.Cert != "" || t.Key != "" }

// EmbeddedConfig configures the embedded NATS server.
type EmbeddedConfig struct {
	// StoreDir is JetStream's file store; StateDir/jetstream when empty.
	StoreDir string `yaml:"store_dir"`
	// Listen is the address other clients (the nats CLI, a resolver) attach to; beyond loopback it
	// requires TLS.
	Listen string `yaml:"listen"`
	// TLS is the server's certificate and key, for listening beyond loopback.
	TLS ServerTLSConfig `yaml:"tls"`
}

// ServerTLSConfig are the embedded server's certificate and key files (PEM).
type ServerTLSConfig struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// StreamConfig is what the sensor creates FACT_RAW with when it is missing.
type StreamConfig struct {
	Partitions int           `yaml:"partitions"`
	MaxAge     time.Duration `yaml:"max_age"`
	MaxBytes   ByteSize      `yaml:"max_bytes"`
	Duplicates time.Duration `yaml:"duplicates"`
	Replicas   int           `yaml:"replicas"`
}

// Raw is the FACT_RAW configuration c asks for.
func (c StreamConfig) Raw() publish.RawStreamConfig {
	return publish.RawStreamConfig{Partitions: c.Partitions, MaxAge: c.MaxAge, MaxBytes: int64(c.MaxBytes),
		Duplicates: c.Duplicates, Replicas: c.Replicas}
}

// BatchConfig bounds a batch: it is published when any bound is reached.
type BatchConfig struct {
	MaxEvents int           `yaml:"max_events"`
	MaxBytes  ByteSize      `yaml:"max_bytes"`
	MaxDelay  time.Duration `yaml:"max_delay"`
}

// SpoolConfig bounds what is held while NATS is away: memory first, then the disk spool.
type SpoolConfig struct {
	MemoryBytes ByteSize `yaml:"memory_bytes"`
	MaxBytes    ByteSize `yaml:"max_bytes"`
}

// MetricsConfig is where /metrics, /healthz and /readyz are served; empty Listen serves nothing.
type MetricsConfig struct {
	Listen string `yaml:"listen"`
}

// LogConfig sets the log level and format (auto: console on a terminal, JSON otherwise).
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Defaults.
const (
	DefaultStateDir       = "/var/lib/factstream"
	DefaultEmbeddedListen = "127.0.0.1:4222"
	DefaultMetricsListen  = "127.0.0.1:9464"
	DefaultMaxEvents      = 2048
	DefaultMaxBatchBytes  = 512 << 10
	DefaultMaxDelay       = 5 * time.Millisecond
	DefaultVerifyInterval = 7 * 24 * time.Hour
	bootIDFile            = "/proc/sys/kernel/random/boot_id"
)

// DefaultConfig returns the configuration used where nothing else is said. Host and BootID are left
// empty: Resolve fills them from the machine.
func DefaultConfig() Config {
	return Config{
		StateDir:       DefaultStateDir,
		HostRoot:       "/",
		VerifyInterval: DefaultVerifyInterval,
		Probes:         ProbesConfig{Set: "auto", WakeupBytes: DefaultWakeupBytes},
		NATS:           NATSConfig{Embedded: EmbeddedConfig{Listen: DefaultEmbeddedListen}},
		Batch:          BatchConfig{MaxEvents: DefaultMaxEvents, MaxBytes: DefaultMaxBatchBytes, MaxDelay: DefaultMaxDelay},
		Hash: HashConfig{Algorithm: hasher.DefaultAlgorithm, MaxSize: hasher.DefaultMaxSize,
			BytesPerSecond: hasher.DefaultBytesPerSecond, Workers: hasher.DefaultWorkers},
		Metrics: MetricsConfig{Listen: DefaultMetricsListen},
		Log:     LogConfig{Level: "info", Format: "auto"},
	}
}

// Resolve fills Host and BootID from the machine when they are empty.
func (c *Config) Resolve() error {
	if c.Host == "" {
		h, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("host: reading the host name: %w", err)
		}
		c.Host = h
	}
	if c.BootID == "" {
		b, err := os.ReadFile(bootIDFile)
		if err != nil {
			return fmt.Errorf("boot_id: reading %s: %w", bootIDFile, err)
		}
		c.BootID = strings.TrimSpace(string(b))
	}
	return nil
}

// Validate checks every field and returns one error per bad key, joined; each names the key and says
// why, e.g. `paths[2]: "etc/**": not absolute`.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	c.validateIdentity(bad)
	if len(c.Paths) == 0 {
		bad("paths", "empty: name at least one monitored path")
	} else if _, err := glob.NewSet("paths", c.Paths); err != nil {
		errs = append(errs, err)
	}
	if !filepath.IsAbs(c.StateDir) {
		bad("state_dir", "%q: not absolute", c.StateDir)
	}
	if !filepath.IsAbs(c.HostRoot) {
		bad("host_root", "%q: not absolute", c.HostRoot)
	}
	if c.VerifyInterval < 0 {
		bad("verify_interval", "%s: negative (0 disables)", c.VerifyInterval)
	}
	c.Probes.validate(bad)
	c.NATS.validate(bad)
	c.Batch.validate(bad)
	c.Hash.validate(bad)
	if c.Spool.MemoryBytes < 0 || c.Spool.MaxBytes < 0 {
		bad("spool", "sizes must not be negative")
	}
	if c.Metrics.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Listen); err != nil {
			bad("metrics.listen", "%q: %v", c.Metrics.Listen, err)
		}
	}
	c.Log.validate(bad)
	return errors.Join(errs...)
}

type badFunc func(key, format string, args ...any)

func (h HashConfig) validate(bad badFunc) {
	if _, ok := schemas.ParseHashAlg(h.Algorithm); !ok && h.Algorithm != HashNone {
		bad("hash.algorithm", "%q: want sha256, sha512 or %s", h.Algorithm, HashNone)
	}
	if h.MaxSize <= 0 {
		bad("hash.max_size", "%d: want more than 0", h.MaxSize)
	}
	if h.BytesPerSecond < 0 {
		bad("hash.bytes_per_second", "%d: must not be negative (0: unpaced)", h.BytesPerSecond)
	}
	if h.Workers < 1 || h.Workers > 64 {
		bad("hash.workers", "%d: want 1..64", h.Workers)
	}
}

// validateIdentity checks the host name and boot id, which become subject tokens and message ids.
func (c *Config) validateIdentity(bad badFunc) {
	switch {
	case c.Host == "":
		bad("host", "empty")
	case strings.ContainsAny(c.Host, ".*> \t\r\n:"):
		bad("host", "%q: must not contain '.', '*', '>', ':' or white space (it is a subject token)", c.Host)
	}
	switch {
	case c.BootID == "":
		bad("boot_id", "empty")
	case len(c.BootID) > 64 || strings.ContainsAny(c.BootID, ": \t\r\n"):
		bad("boot_id", "%q: at most 64 bytes, no ':' or white space", c.BootID)
	}
}

func (p *ProbesConfig) validate(bad badFunc) {
	switch p.Set {
	case "auto", "lsm", "tracepoint":
	default:
		bad("probes.set", "%q: want auto, lsm or tracepoint", p.Set)
	}
	if p.PinPath != "" && !filepath.IsAbs(p.PinPath) {
		bad("probes.pin_path", "%q: not absolute", p.PinPath)
	}
	if r := p.RingSize; r != 0 && (r < 4096 || r > 1<<30 || r&(r-1) != 0) {
		bad("probes.ring_size", "%d: must be a power of two from 4096 to 1GiB", r)
	}
	if ring := cmp.Or(p.RingSize, bpf.DefaultRingSize); p.WakeupBytes >= ring {
		bad("probes.wakeup_bytes", "%d: must be less than the ring buffer's %d bytes", p.WakeupBytes, ring)
	}
}

func (e *EmbeddedConfig) validate(bad badFunc) {
	host, _, err := net.SplitHostPort(e.Listen)
	if err != nil {
		bad("nats.embedded.listen", "%q: %v", e.Listen, err)
	}
	if (e.TLS.Cert == "") != (e.TLS.Key == "") {
		bad("nats.embedded.tls", "cert and key go together")
	}
	if err == nil && e.TLS.Cert == "" && !natsserver.IsLoopback(host) {
		bad("nats.embedded.listen", "%q is beyond loopback: set nats.embedded.tls.cert and nats.embedded.tls.key, or clients would send their credentials and read the record in the clear", e.Listen)
	}
}

func (n *NATSConfig) validate(bad badFunc) {
	if n.URL == "" {
		if n.CredsFile != "" || n.NkeySeedFile != "" || n.TLS.Enabled() {
			bad("nats.url", "empty (embedded server) but credentials or TLS are set; they apply to an external server")
		}
		n.Embedded.validate(bad)
	}
	validateClient(n.URL, n.CredsFile, n.NkeySeedFile, n.TLS, bad)
	s := n.Stream
	if s.Partitions < 0 || s.MaxAge < 0 || s.MaxBytes < 0 || s.Duplicates < 0 || s.Replicas < 0 || s.Replicas > 5 {
		bad("nats.stream", "negative value, or more than 5 replicas")
	}
}

// ValidateNATSClient checks the keys NATSClientSettings names, as the sensor does, and returns one error
// per bad key, joined.
func ValidateNATSClient(natsURL, creds, nkey string, tls TLSConfig) error {
	var errs []error
	validateClient(natsURL, creds, nkey, tls, func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	})
	return errors.Join(errs...)
}

func validateClient(natsURL, creds, nkey string, tls TLSConfig, bad badFunc) {
	for _, u := range splitURLs(natsURL) {
		if p, err := url.Parse(u); err != nil || p.Host == "" {
			bad("nats.url", "%q: not a URL like nats://host:4222", u)
		}
	}
	if creds != "" && nkey != "" {
		bad("nats.nkey_seed_file", "set together with nats.creds_file; use one")
	}
	if (tls.Cert == "") != (tls.Key == "") {
		bad("nats.tls", "cert and key go together")
	}
}

func splitURLs(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

func (b *BatchConfig) validate(bad badFunc) {
	if b.MaxEvents < 1 || b.MaxEvents > 1<<20 {
		bad("batch.max_events", "%d: want 1..1048576", b.MaxEvents)
	}
	if b.MaxBytes < 1024 || b.MaxBytes > 8<<20 {
		bad("batch.max_bytes", "%d: want 1KiB..8MiB (and below the server's max payload)", b.MaxBytes)
	}
	if b.MaxDelay <= 0 || b.MaxDelay > time.Minute {
		bad("batch.max_delay", "%s: want more than 0 and at most 1m", b.MaxDelay)
	}
}

func (l *LogConfig) validate(bad badFunc) {
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q: want debug, info, warn or error", l.Level)
	}
	switch l.Format {
	case "auto", "json", "console":
	default:
		bad("log.format", "%q: want auto, json or console", l.Format)
	}
}
