package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// tailOptions are the flags of `factstream tail`.
type tailOptions struct {
	client clientOptions
	filter filter
	json   bool
	since  string
}

func newTailCmd() *cobra.Command {
	o := &tailOptions{}
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "Print enriched FILE_ACTIVITY events as they come, with filters",
		Long: `Print the enriched events of stream FACT_ACTIVITY: one line each, coloured on a terminal, or JSON
lines (the stable form of schemas/README.md) with --json, the default when stdout is not a terminal.

Filters combine: --host and --type select subjects (fact.activity.<host>.<type>), --path keeps events
whose path or host path (or, for a rename, old path) matches a glob. Each is repeatable; values of one
filter are alternatives. By default only new events are printed; --since starts earlier.`,
		Example: `  # everything new, from the server of factstream up
  factstream tail

  # deletions and renames under /etc/ssh on two hosts, from the last hour
  factstream tail --nats nats://nats:4222 --host web-1 --host web-2 \
      --type unlink --type rename --path '/etc/ssh/**' --since 1h

  # the whole stream as JSON lines
  factstream tail --since all --json | jq -r .host_path`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTail(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	o.client.bind(f)
	f.StringArrayVar(&o.filter.hosts, "host", nil, "only events of this host, repeatable")
	f.StringArrayVar(&o.filter.types, "type", nil, "only events of this type, repeatable ("+strings.Join(activityTypes, ", ")+")")
	f.StringArrayVar(&o.filter.paths, "path", nil, "only events on paths matching this glob (doublestar: /etc/**, /srv/*.conf), repeatable")
	f.BoolVar(&o.json, "json", false, "print JSON lines (default when stdout is not a terminal)")
	f.StringVar(&o.since, "since", "", `start at a time (RFC 3339, e.g. 2026-11-25T13:00:00Z), a duration ago (10m) or "all" (default: new events only)`)
	return cmd
}

// tailConsumer is where tail starts: the ordered consumer's deliver policy for --since.
func tailConsumer(since string, now time.Time) (jetstream.OrderedConsumerConfig, error) {
	switch since {
	case "":
		return jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}, nil
	case "all":
		return jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}, nil
	}
	var t time.Time
	if d, err := time.ParseDuration(since); err == nil && d >= 0 {
		t = now.Add(-d)
	} else if t, err = time.Parse(time.RFC3339Nano, since); err != nil {
		return jetstream.OrderedConsumerConfig{}, fmt.Errorf(`--since %q: want "all", a duration like 10m or a time like 2026-11-25T13:00:00Z`, since)
	}
	return jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &t}, nil
}

// validate checks every flag before anything connects.
func (o *tailOptions) validate(now time.Time) (jetstream.OrderedConsumerConfig, error) {
	if err := o.filter.validate(); err != nil {
		return jetstream.OrderedConsumerConfig{}, err
	}
	return tailConsumer(o.since, now)
}

func runTail(ctx context.Context, cmd *cobra.Command, o *tailOptions) error {
	cc, err := o.validate(time.Now())
	if err != nil {
		return err
	}
	log, err := o.client.logger()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	out := cmd.OutOrStdout()
	tty := out == io.Writer(os.Stdout) && isTerminal(os.Stdout)
	asJSON := o.json || (!cmd.Flags().Changed("json") && !tty)
	nc, err := o.client.connect("factstream-tail", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	p := newPrinter(out, asJSON, !asJSON && tty, true)
	return follow(ctx, js, o.filter, cc, p, log, nil)
}
