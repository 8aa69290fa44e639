package natsserver

import (
	"context"

	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap/zapcore"
)

// Server is a running embedded nats-server with JetStream.
type Server struct {
	ns       *server.Server
	cfg      Config   // effective: defaults applied, random ports resolved
	lock     *os.File // flock on the store directory, released at Shutdown
	shutdown sync.Once
}

// Start starts a server for cfg and waits until it accepts connections with JetStream enabled. ctx bounds
// only the startup wait (as does cfg.ReadyTimeout); the server then runs until Shutdown. On failure
// nothing is left running and the error says why: a bad config, the store directory used by another
// server (ErrStoreLocked), the client or route port in use (the error wraps syscall.EADDRINUSE), a fatal
// server error (ErrServerFatal) or a timeout (ErrNotReady).
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	lock, err := lockStore(cfg.StoreDir)
	if err != nil {
		return nil, fmt.Errorf("starting nats server: %w", err)
	}
	s, err := start(ctx, cfg)
	if err != nil {
		unlock(lock)
		return nil, err
	}
	s.lock = lock
	return s, nil
}

func start(ctx context.Context, cfg Config) (*Server, error) {
	if err := checkPortsFree(cfg); err != nil {
		return nil, fmt.Errorf("starting nats server: %w", err)
	}
	opts, err := cfg.serverOptions()
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("creating nats server: %w", err)
	}
	log := newServerLog(cfg.Logger)
	ns.SetLoggerV2(log, log.log.Core().Enabled(zapcore.DebugLevel), false, false)
	if err := run(ctx, ns, log, cfg.ReadyTimeout); err != nil {
		return nil, fmt.Errorf("starting nats server %q: %w", cfg.ServerName, err)
	}
	return &Server{ns: ns, cfg: resolvePorts(cfg, ns)}, nil
}

func unlock(f *os.File) {
	if f != nil {
		f.Close() // closing the descriptor releases the flock
	}
}

// run starts ns and waits for it to be ready; on any failure it shuts ns down before returning.
func run(ctx context.Context, ns *server.Server, log *serverLog, timeout time.Duration) error {
	started := make(chan struct{})
	go func() {
		defer close(started)
		ns.Start()
	}()
	err := waitReady(ctx, ns, log, started, timeout)
	if err == nil && !ns.JetStreamEnabled() {
		err = ErrNoJetStream
	}
	if err != nil {
		<-started
		ns.Shutdown()
		ns.WaitForShutdown()
	}
	return err
}

// waitReady polls ns until it is ready, it logs a fatal error, ctx ends or timeout passes.
func waitReady(ctx context.Context, ns *server.Server, log *serverLog, started <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case msg := <-log.fatal:
			return fmt.Errorf("%w: %s", ErrServerFatal, msg)
		case <-ctx.Done():
			return fmt.Errorf("waiting for readiness: %w", ctx.Err())
		default:
		}
		if ns.ReadyForConnections(20 * time.Millisecond) {
			select {
			case <-started: // Start has returned: JetStream is set up.
				return nil
			case <-time.After(20 * time.Millisecond):
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s", ErrNotReady, timeout)
		}
	}
}

// checkPortsFree reports a port in use before nats-server would only log it.
func checkPortsFree(cfg Config) error {
	if !cfg.DontListen && cfg.Port > 0 {
		if err := checkPortFree(cfg.Host, cfg.Port); err != nil {
			return fmt.Errorf("client port: %w", err)
		}
	}
	if cfg.Cluster.Name != "" && cfg.Cluster.Port > 0 {
		if err := checkPortFree(cfg.Cluster.Host, cfg.Cluster.Port); err != nil {
			return fmt.Errorf("route port: %w", err)
		}
	}
	return nil
}

func checkPortFree(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// resolvePorts records the ports the server actually listens on, so Config can restart it in place.
func resolvePorts(cfg Config, ns *server.Server) Config {
	if a, ok := ns.Addr().(*net.TCPAddr); ok && !cfg.DontListen {
		cfg.Port = a.Port
	}
	if a := ns.ClusterAddr(); a != nil && cfg.Cluster.Name != "" {
		cfg.Cluster.Port = a.Port
	}
	return cfg
}

// Config returns the effective configuration: defaults applied and random ports resolved. Starting a
// new server with it after Shutdown restarts this one on the same store directory and ports.
func (s *Server) Config() Config { return s.cfg }

// ClientURL is the URL TCP clients connect to, e.g. nats://127.0.0.1:4222.
func (s *Server) ClientURL() string { return s.ns.ClientURL() }

// Connect returns a client connection that does not go through TCP (nats.InProcessServer); opts are
// applied after it. In-process connections do not survive a restart; use ClientURL for that.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	all := append([]nats.Option{nats.InProcessServer(s.ns), nats.Name(s.cfg.ServerName + "-inprocess")}, opts...)
	// The server lets in-process clients skip TLS; a tls:// URL would make the client insist on it.
	_, hostPort, _ := strings.Cut(s.ClientURL(), "://")
	nc, err := nats.Connect("nats://"+hostPort, all...)
	if err != nil {
		return nil, fmt.Errorf("connecting in-process to %q: %w", s.cfg.ServerName, err)
	}
	return nc, nil
}

// Underlying returns the nats-server for what this package does not wrap (monitoring, cluster state in
// tests). Do not shut it down directly.
func (s *Server) Underlying() *server.Server { return s.ns }

// Shutdown stops the server, waits until it has closed its store and listeners, and releases the store
// directory. It is safe to call more than once.
func (s *Server) Shutdown() {
	s.shutdown.Do(func() {
		s.ns.Shutdown()
		s.ns.WaitForShutdown()
		unlock(s.lock)
	})
}

// Running reports whether the server has not been shut down.
func (s *Server) Running() bool { return s.ns.Running() }
