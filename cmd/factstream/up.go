package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/factstream/factstream/client"
	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sync/errgroup"
)

// upLeaseTTL is the resolver's lease TTL in up: the only worker takes its partitions after two
// renewal rounds (TTL/4 each), so a short TTL makes up ready sooner; after a crash the new process
// waits one TTL for the old leases.
const upLeaseTTL = 4 * time.Second

// defaultUpPaths are what `up` watches when no --path is given.
var defaultUpPaths = []string{"/etc", "/etc/**"}

// upOptions are the flags of `factstream up`.
type upOptions struct {
	paths     []string
	dataDir   string
	listen    string
	tlsCert   string
	tlsKey    string
	probes    string
	host      string
	json      bool
	readyFile string
	metrics   string
	logLevel  string
}

func newUpCmd() *cobra.Command {
	o := &upOptions{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run everything on this machine: NATS, sensor, resolver, live output",
		Long: `Run factstream on this machine in one process: an embedded NATS server with JetStream (listening
on 127.0.0.1:4222 so tail, the nats CLI and other clients can attach), the sensor with its eBPF probes,
a resolver, and live output of the enriched FILE_ACTIVITY events.

It watches /etc and everything below it unless --path replaces them. What it watches, the probe set
and why it was chosen, and where its data lives are printed on stderr; so are the logs. Events go to
stdout: one line each, coloured on a terminal, or JSON lines with --json.

FACTSTREAM_* variables of the sensor (see factstream sensor --help) apply where no flag is given.
Loading the probes needs root (or CAP_BPF and CAP_PERFMON).`,
		Example: `  # watch /etc (run as root)
  sudo factstream up

  # watch a project tree, JSON lines for jq, data in /tmp
  sudo factstream up --path /srv/app --path '/srv/app/**' --data-dir /tmp/fs --json | jq .

  # from another terminal: the same events, filtered
  factstream tail --type creation --type unlink`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runUp(cmd.Context(), cmd, o)
		},
	}
	o.bind(cmd.Flags())
	return cmd
}

// bind registers up's flags on f.
func (o *upOptions) bind(f *pflag.FlagSet) {
	f.StringArrayVar(&o.paths, "path", nil, "monitored host path glob, repeatable (/srv/app, /srv/app/**, /srv/app/*.conf); replaces the default "+strings.Join(defaultUpPaths, ", "))
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir(), "where the NATS store (<dir>/jetstream) and the sensor's state live")
	f.StringVar(&o.listen, "listen", sensor.DefaultEmbeddedListen, "address the embedded NATS server listens on; beyond loopback it needs --tls-cert and --tls-key")
	f.StringVar(&o.tlsCert, "tls-cert", "", "certificate file (PEM) of the embedded NATS server")
	f.StringVar(&o.tlsKey, "tls-key", "", "key file (PEM) of the embedded NATS server")
	f.StringVar(&o.probes, "probes", "auto", "probe set: auto, lsm or tracepoint")
	f.StringVar(&o.host, "host", "", "node name in subjects and events (default: the host name up to its first dot)")
	f.BoolVar(&o.json, "json", false, "print JSON lines (the stable form of schemas/README.md) and nothing else on stdout")
	f.StringVar(&o.readyFile, "ready-file", "", "file to create once the probes are attached, the first scan is published, the resolver runs and the output is live")
	f.StringVar(&o.metrics, "metrics-listen", "", "address for /metrics, /healthz and /readyz (empty: none)")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
}

// defaultDataDir is /var/lib/factstream for root, the XDG state directory otherwise.
func defaultDataDir() string {
	if os.Geteuid() == 0 {
		return sensor.DefaultStateDir
	}
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "factstream")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "factstream")
	}
	return sensor.DefaultStateDir
}

// shortHost is the host name up to its first dot: a subject token.
func shortHost() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	h, _, _ = strings.Cut(h, ".")
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune("*>: \t\r\n", r) {
			return '-'
		}
		return r
	}, h)
}

// sensorConfig turns up's flags into the sensor's configuration. They are applied as the sensor's own
// flags, so FACTSTREAM_* variables and the sensor's validation work as for `factstream sensor`; up's
// defaults give way to a variable, a given flag does not.
func (o *upOptions) sensorConfig(changed func(string) bool, env []string) (sensor.Config, error) {
	fs := pflag.NewFlagSet("up", pflag.ContinueOnError)
	flags := sensor.BindFlags(fs)
	has := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		has[k] = true
	}
	set := func(upFlag, sensorFlag, envVar string, vals ...string) error {
		if !changed(upFlag) && has[envVar] {
			return nil
		}
		for _, v := range vals {
			if err := fs.Set(sensorFlag, v); err != nil {
				return fmt.Errorf("--%s: %w", upFlag, err)
			}
		}
		return nil
	}
	paths := o.paths
	if len(paths) == 0 {
		paths = defaultUpPaths
	}
	host := o.host
	if host == "" {
		host = shortHost()
	}
	logFormat := "auto"
	if o.json {
		logFormat = "" // left to FACTSTREAM_LOG_FORMAT or the default
	}
	errs := []error{
		set("path", "paths", "FACTSTREAM_PATHS", paths...),
		set("data-dir", "state-dir", "FACTSTREAM_STATE_DIR", o.dataDir),
		set("listen", "nats-embedded-listen", "FACTSTREAM_NATS_EMBEDDED_LISTEN", o.listen),
		set("tls-cert", "nats-embedded-tls-cert", "FACTSTREAM_NATS_EMBEDDED_TLS_CERT", o.tlsCert),
		set("tls-key", "nats-embedded-tls-key", "FACTSTREAM_NATS_EMBEDDED_TLS_KEY", o.tlsKey),
		set("probes", "probes-set", "FACTSTREAM_PROBES_SET", o.probes),
		set("host", "host", "FACTSTREAM_HOST", host),
		set("metrics-listen", "metrics-listen", "FACTSTREAM_METRICS_LISTEN", o.metrics),
		set("log-level", "log-level", "FACTSTREAM_LOG_LEVEL", o.logLevel),
	}
	if logFormat != "" {
		errs = append(errs, set("json", "log-format", "FACTSTREAM_LOG_FORMAT", logFormat))
	}
	if err := errors.Join(errs...); err != nil {
		return sensor.Config{}, err
	}
	// up always runs its own server: an external URL from the environment would leave the resolver and
	// the output without one.
	env = append(env[:len(env):len(env)], "FACTSTREAM_NATS_URL=")
	cfg, err := sensor.Load(sensor.Sources{Env: env, Flags: flags})
	if err != nil {
		return cfg, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, nil
}

func runUp(ctx context.Context, cmd *cobra.Command, o *upOptions) error {
	start := time.Now()
	cfg, err := o.sensorConfig(cmd.Flags().Changed, os.Environ())
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.Log)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	// The server's start-up banner and the resolver's per-partition lines are noise here: warnings only,
	// unless debugging.
	quiet := func(l *zap.Logger) *zap.Logger {
		if cfg.Log.Level == "debug" {
			return l
		}
		return l.WithOptions(zap.IncreaseLevel(zapcore.WarnLevel))
	}
	st, err := startSensor(ctx, cfg, log.Named("sensor"), quiet(log.Named("nats")))
	if err != nil && os.Geteuid() != 0 {
		return fmt.Errorf("%w (up loads eBPF probes: run it as root)", err)
	}
	if err != nil {
		return err
	}
	defer st.Close()

	// The resolver and the output have in-process connections of their own.
	rconn, err := st.link.server.Connect(connLogging(log), nats.Name("factstream-resolver-"+cfg.Host),
		st.link.ids.Option(natsauth.RoleResolver, ""))
	if err != nil {
		return err
	}
	defer rconn.Close()
	res, err := pipeline.New(pipeline.Config{Conn: rconn, Patterns: cfg.Paths, Partitions: cfg.NATS.Stream.Partitions,
		LeaseTTL: upLeaseTTL, Logger: quiet(log.Named("resolver")), Registry: st.reg})
	if err != nil {
		return err
	}
	oconn, err := st.link.server.Connect(connLogging(log), nats.Name("factstream-up-output"),
		st.link.ids.Option(natsauth.RoleReader, ""))
	if err != nil {
		return err
	}
	defer oconn.Close()
	js, err := jetstream.New(oconn)
	if err != nil {
		return err
	}

	out := cmd.OutOrStdout()
	stdoutTTY := stdoutIsTerminal(out)
	p := newPrinter(out, o.json, !o.json && stdoutTTY, false)
	var outputLive atomic.Bool

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return st.sensor.Run(gctx) })
	g.Go(func() error {
		// Not gctx: ending it would leave the leases to expire; Close below releases them.
		err := res.Run(context.WithoutCancel(gctx))
		if err != nil && gctx.Err() == nil {
			return fmt.Errorf("resolver: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		return follow(gctx, js, client.Options{OnReady: func() { outputLive.Store(true) }}, p, log)
	})
	g.Go(func() error {
		// Ready: probes attached, first scan published, output live, and the resolver owns every partition
		// (after an unclean stop that waits for the former owner's leases to expire). Other resolver
		// workers attached to this server may hold some: after two TTLs, what is owned is enough.
		partitions := cmp.Or(cfg.NATS.Stream.Partitions, schemas.DefaultPartitions)
		var sensorReady time.Time
		ready := func() bool {
			if !st.sensor.Ready() || !outputLive.Load() {
				return false
			}
			if sensorReady.IsZero() {
				sensorReady = time.Now()
			}
			owned := len(res.Owned())
			if owned >= partitions {
				return true
			}
			if owned > 0 && time.Since(sensorReady) > 2*upLeaseTTL {
				log.Warn("other resolver workers hold some partitions", zap.Int("owned", owned), zap.Int("partitions", partitions))
				return true
			}
			return false
		}
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for !ready() {
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
			}
		}
		printBanner(cmd.ErrOrStderr(), cfg, st, time.Since(start))
		if o.readyFile != "" {
			if err := os.WriteFile(o.readyFile, []byte("ready\n"), 0o644); err != nil {
				return fmt.Errorf("writing the ready file: %w", err)
			}
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		_ = res.Close()
		return nil
	})
	err = g.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// printBanner tells, on stderr, what up watches, with which probes, where its data is, and how to read
// the events from elsewhere.
func printBanner(w io.Writer, cfg sensor.Config, st *sensorStack, took time.Duration) {
	url := st.link.server.ClientURL()
	reader := natsauth.CredsFile(cfg.StateDir, natsauth.RoleReader)
	fmt.Fprintf(w, `factstream is up (%s)
  host      %s
  watching  %s
  probes    %s: %s
  data      %s (NATS JetStream store %s)
  nats      %s, credentials in %s (root only)
            %s
            nats --server %s --nkey %s stream info %s
`, took.Round(time.Millisecond), cfg.Host, strings.Join(cfg.Paths, "  "), st.probes.Set(), st.probes.Why(),
		cfg.StateDir, embeddedStore(cfg), url, filepath.Dir(reader), tailCommand(cfg.StateDir), url, reader, schemas.ActivityStream)
}

// tailCommand is how to follow the events of an up whose data is in dataDir: plain `factstream tail`
// when that is the default, so the banner shows no flag a user does not need.
func tailCommand(dataDir string) string {
	if dataDir == defaultDataDir() {
		return "factstream tail"
	}
	return "factstream tail --data-dir " + dataDir
}
