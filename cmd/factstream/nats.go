package main

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/internal/natsserver"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/sensor"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// natsLink is the sensor's NATS: a connection, and the embedded server it goes to when no URL is set.
type natsLink struct {
	conn   *nats.Conn
	server *natsserver.Server
	ids    *natsauth.Identities // the embedded server's identities
}

// Close closes the connection, then stops the embedded server.
func (l *natsLink) Close() {
	l.conn.Close()
	if l.server != nil {
		l.server.Shutdown()
	}
}

// connectNATS starts the embedded server (file storage under the state directory, listening on
// loopback for other clients, admitting only the identities of <state-dir>/creds, an in-process
// connection for the sensor) or connects to an external one.
// An external server that cannot be reached yet is not an error: the connection keeps trying and the
// sensor spools meanwhile. The embedded server logs to serverLog.
func connectNATS(ctx context.Context, cfg sensor.Config, log, serverLog *zap.Logger) (*natsLink, error) {
	opts := append(publish.ConnOptions(), nats.Name("factstream-sensor-"+cfg.Host), connLogging(log))
	if cfg.NATS.URL == "" {
		return startEmbedded(ctx, cfg, log, serverLog, opts)
	}
	extra, err := authOptions(cfg.NATS.TLS, cmp.Or(cfg.NATS.CredsFile, cfg.NATS.NkeySeedFile), natsauth.RoleSensor, cfg.Host)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(cfg.NATS.URL, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", cfg.NATS.URL, err)
	}
	if !nc.IsConnected() {
		log.Warn("NATS is not reachable yet; retrying in the background and spooling meanwhile",
			zap.String("url", cfg.NATS.URL), zap.Stringer("status", nc.Status()))
	}
	return &natsLink{conn: nc}, nil
}

func startEmbedded(ctx context.Context, cfg sensor.Config, log, serverLog *zap.Logger, opts []nats.Option) (*natsLink, error) {
	host, portStr, err := net.SplitHostPort(cfg.NATS.Embedded.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats.embedded.listen: %w", err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("nats.embedded.listen: port %q: %w", portStr, err)
	}
	ids, err := natsauth.EnsureIdentities(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("preparing the embedded NATS server's identities: %w", err)
	}
	users, err := ids.Users(cfg.Host)
	if err != nil {
		return nil, err
	}
	store := embeddedStore(cfg)
	srv, err := natsserver.Start(ctx, natsserver.Config{StoreDir: store, Host: host, Port: port, Users: users,
		TLS: natsserver.TLSConfig{Cert: cfg.NATS.Embedded.TLS.Cert, Key: cfg.NATS.Embedded.TLS.Key}, Logger: serverLog})
	if err != nil {
		return nil, fmt.Errorf("starting the embedded NATS server: %w", err)
	}
	if err := provision(ctx, srv, ids, cfg, log); err != nil {
		srv.Shutdown()
		return nil, err
	}
	nc, err := srv.Connect(append(opts, ids.Option(natsauth.RoleSensor, cfg.Host))...)
	if err != nil {
		srv.Shutdown()
		return nil, err
	}
	log.Info("embedded NATS server running", zap.String("url", srv.ClientURL()), zap.String("store_dir", store),
		zap.String("credentials", filepath.Join(cfg.StateDir, natsauth.CredsDir)))
	return &natsLink{conn: nc, server: srv, ids: ids}, nil
}

// embeddedStore is the embedded server's JetStream store directory.
func embeddedStore(cfg sensor.Config) string {
	return cmp.Or(cfg.NATS.Embedded.StoreDir, filepath.Join(cfg.StateDir, "jetstream"))
}

// provision creates, as admin, the streams of the embedded server: FACT_RAW as the sensor is configured,
// FACT_ACTIVITY and the snapshot store as a resolver needs them, the record streams denying deletes and
// purges. The sensor and the resolver then only look them up: neither may manage streams.
func provision(ctx context.Context, srv *natsserver.Server, ids *natsauth.Identities, cfg sensor.Config, log *zap.Logger) error {
	nc, err := srv.Connect(ids.Option(natsauth.RoleAdmin, ""), nats.Name("factstream-provision"))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, provisionTimeout)
	defer cancel()
	if err := publish.EnsureRawStream(ctx, js, cfg.NATS.Stream.Raw()); err != nil {
		return err
	}
	if err := pipeline.EnsureStreams(ctx, js, pipeline.StreamsConfig{}); err != nil {
		return err
	}
	changed, err := natsauth.Protect(ctx, js)
	for _, name := range changed {
		log.Warn("the stream allowed deleting and purging its messages; it denies both now", zap.String("stream", name))
	}
	return err
}

// provisionTimeout bounds provisioning the embedded server's streams.
const provisionTimeout = time.Minute

// authOptions are the TLS and credential options of a connection to an external server as role (for a
// sensor, of host): the sensor's and every other command's. credsFile is a .creds file or an nkey seed
// (empty: none).
func authOptions(tls sensor.TLSConfig, credsFile string, role natsauth.Role, host string) ([]nats.Option, error) {
	var opts []nats.Option
	if tls.CA != "" {
		opts = append(opts, nats.RootCAs(tls.CA))
	}
	if tls.Cert != "" {
		opts = append(opts, nats.ClientCert(tls.Cert, tls.Key))
	}
	if credsFile != "" {
		o, err := natsauth.FileOption(credsFile, role, host)
		if err != nil {
			return nil, fmt.Errorf("nats credentials %s: %w", credsFile, err)
		}
		opts = append(opts, o)
	}
	return opts, nil
}

// connLogging logs the connection's state changes.
func connLogging(log *zap.Logger) nats.Option {
	return func(o *nats.Options) error {
		o.DisconnectedErrCB = func(nc *nats.Conn, err error) {
			if !nc.IsClosed() {
				log.Warn("disconnected from NATS; spooling", zap.Error(err))
			}
		}
		o.ReconnectedCB = func(nc *nats.Conn) {
			log.Info("connected to NATS", zap.String("url", nc.ConnectedUrlRedacted()))
		}
		o.AsyncErrorCB = func(_ *nats.Conn, sub *nats.Subscription, err error) {
			log.Warn("NATS error", zap.Error(err))
		}
		return nil
	}
}
