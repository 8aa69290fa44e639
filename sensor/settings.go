package sensor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix starts every environment variable the sensor reads: a key such as batch.max_delay is read
// from FACTSTREAM_BATCH_MAX_DELAY.
const EnvPrefix = "FACTSTREAM_"

// ConfigEnv names the configuration file when --config is not given.
const ConfigEnv = EnvPrefix + "CONFIG"

// setting is one configuration key: its YAML path, help text and the field it sets.
type setting struct {
	key  string // dotted YAML path
	help string
	ptr  any // *string, *[]string, *int, *uint32, *time.Duration or *ByteSize inside a Config
}

// flag is the flag name of a key: batch.max_delay → batch-max-delay.
func (s setting) flag() string { return strings.NewReplacer(".", "-", "_", "-").Replace(s.key) }

// env is the environment variable of a key: batch.max_delay → FACTSTREAM_BATCH_MAX_DELAY.
func (s setting) env() string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(s.key))
}

// settings lists every key, bound to the fields of c. It is the one list the file, the environment,
// the flags and --help agree on.
func settings(c *Config) []setting {
	return []setting{
		{"host", "node name used in subjects (default: the host name)", &c.Host},
		{"boot_id", "boot id (default: " + bootIDFile + ")", &c.BootID},
		{"paths", "monitored host paths as globs (/srv/app, /srv/app/**, /srv/app/*.conf); comma-separated or repeated", &c.Paths},
		{"state_dir", "directory for sequence marks, the kernel checkpoint and the spool", &c.StateDir},
		{"host_root", "where the host's root is mounted (running in a container)", &c.HostRoot},
		{"probes.set", "probe set: auto, lsm or tracepoint", &c.Probes.Set},
		{"probes.pin_path", "bpffs directory to pin probes in so the kernel records across restarts (empty: no pinning)", &c.Probes.PinPath},
		{"probes.ring_size", "ring buffer size, a power of two (0: the probes' default)", &c.Probes.RingSize},
		{"probes.tracked_inodes", "capacity of the kernel's tracked inode set (0: the probes' default)", &c.Probes.TrackedInodes},
		{"probes.wakeup_bytes", "the probes wake the sensor once this much waits in the ring; less waits for its 5ms poll (0: every record, lowest latency, highest cost)", &c.Probes.WakeupBytes},
		{"nats.url", "external NATS URL(s), comma-separated; empty starts an embedded server", &c.NATS.URL},
		{"nats.creds_file", "NATS credentials file", &c.NATS.CredsFile},
		{"nats.nkey_seed_file", "file with a NATS user nkey seed", &c.NATS.NkeySeedFile},
		{"nats.tls.ca", "CA file for TLS to NATS", &c.NATS.TLS.CA},
		{"nats.tls.cert", "client certificate file for TLS to NATS", &c.NATS.TLS.Cert},
		{"nats.tls.key", "client key file for TLS to NATS", &c.NATS.TLS.Key},
		{"nats.embedded.store_dir", "JetStream store of the embedded server (empty: <state_dir>/jetstream)", &c.NATS.Embedded.StoreDir},
		{"nats.embedded.listen", "address the embedded server listens on; beyond loopback it needs nats.embedded.tls", &c.NATS.Embedded.Listen},
		{"nats.embedded.tls.cert", "server certificate file of the embedded server (PEM)", &c.NATS.Embedded.TLS.Cert},
		{"nats.embedded.tls.key", "server key file of the embedded server (PEM)", &c.NATS.Embedded.TLS.Key},
		{"nats.stream.partitions", "FACT_RAW virtual partitions on creation (0: 64)", &c.NATS.Stream.Partitions},
		{"nats.stream.max_age", "FACT_RAW retention by age on creation (0: 7 days)", &c.NATS.Stream.MaxAge},
		{"nats.stream.max_bytes", "FACT_RAW retention by size on creation (0: unlimited)", &c.NATS.Stream.MaxBytes},
		{"nats.stream.duplicates", "FACT_RAW duplicate window (0: 2m)", &c.NATS.Stream.Duplicates},
		{"nats.stream.replicas", "FACT_RAW replicas on creation (0: 1)", &c.NATS.Stream.Replicas},
		{"batch.max_events", "events per batch at most", &c.Batch.MaxEvents},
		{"batch.max_bytes", "encoded bytes per batch at most", &c.Batch.MaxBytes},
		{"batch.max_delay", "how long an event may wait in a batch", &c.Batch.MaxDelay},
		{"spool.memory_bytes", "batches held in memory while NATS is away (0: 64MiB)", &c.Spool.MemoryBytes},
		{"spool.max_bytes", "disk spool size after memory (0: 1GiB)", &c.Spool.MaxBytes},
		{"metrics.listen", "address for /metrics, /healthz and /readyz (empty: none)", &c.Metrics.Listen},
		{"log.level", "debug, info, warn or error", &c.Log.Level},
		{"log.format", "auto (console on a terminal, else JSON), json or console", &c.Log.Format},
	}
}

// set parses v into the setting's field; a list setting takes comma-separated values.
func (s setting) set(v string) error {
	switch p := s.ptr.(type) {
	case *string:
		*p = v
	case *[]string:
		*p = splitList(v)
	case *int:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q: not an integer", v)
		}
		*p = n
	case *uint32:
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
		if err != nil {
			return fmt.Errorf("%q: not an unsigned 32-bit integer", v)
		}
		*p = uint32(n)
	case *time.Duration:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q: not a duration like 5ms or 2m", v)
		}
		*p = d
	case *ByteSize:
		b, err := ParseByteSize(v)
		if err != nil {
			return err
		}
		*p = b
	default:
		return fmt.Errorf("unsupported setting type %T", p)
	}
	return nil
}

// get formats the field, for --help.
func (s setting) get() string {
	switch p := s.ptr.(type) {
	case *[]string:
		return strings.Join(*p, ",")
	case *string:
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *uint32:
		return strconv.FormatUint(uint64(*p), 10)
	case *time.Duration:
		return p.String()
	case *ByteSize:
		return p.String()
	}
	return ""
}

// splitList splits a comma-separated list, keeping commas inside {...} (glob alternatives).
func splitList(v string) []string {
	var out []string
	depth, start := 0, 0
	for i := 0; i <= len(v); i++ {
		if i < len(v) {
			switch v[i] {
			case '{':
				depth++
				continue
			case '}':
				depth--
				continue
			case ',':
				if depth > 0 {
					continue
				}
			default:
				continue
			}
		}
		if item := strings.TrimSpace(v[start:i]); item != "" {
			out = append(out, item)
		}
		start = i + 1
	}
	return out
}

// Flags are the sensor's command-line flags, bound to a pflag.FlagSet by BindFlags. Their values are
// applied by Load over the file and the environment, and only when given.
type Flags struct {
	config *string
	vals   map[string]*flagValue
}

// BindFlags registers --config and one flag per key on fs, showing the defaults in --help.
func BindFlags(fs *pflag.FlagSet) *Flags {
	def := DefaultConfig()
	f := &Flags{vals: map[string]*flagValue{}}
	f.config = fs.String("config", "", "YAML configuration file (also "+ConfigEnv+"); flags > "+EnvPrefix+"* variables > file > defaults")
	for _, s := range settings(&def) {
		v := &flagValue{def: s.get(), typ: typeName(s.ptr), list: isList(s.ptr)}
		f.vals[s.key] = v
		fs.Var(v, s.flag(), s.help+" (env "+s.env()+")")
	}
	return f
}

func isList(p any) bool { _, ok := p.(*[]string); return ok }

func typeName(p any) string {
	switch p.(type) {
	case *[]string:
		return "globs"
	case *int, *uint32:
		return "int"
	case *time.Duration:
		return "duration"
	case *ByteSize:
		return "size"
	}
	return "string"
}

// flagValue holds what a flag was given, as text; lists accumulate over repeated flags.
type flagValue struct {
	def, typ string
	list     bool
	set      bool
	vals     []string
}

func (v *flagValue) String() string {
	if !v.set {
		return v.def
	}
	return strings.Join(v.vals, ",")
}

func (v *flagValue) Set(s string) error {
	if !v.list {
		v.vals = v.vals[:0]
	}
	v.vals, v.set = append(v.vals, s), true
	return nil
}

func (v *flagValue) Type() string { return v.typ }

// Sources are where Load reads a configuration from, lowest precedence first after the defaults.
type Sources struct {
	// File is a YAML file; empty means the one named by --config or FACTSTREAM_CONFIG, if any.
	File string
	// Env is the environment as os.Environ returns it.
	Env []string
	// Flags are the bound flags, after parsing; nil for none.
	Flags *Flags
}

// Load builds a Config from defaults, then the file, then the environment, then the flags, and
// validates it after filling Host and BootID from the machine. Errors name the key, variable or flag.
func Load(src Sources) (Config, error) {
	cfg := DefaultConfig()
	env := envMap(src.Env)
	file := src.File
	if src.Flags != nil && *src.Flags.config != "" {
		file = *src.Flags.config
	} else if file == "" {
		file = env[ConfigEnv]
	}
	if file != "" {
		if err := loadFile(&cfg, file); err != nil {
			return cfg, err
		}
	}
	var errs []error
	for _, s := range settings(&cfg) {
		if v, ok := env[s.env()]; ok {
			if err := s.set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): %w", s.key, s.env(), err))
			}
		}
		if src.Flags == nil {
			continue
		}
		if fv := src.Flags.vals[s.key]; fv != nil && fv.set {
			if err := s.set(strings.Join(fv.vals, ",")); err != nil {
				errs = append(errs, fmt.Errorf("%s (--%s): %w", s.key, s.flag(), err))
			}
		}
	}
	if err := cfg.Resolve(); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(append(errs, cfg.Validate())...)
}

func envMap(environ []string) map[string]string {
	m := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, EnvPrefix) {
			m[k] = v
		}
	}
	return m
}

// loadFile decodes a YAML file over cfg; unknown keys are errors.
func loadFile(cfg *Config, name string) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", name, err)
	}
	return nil
}
