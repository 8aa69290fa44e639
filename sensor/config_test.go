package sensor

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// base is the environment every case starts from: what Resolve would read from the machine.
var baseEnv = []string{"FACTSTREAM_HOST=node1", "FACTSTREAM_BOOT_ID=b00t", "FACTSTREAM_PATHS=/etc/**"}

func TestLoadPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sensor.yaml")
	writeFile(t, file, `
paths: ["/srv/app/**", "/srv/app/*.conf"]
state_dir: /var/lib/fs-file
batch:
  max_delay: 7ms
  max_bytes: 64KiB
nats:
  url: nats://file:4222
`)
	tests := []struct {
		name  string
		env   []string
		flags []string
		check func(t *testing.T, c Config)
	}{
		{"defaults", nil, nil, func(t *testing.T, c Config) {
			if c.StateDir != DefaultStateDir || c.Batch.MaxDelay != DefaultMaxDelay || c.NATS.URL != "" {
				t.Errorf("defaults not applied: %+v", c)
			}
		}},
		{"file over defaults", []string{"FACTSTREAM_CONFIG=" + file}, nil, func(t *testing.T, c Config) {
			if c.StateDir != "/var/lib/fs-file" || c.Batch.MaxDelay != 7*time.Millisecond || c.Batch.MaxBytes != 64<<10 {
				t.Errorf("file not applied: %+v", c)
			}
			if c.Batch.MaxEvents != DefaultMaxEvents {
				t.Errorf("a key the file does not set lost its default: %d", c.Batch.MaxEvents)
			}
		}},
		{"env over file", []string{"FACTSTREAM_CONFIG=" + file, "FACTSTREAM_BATCH_MAX_DELAY=9ms", "FACTSTREAM_PATHS=/a/**,/b/{x,y}/*.conf"}, nil, func(t *testing.T, c Config) {
			if c.Batch.MaxDelay != 9*time.Millisecond {
				t.Errorf("env not applied: %s", c.Batch.MaxDelay)
			}
			if !slices.Equal(c.Paths, []string{"/a/**", "/b/{x,y}/*.conf"}) {
				t.Errorf("paths from env: %q", c.Paths)
			}
		}},
		{"flag over env", []string{"FACTSTREAM_CONFIG=" + file, "FACTSTREAM_BATCH_MAX_DELAY=9ms"},
			[]string{"--batch-max-delay=11ms", "--paths=/x/**", "--paths=/y"}, func(t *testing.T, c Config) {
				if c.Batch.MaxDelay != 11*time.Millisecond || !slices.Equal(c.Paths, []string{"/x/**", "/y"}) {
					t.Errorf("flags not applied: %s %q", c.Batch.MaxDelay, c.Paths)
				}
				if c.NATS.URL != "nats://file:4222" {
					t.Errorf("file value lost: %q", c.NATS.URL)
				}
			}},
		{"--config over env", []string{"FACTSTREAM_CONFIG=/nonexistent"}, []string{"--config=" + file}, func(t *testing.T, c Config) {
			if c.StateDir != "/var/lib/fs-file" {
				t.Errorf("--config not used")
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("sensor", pflag.ContinueOnError)
			flags := BindFlags(fs)
			if err := fs.Parse(tt.flags); err != nil {
				t.Fatal(err)
			}
			c, err := Load(Sources{Env: append(slices.Clone(baseEnv), tt.env...), Flags: flags})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		file  string
		env   []string
		flags []string
		want  []string
	}{
		{"relative glob", "", []string{"FACTSTREAM_PATHS=/ok/**,/fine,etc/**"}, nil, []string{`paths[2]: "etc/**": not absolute`}},
		{"bad glob", "", nil, []string{"--paths=/x/[y"}, []string{`paths[0]: "/x/[y": bad pattern`}},
		{"bad duration in env", "", []string{"FACTSTREAM_BATCH_MAX_DELAY=soon"}, nil, []string{`batch.max_delay (FACTSTREAM_BATCH_MAX_DELAY): "soon": not a duration`}},
		{"bad size in flag", "", nil, []string{"--batch-max-bytes=lots"}, []string{`batch.max_bytes (--batch-max-bytes): "lots": not a size`}},
		{"out of range", "", []string{"FACTSTREAM_BATCH_MAX_EVENTS=0", "FACTSTREAM_BATCH_MAX_DELAY=0s"}, nil,
			[]string{"batch.max_events: 0: want 1..1048576", "batch.max_delay: 0s: want more than 0"}},
		{"unknown file key", "bacth:\n  max_events: 3\n", nil, nil, []string{"field bacth not found"}},
		{"bad size in file", "batch:\n  max_bytes: huge\n", nil, nil, []string{`line 2: "huge": not a size`}},
		{"probe set", "", []string{"FACTSTREAM_PROBES_SET=kprobe"}, nil, []string{`probes.set: "kprobe": want auto, lsm or tracepoint`}},
		{"ring too big", "", []string{"FACTSTREAM_PROBES_RING_SIZE=8GiB"}, nil,
			[]string{"probes.ring_size: 8589934592: must be a power of two from 4096 to 1GiB"}},
		{"wakeup past the ring", "", []string{"FACTSTREAM_PROBES_RING_SIZE=64KiB", "FACTSTREAM_PROBES_WAKEUP_BYTES=64KiB"}, nil,
			[]string{"probes.wakeup_bytes: 65536: must be less than the ring buffer's 65536 bytes"}},
		{"host token", "", []string{"FACTSTREAM_HOST=a.b"}, nil, []string{`host: "a.b": must not contain '.'`}},
		{"creds with embedded", "", []string{"FACTSTREAM_NATS_CREDS_FILE=/x.creds"}, nil, []string{"nats.url: empty (embedded server) but credentials"}},
		{"bad url", "", []string{"FACTSTREAM_NATS_URL=::nope"}, nil, []string{`nats.url: "::nope": not a URL`}},
		{"relative state dir", "", nil, []string{"--state-dir=state"}, []string{`state_dir: "state": not absolute`}},
		{"tls half", "", []string{"FACTSTREAM_NATS_URL=tls://h:4222", "FACTSTREAM_NATS_TLS_CERT=/c.pem"}, nil, []string{"nats.tls: cert and key go together"}},
		{"embedded beyond loopback", "", []string{"FACTSTREAM_NATS_EMBEDDED_LISTEN=0.0.0.0:4222"}, nil,
			[]string{`nats.embedded.listen: "0.0.0.0:4222" is beyond loopback: set nats.embedded.tls.cert`}},
		{"embedded tls half", "", nil, []string{"--nats-embedded-tls-key=/k.pem"}, []string{"nats.embedded.tls: cert and key go together"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := slices.Clone(baseEnv)
			if tt.file != "" {
				f := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".yaml")
				writeFile(t, f, tt.file)
				env = append(env, "FACTSTREAM_CONFIG="+f)
			}
			fs := pflag.NewFlagSet("sensor", pflag.ContinueOnError)
			flags := BindFlags(fs)
			if err := fs.Parse(tt.flags); err != nil {
				t.Fatal(err)
			}
			_, err := Load(Sources{Env: append(env, tt.env...), Flags: flags})
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestHelpShowsDefaults(t *testing.T) {
	fs := pflag.NewFlagSet("sensor", pflag.ContinueOnError)
	BindFlags(fs)
	usage := fs.FlagUsages()
	for _, want := range []string{`--batch-max-delay duration`, `(default 5ms)`, `(default "/var/lib/factstream")`, "FACTSTREAM_NATS_URL", `--batch-max-bytes size`, `(default 512KiB)`} {
		if !strings.Contains(usage, want) {
			t.Errorf("--help does not show %q:\n%s", want, usage)
		}
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want ByteSize
		str  string
	}{
		{"512", 512, "512"}, {"64KiB", 64 << 10, "64KiB"}, {"8 MiB", 8 << 20, "8MiB"}, {"1GiB", 1 << 30, "1GiB"},
		{"2MB", 2e6, "2000000"}, {"1536KiB", 1536 << 10, "1536KiB"},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		if err != nil || got != tt.want || got.String() != tt.str {
			t.Errorf("ParseByteSize(%q) = %v (%s), %v; want %d (%s)", tt.in, int64(got), got, err, tt.want, tt.str)
		}
	}
	for _, bad := range []string{"", "x", "-1", "1.5MiB", "99999999999TiB"} {
		if _, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) did not fail", bad)
		}
	}
}

func TestSplitList(t *testing.T) {
	got := splitList(" /a/**, /b/{x,y}/*.conf ,,/c")
	want := []string{"/a/**", "/b/{x,y}/*.conf", "/c"}
	if !slices.Equal(got, want) {
		t.Errorf("splitList = %q, want %q", got, want)
	}
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
