package main

import (
	"fmt"

	"github.com/factstream/factstream/sensor"
	"github.com/nats-io/nats.go"
	"github.com/spf13/pflag"
	"go.uber.org/zap"
)

// clientOptions are the flags of a command that works against a given NATS (resolver, tail).
type clientOptions struct {
	url       string
	creds     string
	logLevel  string
	logFormat string
}

func (o *clientOptions) bind(fs *pflag.FlagSet) {
	fs.StringVar(&o.url, "nats", "nats://"+sensor.DefaultEmbeddedListen, "NATS URL(s), comma-separated")
	fs.StringVar(&o.creds, "creds", "", "NATS credentials file")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "auto", "auto (console on a terminal, else JSON), json or console")
}

func (o *clientOptions) logger() (*zap.Logger, error) {
	return newLogger(sensor.LogConfig{Level: o.logLevel, Format: o.logFormat})
}

// connect connects to the NATS the options name; the connection keeps reconnecting when it drops.
func (o *clientOptions) connect(name string, log *zap.Logger) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), connLogging(log)}
	if o.creds != "" {
		opts = append(opts, nats.UserCredentials(o.creds))
	}
	nc, err := nats.Connect(o.url, opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", o.url, err)
	}
	return nc, nil
}
