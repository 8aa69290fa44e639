package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/factstream/factstream/sensor"
	"github.com/spf13/pflag"
)

// loadResolverConfig reads the resolver's configuration from flags, env and, when file is not empty, a
// YAML file named by FACTSTREAM_CONFIG, as `factstream resolver` does.
func loadResolverConfig(t *testing.T, file string, env, flags []string) (resolverConfig, error) {
	t.Helper()
	if file != "" {
		f := filepath.Join(t.TempDir(), "resolver.yaml")
		if err := os.WriteFile(f, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(slices.Clone(env), "FACTSTREAM_CONFIG="+f)
	}
	o := &resolverOptions{}
	fs := pflag.NewFlagSet("resolver", pflag.ContinueOnError)
	o.bind(fs)
	if err := fs.Parse(flags); err != nil {
		t.Fatal(err)
	}
	err := o.client.loadEnv(env)
	return o.cfg, err
}

const resolverFile = `nats:
  url: nats://file:4222
  creds_file: /etc/factstream/resolver.creds
  tls:
    ca: /ca.pem
paths: [/etc, /etc/**]
partitions: 16
worker_id: w-file
metrics:
  listen: 127.0.0.1:9465
log:
  level: warn
`

func TestResolverConfigPrecedence(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   []string
		flags []string
		check func(t *testing.T, c resolverConfig)
	}{
		{name: "defaults", check: func(t *testing.T, c resolverConfig) {
			if c.NATS.URL != "nats://"+sensor.DefaultEmbeddedListen || c.Partitions != 64 || c.Log.Level != "info" || c.Paths != nil {
				t.Errorf("%+v", c)
			}
		}},
		{name: "file", file: resolverFile, check: func(t *testing.T, c resolverConfig) {
			want := resolverConfig{clientConfig: clientConfig{
				NATS: natsClientConfig{URL: "nats://file:4222", CredsFile: "/etc/factstream/resolver.creds",
					TLS: sensor.TLSConfig{CA: "/ca.pem"}},
				DataDir: defaultDataDir(), Log: sensor.LogConfig{Level: "warn", Format: "auto"}},
				Paths: []string{"/etc", "/etc/**"}, Partitions: 16, WorkerID: "w-file",
				Metrics: sensor.MetricsConfig{Listen: "127.0.0.1:9465"}}
			if !configsEqual(c, want) {
				t.Errorf("got  %+v\nwant %+v", c, want)
			}
		}},
		{name: "env over file", file: resolverFile,
			env: []string{"FACTSTREAM_NATS_URL=nats://env:4222", "FACTSTREAM_PARTITIONS=8", "FACTSTREAM_NATS_TLS_CERT=/c.pem",
				"FACTSTREAM_NATS_TLS_KEY=/k.pem", "FACTSTREAM_PATHS=/srv/{a,b}/**,/opt"},
			check: func(t *testing.T, c resolverConfig) {
				if c.NATS.URL != "nats://env:4222" || c.Partitions != 8 || c.NATS.TLS != (sensor.TLSConfig{CA: "/ca.pem", Cert: "/c.pem", Key: "/k.pem"}) ||
					!slices.Equal(c.Paths, []string{"/srv/{a,b}/**", "/opt"}) || c.WorkerID != "w-file" {
					t.Errorf("%+v", c)
				}
			}},
		{name: "flag over env", file: resolverFile, env: []string{"FACTSTREAM_NATS_URL=nats://env:4222", "FACTSTREAM_WORKER_ID=w-env"},
			flags: []string{"--nats-url", "nats://flag:4222", "--worker-id", "w-flag", "--nats-nkey-seed-file", "/seed",
				"--nats-creds-file", ""},
			check: func(t *testing.T, c resolverConfig) {
				if c.NATS.URL != "nats://flag:4222" || c.WorkerID != "w-flag" || c.NATS.NkeySeedFile != "/seed" || c.NATS.CredsFile != "" {
					t.Errorf("%+v", c)
				}
			}},
		{name: "older flag names", env: []string{"FACTSTREAM_NATS_URL=nats://env:4222"},
			flags: []string{"--nats", "nats://old:4222", "--creds", "/r.creds", "--path", "/etc", "--path", "/etc/**"},
			check: func(t *testing.T, c resolverConfig) {
				if c.NATS.URL != "nats://old:4222" || c.NATS.CredsFile != "/r.creds" || !slices.Equal(c.Paths, []string{"/etc", "/etc/**"}) {
					t.Errorf("%+v", c)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadResolverConfig(t, tt.file, tt.env, tt.flags)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

func configsEqual(a, b resolverConfig) bool {
	return a.clientConfig == b.clientConfig && slices.Equal(a.Paths, b.Paths) && a.Partitions == b.Partitions &&
		a.WorkerID == b.WorkerID && a.Metrics == b.Metrics
}

// TestResolverConfigErrorsNameTheKey: the resolver's errors read like the sensor's (TestLoadErrorsNameTheKey
// in package sensor).
func TestResolverConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   []string
		flags []string
		want  []string
	}{
		{"unknown file key", "nats:\n  ulr: nats://x:4222\n", nil, nil, []string{"field ulr not found"}},
		{"sensor key in file", "probes:\n  set: lsm\n", nil, nil, []string{"field probes not found"}},
		{"bad integer in env", "", []string{"FACTSTREAM_PARTITIONS=many"}, nil, []string{`partitions (FACTSTREAM_PARTITIONS): "many": not an integer`}},
		{"bad integer in flag", "", nil, []string{"--partitions=many"}, []string{`partitions (--partitions): "many": not an integer`}},
		{"not positive", "partitions: 0\n", nil, nil, []string{"partitions: 0: must be positive"}},
		{"bad url", "", []string{"FACTSTREAM_NATS_URL=::nope"}, nil, []string{`nats.url: "::nope": not a URL`}},
		{"creds and nkey", "", []string{"FACTSTREAM_NATS_CREDS_FILE=/a.creds"}, []string{"--nats-nkey-seed-file=/seed"},
			[]string{"nats.nkey_seed_file: set together with nats.creds_file; use one"}},
		{"tls half", "nats:\n  tls:\n    key: /k.pem\n", nil, nil, []string{"nats.tls: cert and key go together"}},
		{"several at once", "", []string{"FACTSTREAM_NATS_URL=::nope", "FACTSTREAM_NATS_TLS_CERT=/c.pem"}, []string{"--partitions=-1"},
			[]string{`nats.url: "::nope"`, "nats.tls: cert and key go together", "partitions: -1: must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadResolverConfig(t, tt.file, tt.env, tt.flags)
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
