// Command example follows FILE_ACTIVITY events with package client: one line per event, and with
// -cursor it keeps the sequence of the last batch handled in a file, so that the next run resumes right
// after it (nothing twice, nothing missed).
//
//	go run ./client/example -type unlink -type rename -path '/etc/**' -cursor /tmp/fact.seq
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/factstream/factstream/client"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// config holds the flags.
type config struct {
	url    string
	since  string
	cursor string
	filter client.Filter
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "example:", err)
		os.Exit(1)
	}
}

func parseFlags() config {
	var c config
	flag.StringVar(&c.url, "nats", nats.DefaultURL, "NATS URL")
	flag.StringVar(&c.since, "since", "new", `where to start without a cursor: "new", "all", seq:N, a duration (10m) or an RFC 3339 time`)
	flag.StringVar(&c.cursor, "cursor", "", "file holding the last sequence handled: resume after it, update it after every batch")
	appendTo := func(list *[]string) func(string) error {
		return func(v string) error { *list = append(*list, v); return nil }
	}
	flag.Func("host", "only events of this host, repeatable", appendTo(&c.filter.Hosts))
	flag.Func("type", "only events of this type, repeatable ("+strings.Join(client.Types(), ", ")+")", appendTo(&c.filter.Types))
	flag.Func("path", "only events on paths matching this glob (/etc/**), repeatable", appendTo(&c.filter.Paths))
	flag.Parse()
	return c
}

func run() error {
	c := parseFlags()
	start, err := startFrom(c)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	nc, err := nats.Connect(c.url, nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connecting to %s: %w", c.url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("using JetStream: %w", err)
	}
	opts := client.Options{
		Filter:  c.filter,
		Start:   start,
		OnError: func(err error) { fmt.Fprintln(os.Stderr, "example:", err) },
	}
	return client.Subscribe(ctx, js, opts, func(b client.Batch) error {
		for _, e := range b.Events {
			fmt.Printf("%d %s %s %-10s %q\n", e.Seq, time.Unix(0, e.Time).UTC().Format(time.RFC3339Nano), e.Host, e.Type, e.Path)
		}
		return saveCursor(c.cursor, b.Seq)
	})
}

// startFrom resumes after the cursor file's sequence when there is one, and starts at -since otherwise.
func startFrom(c config) (client.Start, error) {
	if c.cursor == "" {
		return client.ParseStart(c.since, time.Now())
	}
	data, err := os.ReadFile(c.cursor)
	if errors.Is(err, fs.ErrNotExist) {
		return client.ParseStart(c.since, time.Now())
	}
	if err != nil {
		return client.Start{}, fmt.Errorf("reading the cursor: %w", err)
	}
	seq, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return client.Start{}, fmt.Errorf("reading the cursor %s: %w", c.cursor, err)
	}
	return client.ResumeAfter(seq), nil
}

// saveCursor replaces the cursor file with seq (write, then rename, so a crash leaves the old one).
func saveCursor(path string, seq uint64) error {
	if path == "" {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cursor-*")
	if err != nil {
		return fmt.Errorf("saving the cursor: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := fmt.Fprintln(tmp, seq); err != nil {
		tmp.Close()
		return fmt.Errorf("saving the cursor: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving the cursor: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("saving the cursor: %w", err)
	}
	return nil
}
