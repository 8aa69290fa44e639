package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/internal/settings"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// resolverConfig is what `factstream resolver` is configured with: the NATS client's keys and its own,
// read from a YAML file (--config), FACTSTREAM_* variables and flags like the sensor's.
type resolverConfig struct {
	clientConfig `yaml:",inline"`
	// Paths are the globs of host paths to report (empty: everything the sensors send).
	Paths []string `yaml:"paths"`
	// Partitions is FACT_RAW's number of partitions, the sensors' number.
	Partitions int `yaml:"partitions"`
	// WorkerID names this worker among the workers; host name and pid when empty.
	WorkerID string               `yaml:"worker_id"`
	Metrics  sensor.MetricsConfig `yaml:"metrics"`
}

// table lists the resolver's own keys; --path stays as the older name of --paths.
func (c *resolverConfig) table() []settings.Setting {
	return []settings.Setting{
		settings.New("paths", "report only events on host paths matching these globs; comma-separated or repeated (default: everything the sensors send)", &c.Paths).WithAlias("path"),
		settings.New("partitions", "FACT_RAW's partitions; the sensors' number", &c.Partitions),
		settings.New("worker_id", "this worker's name among the workers (default: host name and pid)", &c.WorkerID),
		settings.New("metrics.listen", "address for /metrics (empty: none)", &c.Metrics.Listen),
	}
}

// validate checks the resolver's own keys.
func (c *resolverConfig) validate() error {
	if c.Partitions <= 0 {
		return fmt.Errorf("partitions: %d: must be positive", c.Partitions)
	}
	return nil
}

// resolverOptions are the configuration of `factstream resolver`.
type resolverOptions struct {
	client clientOptions
	cfg    resolverConfig
}

func newResolverCmd() *cobra.Command {
	o := &resolverOptions{}
	cmd := &cobra.Command{
		Use:   "resolver",
		Short: "Run a resolver worker: FACT_RAW in, enriched FILE_ACTIVITY out",
		Long: `Run a resolver worker against a NATS server or cluster. It takes its share of FACT_RAW's
partitions (leases in KV FACT_LEASES), rebuilds each host's inode→path index and process table from the
raw stream, and publishes enriched events to FACT_ACTIVITY on fact.activity.<host>.<type>, exactly once.
Run as many workers as needed; they share the partitions and take over from each other.

Configuration comes from defaults, a YAML file (--config), FACTSTREAM_* variables and flags, each
overriding the one before, with the sensor's keys for NATS (nats.url, nats.creds_file, nats.tls.ca...).`,
		Example: `  # one worker against the server of factstream up or a cluster
  factstream resolver --nats nats://127.0.0.1:4222

  # report only what matches these globs
  factstream resolver --nats nats://nats:4222 --path /etc --path '/etc/**' --metrics-listen :9465

  # from a configuration file, with TLS and credentials
  factstream resolver --config /etc/factstream/resolver.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runResolver(cmd.Context(), o)
		},
	}
	o.bind(cmd.Flags())
	return cmd
}

// bind registers --config and the resolver's keys on fs, with their defaults.
func (o *resolverOptions) bind(fs *pflag.FlagSet) {
	o.cfg = resolverConfig{clientConfig: defaultClientConfig(), Partitions: schemas.DefaultPartitions}
	o.client.bindConfig(fs, &o.cfg.clientConfig, &o.cfg, o.cfg.table())
	o.client.check = o.cfg.validate
}

func runResolver(ctx context.Context, o *resolverOptions) error {
	log, err := o.client.logger()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	nc, err := o.client.connect("factstream-resolver", natsauth.RoleResolver, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	res, err := pipeline.New(pipeline.Config{Conn: nc, Patterns: o.cfg.Paths, Partitions: o.cfg.Partitions, WorkerID: o.cfg.WorkerID,
		Logger: log, Registry: reg})
	if err != nil {
		return err
	}
	stopHTTP, err := serveHTTP(o.cfg.Metrics.Listen, promHandler(reg), log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	done := make(chan error, 1)
	// Run's context is not ctx: ending ctx would leave the leases to expire; Close releases them.
	go func() { done <- res.Run(context.WithoutCancel(ctx)) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		log.Info("stopping: releasing the partitions")
		_ = res.Close()
		err = <-done
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("resolver: %w", err)
	}
	return nil
}

// promHandler serves reg's metrics.
func promHandler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return mux
}
