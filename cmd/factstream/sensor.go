package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"syscall"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/sensor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// newSensorCmd is `factstream sensor`: load the probes, connect to NATS, run the sensor.
func newSensorCmd() *cobra.Command {
	var (
		flags     *sensor.Flags
		readyFile string
	)
	cmd := &cobra.Command{
		Use:   "sensor",
		Short: "Run the node agent: probes, scan, raw events into FACT_RAW",
		Long: `Run the node agent. It loads the eBPF probes, scans the monitored paths, and publishes raw
events to the FACT_RAW stream on an embedded NATS server (the default) or an external one.

Configuration comes from defaults, a YAML file (--config), FACTSTREAM_* variables and flags, each
overriding the one before. SIGHUP re-reads the configuration and applies changed paths.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSensor(cmd.Context(), flags, readyFile)
		},
	}
	flags = sensor.BindFlags(cmd.Flags())
	cmd.Flags().StringVar(&readyFile, "ready-file", "", "file to create once the probes are attached and the first scan is published")
	return cmd
}

func loadConfig(flags *sensor.Flags) (sensor.Config, error) {
	cfg, err := sensor.Load(sensor.Sources{Env: os.Environ(), Flags: flags})
	if err != nil {
		return cfg, fmt.Errorf("configuration:\n%w", err)
	}
	return cfg, nil
}

func runSensor(ctx context.Context, flags *sensor.Flags, readyFile string) error {
	cfg, err := loadConfig(flags)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg.Log)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	st, err := startSensor(ctx, cfg, log, log.Named("nats"))
	if err != nil {
		return err
	}
	defer st.Close()
	go reloadOnHUP(ctx, st.sensor, flags, cfg, log)
	if readyFile != "" {
		go signalReady(ctx, st.sensor.Ready, readyFile, log)
	}
	return st.sensor.Run(ctx)
}

// sensorStack is a sensor wired up and ready to Run: its probes, its NATS (and the embedded server),
// its metrics registry and HTTP endpoints. `sensor` and `up` share it.
type sensorStack struct {
	probes   *bpf.Probes
	link     *natsLink
	reg      *prometheus.Registry
	sensor   *sensor.Sensor
	stopHTTP func()
}

// startSensor loads the probes, connects to NATS (starting the embedded server when cfg says so),
// creates the sensor and serves its HTTP endpoints. On failure it closes what it opened. An embedded
// server logs to serverLog.
func startSensor(ctx context.Context, cfg sensor.Config, log, serverLog *zap.Logger) (_ *sensorStack, err error) {
	st := &sensorStack{stopHTTP: func() {}}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	if st.probes, err = loadProbes(cfg.Probes, cfg.Hash.Enabled(), log); err != nil {
		return nil, err
	}
	if st.link, err = connectNATS(ctx, cfg, log, serverLog); err != nil {
		return nil, err
	}
	st.reg = prometheus.NewRegistry()
	st.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	st.sensor, err = sensor.New(cfg, sensor.Deps{Probes: st.probes, Conn: st.link.conn, Registry: st.reg, Logger: log})
	if err != nil {
		return nil, err
	}
	if st.stopHTTP, err = serveHTTP(cfg.Metrics.Listen, st.sensor.Handler(), log); err != nil {
		st.stopHTTP = func() {}
		return nil, err
	}
	return st, nil
}

// Close stops the HTTP endpoints, closes the NATS connection (and stops the embedded server), then
// detaches the probes. Call it after the sensor's Run has returned.
func (st *sensorStack) Close() {
	st.stopHTTP()
	if st.link != nil {
		st.link.Close()
	}
	if st.probes != nil {
		_ = st.probes.Close()
	}
}

// loadProbes loads the configured probe set, matching path prefixes only for tasks in the sensor's
// own mount namespace.
func loadProbes(c sensor.ProbesConfig, reportCloses bool, log *zap.Logger) (*bpf.Probes, error) {
	mntns, err := ownMountNS()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	p, err := bpf.Load(bpf.Options{Set: bpf.ProbeSet(c.Set), RingSize: uint32(c.RingSize), TrackedInodes: c.TrackedInodes, HostMountNS: mntns,
		WakeupBytes: uint32(c.WakeupBytes), PinPath: c.PinPath, ReportCloses: reportCloses})
	if errors.Is(err, bpf.ErrUnavailable) {
		return nil, fmt.Errorf("loading the %s probes: %w (probes.set chooses another set)", c.Set, err)
	}
	if err != nil {
		return nil, fmt.Errorf("loading the %s probes: %w", c.Set, err)
	}
	took := zap.Duration("load_time", time.Since(start).Round(time.Millisecond))
	switch {
	case p.Reused():
		log.Info("probes continued: pinned by an earlier run, they recorded while no sensor ran", zap.String("set", string(p.Set())),
			zap.String("pin_path", c.PinPath), took)
	case p.Pinned():
		log.Info("probes attached and pinned: they keep recording when the sensor stops (remove the pin path to detach them)",
			zap.String("set", string(p.Set())), zap.String("why", p.Why()), zap.String("pin_path", c.PinPath), took)
	default:
		log.Info("probes attached", zap.String("set", string(p.Set())), zap.String("why", p.Why()), took)
	}
	return p, nil
}

func ownMountNS() (uint32, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/mnt", &st); err != nil {
		return 0, fmt.Errorf("reading the mount namespace: %w", err)
	}
	return uint32(st.Ino), nil
}

// serveHTTP serves h on addr (nothing when addr is empty) and returns a function that stops it.
func serveHTTP(addr string, h http.Handler, log *zap.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics.listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", zap.Error(err))
		}
	}()
	log.Info("serving /metrics, /healthz and /readyz", zap.String("addr", l.Addr().String()))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// reloadOnHUP re-reads the configuration on SIGHUP and applies changed paths; other changes need a
// restart and are only logged.
func reloadOnHUP(ctx context.Context, s *sensor.Sensor, flags *sensor.Flags, running sensor.Config, log *zap.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		cfg, err := loadConfig(flags)
		if err != nil {
			log.Error("SIGHUP: configuration rejected; keeping the running one", zap.Error(err))
			continue
		}
		if err := s.Reload(ctx, cfg.Paths); err != nil {
			log.Error("SIGHUP: reloading paths", zap.Error(err))
			continue
		}
		paths := cfg.Paths
		cfg.Paths = running.Paths
		if !configEqual(cfg, running) {
			log.Warn("SIGHUP: only paths are applied at run time; restart the sensor for the other changes")
		}
		running.Paths = paths
	}
}

// configEqual reports whether a and b configure the same sensor: the same paths (nil and empty alike)
// and the same value in every other field, compared as values rather than as printed text, where a
// string holding a space or a field name could make two different configurations print alike.
func configEqual(a, b sensor.Config) bool {
	if !slices.Equal(a.Paths, b.Paths) {
		return false
	}
	a.Paths, b.Paths = nil, nil
	return reflect.DeepEqual(a, b)
}

// signalReady creates path once ready reports true.
func signalReady(ctx context.Context, ready func() bool, path string, log *zap.Logger) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for !ready() {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	if err := os.WriteFile(path, []byte("ready\n"), 0o644); err != nil {
		log.Error("writing the ready file", zap.String("path", path), zap.Error(err))
	}
}
