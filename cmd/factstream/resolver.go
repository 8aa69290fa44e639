package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/schemas"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
)

// resolverOptions are the flags of `factstream resolver`.
type resolverOptions struct {
	client     clientOptions
	paths      []string
	partitions int
	worker     string
	metrics    string
}

func newResolverCmd() *cobra.Command {
	o := &resolverOptions{}
	cmd := &cobra.Command{
		Use:   "resolver",
		Short: "Run a resolver worker: FACT_RAW in, enriched FILE_ACTIVITY out",
		Long: `Run a resolver worker against a NATS server or cluster. It takes its share of FACT_RAW's
partitions (leases in KV FACT_LEASES), rebuilds each host's inode→path index and process table from the
raw stream, and publishes enriched events to FACT_ACTIVITY on fact.activity.<host>.<type>, exactly once.
Run as many workers as needed; they share the partitions and take over from each other.`,
		Example: `  # one worker against the server of factstream up or a cluster
  factstream resolver --nats nats://127.0.0.1:4222

  # report only what matches these globs
  factstream resolver --nats nats://nats:4222 --path /etc --path '/etc/**' --metrics-listen :9465`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runResolver(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	o.client.bind(f)
	f.StringArrayVar(&o.paths, "path", nil, "report only events on host paths matching this glob, repeatable (default: everything the sensors send)")
	f.IntVar(&o.partitions, "partitions", schemas.DefaultPartitions, "FACT_RAW's partitions; the sensors' number")
	f.StringVar(&o.worker, "worker-id", "", "this worker's name among the workers (default: host name and pid)")
	f.StringVar(&o.metrics, "metrics-listen", "", "address for /metrics (empty: none)")
	return cmd
}

func runResolver(ctx context.Context, o *resolverOptions) error {
	if o.partitions <= 0 {
		return fmt.Errorf("--partitions %d: must be positive", o.partitions)
	}
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
	res, err := pipeline.New(pipeline.Config{Conn: nc, Patterns: o.paths, Partitions: o.partitions, WorkerID: o.worker,
		Logger: log, Registry: reg})
	if err != nil {
		return err
	}
	stopHTTP, err := serveHTTP(o.metrics, promHandler(reg), log)
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
