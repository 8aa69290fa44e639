package natsserver

import (
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.uber.org/zap"
)

// Defaults applied by Start to zero fields of Config.
const (
	DefaultHost         = "127.0.0.1"
	DefaultPort         = 4222
	RandomPort          = -1
	DefaultServerName   = "factstream"
	DefaultReadyTimeout = 10 * time.Second
)

// Config describes one embedded server. The zero value plus a StoreDir is a loopback server on port 4222.
type Config struct {
	// StoreDir is where JetStream keeps its file store. Required. Reusing it after a Shutdown restarts the
	// server with the streams it held.
	StoreDir string
	// Host is the client listen address, DefaultHost when empty.
	Host string
	// Port is the client port: 0 means DefaultPort, RandomPort (-1) picks a free one (see Server.Config).
	Port int
	// DontListen accepts in-process connections only (no TCP listener); Host and Port are then unused.
	DontListen bool
	// ServerName names the server in logs, JetStream and clusters; DefaultServerName when empty. It must
	// be unique within a cluster.
	ServerName string
	// JetStream bounds the resources JetStream may use.
	JetStream JetStreamLimits
	// Cluster, when Name is set, joins the server to a cluster of routes (JetStream clustered).
	Cluster ClusterConfig
	// ReadyTimeout bounds the wait for the server to accept connections; DefaultReadyTimeout when zero.
	ReadyTimeout time.Duration
	// Users, when set, are the only identities that may connect, each with its permissions (see package
	// natsauth); without them the server admits anyone, which only tests do.
	Users []*server.NkeyUser
	// TLS secures client connections; it is required to listen on an address other than loopback.
	TLS TLSConfig
	// Logger receives the server's log lines (notices at Info); nil discards them.
	Logger *zap.Logger
}

// TLSConfig names the server's certificate and key files (PEM). In-process connections skip TLS.
type TLSConfig struct {
	Cert string
	Key  string
}

// enabled says whether TLS is configured.
func (t TLSConfig) enabled() bool { return t.Cert != "" || t.Key != "" }

// JetStreamLimits are JetStream's account-wide resource limits; zero lets the server pick (a share of
// memory and disk).
type JetStreamLimits struct {
	MaxMemory int64
	MaxStore  int64
}

// ClusterConfig joins servers into a cluster. Routes may include the server's own address.
type ClusterConfig struct {
	// Name is the cluster name; clustering is off when empty.
	Name string
	// Host is the route listen address, Config.Host when empty.
	Host string
	// Port is the route port; RandomPort (-1) picks a free one.
	Port int
	// Routes are the seed routes, e.g. "nats-route://127.0.0.1:6222".
	Routes []string
}

// withDefaults returns cfg with zero fields defaulted, or an error naming the bad field.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.StoreDir == "" {
		return cfg, fmt.Errorf("checking config: StoreDir: %w", ErrNoStoreDir)
	}
	if cfg.Port < RandomPort || cfg.Port > 65535 {
		return cfg, fmt.Errorf("checking config: Port %d: %w", cfg.Port, ErrInvalidPort)
	}
	if cfg.Host == "" {
		cfg.Host = DefaultHost
	}
	if cfg.Port == 0 {
		cfg.Port = DefaultPort
	}
	if cfg.ServerName == "" {
		cfg.ServerName = DefaultServerName
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = DefaultReadyTimeout
	}
	if cfg.Cluster.Name != "" && cfg.Cluster.Host == "" {
		cfg.Cluster.Host = cfg.Host
	}
	if (cfg.TLS.Cert == "") != (cfg.TLS.Key == "") {
		return cfg, fmt.Errorf("checking config: TLS: %w", ErrTLSIncomplete)
	}
	if !cfg.DontListen && !cfg.TLS.enabled() && !IsLoopback(cfg.Host) {
		return cfg, fmt.Errorf("checking config: Host %s: %w", cfg.Host, ErrTLSRequired)
	}
	return cfg, nil
}

// IsLoopback says whether host (a name or an address) is this machine's loopback: only there may clients
// connect without TLS.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// serverOptions translates a defaulted Config into nats-server options.
func (cfg Config) serverOptions() (*server.Options, error) {
	opts := &server.Options{
		ServerName:         cfg.ServerName,
		Host:               cfg.Host,
		Port:               cfg.Port,
		DontListen:         cfg.DontListen,
		JetStream:          true,
		StoreDir:           cfg.StoreDir,
		JetStreamMaxMemory: cfg.JetStream.MaxMemory,
		JetStreamMaxStore:  cfg.JetStream.MaxStore,
		NoSigs:             true,
		Nkeys:              cfg.Users,
	}
	if cfg.TLS.enabled() {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cfg.TLS.Cert, KeyFile: cfg.TLS.Key})
		if err != nil {
			return nil, fmt.Errorf("checking config: TLS: %w", err)
		}
		opts.TLSConfig, opts.TLS = tc, true
	}
	if cfg.Cluster.Name == "" {
		return opts, nil
	}
	opts.Cluster = server.ClusterOpts{Name: cfg.Cluster.Name, Host: cfg.Cluster.Host, Port: cfg.Cluster.Port}
	for _, r := range cfg.Cluster.Routes {
		u, err := url.Parse(r)
		if err != nil {
			return nil, fmt.Errorf("checking config: Cluster.Routes %q: %w", r, err)
		}
		opts.Routes = append(opts.Routes, u)
	}
	return opts, nil
}
