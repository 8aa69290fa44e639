package settings

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

// EnvPrefix starts every environment variable a table reads: a key such as batch.max_delay is read
// from FACTSTREAM_BATCH_MAX_DELAY.
const EnvPrefix = "FACTSTREAM_"

// ConfigEnv names the configuration file when --config is not given.
const ConfigEnv = EnvPrefix + "CONFIG"

// Setting is one configuration key: its YAML path, help text and the field it sets.
type Setting struct {
	Key  string // dotted YAML path
	Help string
	// Ptr is a *string, *[]string, *int, *uint32, *time.Duration or a pflag.Value (such as a size)
	// inside the configuration struct the YAML file decodes into.
	Ptr any
	// Alias is an older flag name that sets the key too (empty: none).
	Alias string
}

// New is the setting key, described by help, that sets *ptr.
func New(key, help string, ptr any) Setting { return Setting{Key: key, Help: help, Ptr: ptr} }

// WithAlias is s with an older flag name, alias, that sets the key too.
func (s Setting) WithAlias(alias string) Setting { s.Alias = alias; return s }

// Flag is the flag name of a key: batch.max_delay → batch-max-delay.
func (s Setting) Flag() string { return strings.NewReplacer(".", "-", "_", "-").Replace(s.Key) }

// Env is the environment variable of a key: batch.max_delay → FACTSTREAM_BATCH_MAX_DELAY.
func (s Setting) Env() string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(s.Key))
}

// set parses v into the setting's field; a list setting takes comma-separated values.
func (s Setting) set(v string) error {
	switch p := s.Ptr.(type) {
	case *string:
		*p = v
	case *[]string:
		*p = SplitList(v)
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
	case pflag.Value:
		return p.Set(v)
	default:
		return fmt.Errorf("unsupported setting type %T", p)
	}
	return nil
}

// get formats the field, for --help.
func (s Setting) get() string {
	switch p := s.Ptr.(type) {
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
	case pflag.Value:
		return p.String()
	}
	return ""
}

func (s Setting) typeName() string {
	switch p := s.Ptr.(type) {
	case *[]string:
		return "globs"
	case *int, *uint32:
		return "int"
	case *time.Duration:
		return "duration"
	case pflag.Value:
		return p.Type()
	}
	return "string"
}

// SplitList splits a comma-separated list, keeping commas inside {...} (glob alternatives).
func SplitList(v string) []string {
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

// Flags are a table's command-line flags, bound to a pflag.FlagSet by Bind. Their values are applied by
// Apply over the file and the environment, and only when given.
type Flags struct {
	config *string
	vals   map[string]*flagValue
}

// Bind registers --config and one flag per key of table on fs (and its alias, if any), showing the
// values table's pointers hold now as the defaults in --help.
func Bind(fs *pflag.FlagSet, table []Setting) *Flags {
	f := &Flags{vals: map[string]*flagValue{}}
	f.config = fs.String("config", "", "YAML configuration file (also "+ConfigEnv+"); flags > "+EnvPrefix+"* variables > file > defaults")
	for _, s := range table {
		_, list := s.Ptr.(*[]string)
		v := &flagValue{def: s.get(), typ: s.typeName(), list: list}
		f.vals[s.Key] = v
		fs.Var(v, s.Flag(), s.Help+" (env "+s.Env()+")")
		if s.Alias != "" {
			fs.Var(v, s.Alias, "the same as --"+s.Flag())
		}
	}
	return f
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

// Sources are where a configuration is read from, lowest precedence first after the defaults.
type Sources struct {
	// File is a YAML file; empty means the one named by --config or FACTSTREAM_CONFIG, if any.
	File string
	// Env is the environment as os.Environ returns it.
	Env []string
	// Flags are the bound flags, after parsing; nil for none.
	Flags *Flags
}

// ConfigFile is the YAML file src names: --config, else File, else $FACTSTREAM_CONFIG; empty for none.
func (src Sources) ConfigFile() string {
	if src.Flags != nil && *src.Flags.config != "" {
		return *src.Flags.config
	}
	if src.File != "" {
		return src.File
	}
	return envMap(src.Env)[ConfigEnv]
}

// Load fills dst, the struct table's pointers point into, from src's file (unknown keys are errors),
// then its environment, then its flags, and then calls validate (nil: none) to check the result. A file
// that cannot be read or decoded is returned alone; otherwise Load returns one error per bad variable or
// flag, each naming the key and where it came from, joined with validate's.
func Load(dst any, table []Setting, src Sources, validate func() error) error {
	if file := src.ConfigFile(); file != "" {
		if err := ReadFile(dst, file); err != nil {
			return err
		}
	}
	errs := Apply(table, src.Env, src.Flags)
	if validate != nil {
		errs = append(errs, validate())
	}
	return errors.Join(errs...)
}

// Apply sets the keys of table from the environment environ, then from flags (nil for none), and
// returns one error per bad value, e.g. `batch.max_delay (FACTSTREAM_BATCH_MAX_DELAY): "x": not a
// duration like 5ms or 2m`.
func Apply(table []Setting, environ []string, flags *Flags) []error {
	env := envMap(environ)
	var errs []error
	for _, s := range table {
		if v, ok := env[s.Env()]; ok {
			if err := s.set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): %w", s.Key, s.Env(), err))
			}
		}
		if flags == nil {
			continue
		}
		if fv := flags.vals[s.Key]; fv != nil && fv.set {
			if err := s.set(strings.Join(fv.vals, ",")); err != nil {
				errs = append(errs, fmt.Errorf("%s (--%s): %w", s.Key, s.Flag(), err))
			}
		}
	}
	return errs
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

// ReadFile decodes the YAML file name over dst; unknown keys are errors.
func ReadFile(dst any, name string) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("reading config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(dst); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", name, err)
	}
	return nil
}
