package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/factstream/factstream/internal/natsserver"
	"github.com/factstream/factstream/sensor"
	"github.com/factstream/factstream/sensor/publish"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

// natsLink is the sensor's NATS: a connection, and the embedded server it goes to when no URL is set.
type natsLink struct {
	conn   *nats.Conn
	server *natsserver.Server
}

// Close closes the connection, then stops the embedded server.
func (l *natsLink) Close() {
	l.conn.Close()
	if l.server != nil {
		l.server.Shutdown()
	}
}

// connectNATS starts the embedded server (file storage under the state directory, listening on
// loopback for other clients, an in-process connection for the sensor) or connects to an external one.
// An external server that cannot be reached yet is not an error: the connection keeps trying and the
// sensor spools meanwhile. The embedded server logs to serverLog.
func connectNATS(ctx context.Context, cfg sensor.Config, log, serverLog *zap.Logger) (*natsLink, error) {
	opts := append(publish.ConnOptions(), nats.Name("factstream-sensor-"+cfg.Host), connLogging(log))
	if cfg.NATS.URL == "" {
		return startEmbedded(ctx, cfg, log, serverLog, opts)
	}
	extra, err := authOptions(cfg.NATS)
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
	store := cfg.NATS.Embedded.StoreDir
	if store == "" {
		store = filepath.Join(cfg.StateDir, "jetstream")
	}
	srv, err := natsserver.Start(ctx, natsserver.Config{StoreDir: store, Host: host, Port: port, Logger: serverLog})
	if err != nil {
		return nil, fmt.Errorf("starting the embedded NATS server: %w", err)
	}
	nc, err := srv.Connect(opts...)
	if err != nil {
		srv.Shutdown()
		return nil, err
	}
	log.Info("embedded NATS server running", zap.String("url", srv.ClientURL()), zap.String("store_dir", store))
	return &natsLink{conn: nc, server: srv}, nil
}

// authOptions are the TLS and credential options of an external connection.
func authOptions(c sensor.NATSConfig) ([]nats.Option, error) {
	var opts []nats.Option
	if c.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(c.TLS.CA))
	}
	if c.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(c.TLS.Cert, c.TLS.Key))
	}
	if c.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.NkeySeedFile != "" {
		o, err := nats.NkeyOptionFromSeed(c.NkeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats.nkey_seed_file: %w", err)
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
