package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/factstream/factstream/client"
	"github.com/factstream/factstream/schemas"
	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestHelpHasExamples(t *testing.T) {
	for _, sub := range []string{"up", "resolver", "tail"} {
		out, err := execute(context.Background(), sub, "--help")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Examples:", "factstream " + sub, "--nats"} {
			if sub == "up" && want == "--nats" {
				want = "--data-dir"
			}
			if !strings.Contains(out, want) {
				t.Errorf("%s --help lacks %q", sub, want)
			}
		}
	}
}

func TestUpSensorConfig(t *testing.T) {
	const host = "node-1"
	tests := []struct {
		name    string
		args    []string
		env     []string
		paths   []string
		state   string
		listen  string
		wantErr []string
	}{
		{name: "defaults", paths: defaultUpPaths, state: defaultDataDir(), listen: "127.0.0.1:4222"},
		{name: "path replaces the defaults", args: []string{"--path", "/srv/mon", "--path", "/srv/mon/**", "--data-dir", "/data"},
			paths: []string{"/srv/mon", "/srv/mon/**"}, state: "/data", listen: "127.0.0.1:4222"},
		{name: "a variable beats up's default", env: []string{"FACTSTREAM_PATHS=/opt/a/**", "FACTSTREAM_STATE_DIR=/var/x"},
			paths: []string{"/opt/a/**"}, state: "/var/x", listen: "127.0.0.1:4222"},
		{name: "a flag beats a variable", args: []string{"--path", "/b", "--listen", "127.0.0.1:5000", "--data-dir", "/data"},
			env: []string{"FACTSTREAM_PATHS=/opt/a/**", "FACTSTREAM_STATE_DIR=/var/x"}, paths: []string{"/b"}, state: "/data", listen: "127.0.0.1:5000"},
		{name: "relative path", args: []string{"--path", "etc/**"}, wantErr: []string{`paths[0]: "etc/**": not absolute`}},
		{name: "bad probe set and data dir", args: []string{"--probes", "kprobe", "--data-dir", "data"},
			wantErr: []string{`probes.set: "kprobe"`, `state_dir: "data": not absolute`}},
		{name: "bad listen", args: []string{"--listen", "4222"}, wantErr: []string{"nats.embedded.listen"}},
		{name: "an external URL is ignored", env: []string{"FACTSTREAM_NATS_URL=nats://elsewhere:4222"},
			paths: defaultUpPaths, state: defaultDataDir(), listen: "127.0.0.1:4222"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := &upOptions{}
			fs := pflag.NewFlagSet("up", pflag.ContinueOnError)
			o.bind(fs)
			if err := fs.Parse(append([]string{"--host", host}, tt.args...)); err != nil {
				t.Fatal(err)
			}
			cfg, err := o.sensorConfig(fs.Changed, tt.env)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatal("want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cfg.Paths, tt.paths) || cfg.StateDir != tt.state || cfg.NATS.Embedded.Listen != tt.listen ||
				cfg.Host != host || cfg.NATS.URL != "" || cfg.Metrics.Listen != "" {
				t.Errorf("got paths %q state %q listen %q host %q url %q metrics %q", cfg.Paths, cfg.StateDir,
					cfg.NATS.Embedded.Listen, cfg.Host, cfg.NATS.URL, cfg.Metrics.Listen)
			}
		})
	}
}

func TestTailValidate(t *testing.T) {
	now := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		o       tailOptions
		start   string // client.Start's String
		wantErr string
	}{
		{name: "new only by default", start: "new"},
		{name: "all", o: tailOptions{since: "all"}, start: "all"},
		{name: "duration", o: tailOptions{since: "90m"}, start: "2026-11-25T11:30:00Z"},
		{name: "time", o: tailOptions{since: "2026-11-24T08:00:00+01:00"}, start: "2026-11-24T07:00:00Z"},
		{name: "sequence", o: tailOptions{since: "seq:1200"}, start: "seq:1200"},
		{name: "bad since", o: tailOptions{since: "yesterday"}, wantErr: `--since "yesterday": want "new", "all", seq:N`},
		{name: "negative duration", o: tailOptions{since: "-5m"}, wantErr: `--since "-5m"`},
		{name: "bad sequence", o: tailOptions{since: "seq:x"}, wantErr: `--since "seq:x"`},
		{name: "filters", o: tailOptions{filter: client.Filter{Hosts: []string{"web-1"}, Types: []string{"gap", "rename"}, Paths: []string{"/etc/{a,b}/**"}}},
			start: "new"},
		{name: "host with a dot", o: tailOptions{filter: client.Filter{Hosts: []string{"web.example"}}}, wantErr: `--host "web.example"`},
		{name: "wildcard host", o: tailOptions{filter: client.Filter{Hosts: []string{"*"}}}, wantErr: `--host "*"`},
		{name: "unknown type", o: tailOptions{filter: client.Filter{Types: []string{"write"}}}, wantErr: `--type "write": want one of creation, open,`},
		{name: "relative glob", o: tailOptions{filter: client.Filter{Paths: []string{"etc/**"}}}, wantErr: `--path "etc/**"`},
		{name: "broken glob", o: tailOptions{filter: client.Filter{Paths: []string{"/etc/[a"}}}, wantErr: `--path "/etc/[a"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, err := tt.o.validate(now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if start.String() != tt.start {
				t.Errorf("start %s, want %s", start, tt.start)
			}
		})
	}
}

func TestUpBadFlagsFailBeforeLoading(t *testing.T) {
	_, err := execute(context.Background(), "up", "--path", "etc/**", "--probes", "kprobe", "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `paths[0]: "etc/**": not absolute`) || !strings.Contains(err.Error(), "probes.set") {
		t.Fatalf("error %v", err)
	}
}

func TestTailBadFlagsFailBeforeConnecting(t *testing.T) {
	_, err := execute(context.Background(), "tail", "--nats", "nats://127.0.0.1:1", "--type", "nope", "--host", "a.b")
	if err == nil || !strings.Contains(err.Error(), `--type "nope"`) || !strings.Contains(err.Error(), `--host "a.b"`) {
		t.Fatalf("error %v", err)
	}
	_, err = execute(context.Background(), "resolver", "--partitions", "0")
	if err == nil || !strings.Contains(err.Error(), "partitions: 0: must be positive") {
		t.Fatalf("error %v", err)
	}
}

// The filter's own tests are in package client.

// sampleEvents are events of several types, one with a name that is not UTF-8 and holds a newline.
func sampleEvents() []schemas.Activity {
	t0 := time.Date(2026, 11, 25, 13, 4, 5, 123456789, time.UTC).UnixNano()
	proc := schemas.ActivityProcess{Pid: 4242, Comm: []byte("touch"), Exe: []byte("/usr/bin/touch"),
		Args: [][]byte{[]byte("touch"), []byte("x")}, LoginUID: 1000, UID: 0,
		Lineage: []schemas.Ancestor{{Pid: 900, Comm: []byte("bash"), Exe: []byte("/usr/bin/bash")}}}
	return []schemas.Activity{
		{Time: t0, Host: "node-1", Type: "creation", Path: []byte("/srv/mon/a.txt"), HostPath: []byte("/srv/mon/a.txt"),
			Mode: 0o100644, Dev: 66307, Ino: 12, Monitored: 2, Probe: 2, Process: proc},
		{Time: t0 + 1, Host: "node-1", Type: "creation", Path: []byte("/srv/mon/x/y/z/b\xff\n.txt"),
			HostPath: []byte("/srv/mon/x/y/z/b\xff\n.txt"), Mode: 0o100600, Dev: 66307, Ino: 13, Monitored: 2, Probe: 1, Process: proc},
		{Time: t0 + 2, Host: "node-1", Type: "rename", Path: []byte("/data/f"), HostPath: []byte("/srv/mon/f"),
			OldPath: []byte("/srv/other/f"), Mode: 0o100644, Dev: 66307, Ino: 14, Monitored: 3, Probe: 2, Process: proc},
		{Time: t0 + 3, Host: "node-1", Type: "permission", Path: []byte("/srv/mon/a.txt"), HostPath: []byte("/srv/mon/a.txt"),
			Mode: 0o100600, OldMode: 0o100644, Dev: 66307, Ino: 12, Monitored: 3, Probe: 2, Process: proc},
		{Time: t0 + 4, Host: "node-1", Type: "ownership", Path: []byte("/srv/mon/a.txt"), HostPath: []byte("/srv/mon/a.txt"),
			UID: 1000, GID: 1000, Dev: 66307, Ino: 12, Monitored: 3, Probe: 2, Process: proc},
		{Time: t0 + 5, Host: "node-1", Type: "symlink", Path: []byte("/srv/mon/l"), HostPath: []byte("/srv/mon/l"),
			Target: []byte("../a b "), Mode: 0o120777, Dev: 66307, Ino: 15, Monitored: 2, Probe: 2, Process: proc},
		{Time: t0 + 6, Host: "node-1", Type: schemas.TypeGap, Dev: 66307, Reason: "loss: 3 records at file_open", Lost: 3},
	}
}

// TestJSONLines pins the JSON lines tail and up print: one line per event, invalid UTF-8 with _b64, a
// newline escaped.
func TestJSONLines(t *testing.T) {
	var out bytes.Buffer
	p := newPrinter(&out, true, false, false)
	if err := p.print(sampleEvents()); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "events.jsonl")
	if *update {
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("JSON lines differ from %s (go test -update rewrites it):\n%s", golden, out.Bytes())
	}
	if n := bytes.Count(out.Bytes(), []byte("\n")); n != len(sampleEvents()) {
		t.Errorf("%d lines for %d events", n, len(sampleEvents()))
	}
	if !bytes.Contains(out.Bytes(), []byte(`"path_b64":"L3Nydi9tb24veC95L3ovYv8KLnR4dA=="`)) {
		t.Error("the invalid UTF-8 path lacks its exact bytes")
	}
}

func TestHumanLines(t *testing.T) {
	t.Setenv("TZ", "UTC")
	evs := sampleEvents()
	tests := []struct {
		ev       int
		showHost bool
		want     string
	}{
		{0, false, `13:04:05.123 creation   /srv/mon/a.txt 0644  touch[4242] uid=0 login=1000 /usr/bin/touch`},
		{0, true, `13:04:05.123 node-1 creation   /srv/mon/a.txt 0644  touch[4242] uid=0 login=1000 /usr/bin/touch`},
		{1, false, `13:04:05.123 creation   "/srv/mon/x/y/z/b\xff\n.txt" 0600  touch[4242] uid=0 login=1000 /usr/bin/touch`},
		{2, false, `13:04:05.123 rename     /data/f (host /srv/mon/f) ← /srv/other/f (untracked)  touch[4242] uid=0 login=1000 /usr/bin/touch`},
		{3, false, `13:04:05.123 permission /srv/mon/a.txt 0644 → 0600  touch[4242] uid=0 login=1000 /usr/bin/touch`},
		{4, false, `13:04:05.123 ownership  /srv/mon/a.txt 0:0 → 1000:1000  touch[4242] uid=0 login=1000 /usr/bin/touch`},
		{5, false, `13:04:05.123 symlink    /srv/mon/l → "../a b "  touch[4242] uid=0 login=1000 /usr/bin/touch`},
		{6, false, `13:04:05.123 gap        dev 66307: loss: 3 records at file_open (3 lost)`},
	}
	for _, tt := range tests {
		got := string(appendHuman(nil, &evs[tt.ev], false, tt.showHost))
		if got != tt.want {
			t.Errorf("event %d:\n got %s\nwant %s", tt.ev, got, tt.want)
		}
	}
	content := evs[0]
	content.Type, content.Size = "content", 4
	for _, tt := range []struct{ hash, old, state, want string }{
		{"sha256:2c26", "", "ok", "content    /srv/mon/a.txt sha256:2c26  4 B"},
		{"sha256:2c26", "sha256:9f86", "ok", "content    /srv/mon/a.txt sha256:2c26 ← sha256:9f86  4 B"},
		{"sha256:2c26", "sha256:2c26", "ok", "content    /srv/mon/a.txt sha256:2c26 (unchanged)  4 B"},
		{"", "sha256:9f86", "too_large", "content    /srv/mon/a.txt too_large  4 B"},
	} {
		content.Hash, content.OldHash, content.HashState = tt.hash, tt.old, tt.state
		if got := string(appendHuman(nil, &content, false, false)); !strings.Contains(got, tt.want+"  touch[4242]") {
			t.Errorf("content %+v:\n got %s\nwant …%s  touch[4242]…", tt, got, tt.want)
		}
	}
	colored := string(appendHuman(nil, &evs[0], true, false))
	if !strings.Contains(colored, ansiGreen+"creation") || !strings.HasSuffix(strings.TrimSuffix(colored, "/usr/bin/touch"), " ") {
		t.Errorf("colour: %q", colored)
	}
}

func TestUpBeyondLoopbackNeedsTLS(t *testing.T) {
	_, err := execute(context.Background(), "up", "--listen", "0.0.0.0:4222", "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), `"0.0.0.0:4222" is beyond loopback`) || !strings.Contains(err.Error(), "tls") {
		t.Fatalf("up --listen 0.0.0.0:4222 without TLS: %v, want a refusal that names TLS", err)
	}
}
