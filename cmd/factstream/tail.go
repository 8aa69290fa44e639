package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/factstream/factstream/client"
	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// tailOptions are the flags of `factstream tail`.
type tailOptions struct {
	client clientOptions
	filter client.Filter
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
filter are alternatives. By default only new events are printed; --since starts earlier: at a time, or
at a FACT_ACTIVITY stream sequence with seq:N (to resume after sequence N, give seq:N+1).

A resolver's commit is printed at once, in time order, when its checkpoint comes (or 200ms after its
first event without one). Go programs read the same way with package
github.com/factstream/factstream/client.`,
		Example: `  # everything new, from the server of factstream up
  factstream tail

  # deletions and renames under /etc/ssh on two hosts, from the last hour
  factstream tail --nats nats://nats:4222 --host web-1 --host web-2 \
      --type unlink --type rename --path '/etc/ssh/**' --since 1h

  # the whole stream as JSON lines
  factstream tail --since all --json | jq -r .host_path

  # from stream sequence 1200 on
  factstream tail --since seq:1200`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTail(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	o.client.bind(f)
	f.StringArrayVar(&o.filter.Hosts, "host", nil, "only events of this host, repeatable")
	f.StringArrayVar(&o.filter.Types, "type", nil, "only events of this type, repeatable ("+strings.Join(client.Types(), ", ")+")")
	f.StringArrayVar(&o.filter.Paths, "path", nil, "only events on paths matching this glob (/etc/**, /srv/*.conf, as in the monitored paths), repeatable")
	f.BoolVar(&o.json, "json", false, "print JSON lines (default when stdout is not a terminal)")
	f.StringVar(&o.since, "since", "", `start at a time (RFC 3339, e.g. 2026-11-25T13:00:00Z), a duration ago (10m), a stream sequence (seq:N) or "all" (default: new events only)`)
	return cmd
}

// validate checks every flag before anything connects and returns where tail starts.
func (o *tailOptions) validate(now time.Time) (client.Start, error) {
	if err := o.filter.Validate(); err != nil {
		return client.Start{}, flagErrors(err)
	}
	start, err := client.ParseStart(o.since, now)
	if err != nil {
		return client.Start{}, flagErrors(err)
	}
	return start, nil
}

// flagErrors names the flags (--host, --type, --path, --since) in the client.ValueErrors of err (one, or
// several joined).
func flagErrors(err error) error {
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
		if ve, ok := errors.AsType[*client.ValueError](e); ok {
			flag := ve.Field // host, type, path
			if flag == "start" {
				flag = "since"
			}
			out[i] = fmt.Errorf("--%s %q: %s", flag, ve.Value, ve.Reason)
		}
	}
	return errors.Join(out...)
}

func runTail(ctx context.Context, cmd *cobra.Command, o *tailOptions) error {
	start, err := o.validate(time.Now())
	if err != nil {
		return err
	}
	log, err := o.client.logger()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	out := cmd.OutOrStdout()
	tty := stdoutIsTerminal(out)
	asJSON := o.json || (!cmd.Flags().Changed("json") && !tty)
	nc, err := o.client.connect("factstream-tail", natsauth.RoleReader, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	p := newPrinter(out, asJSON, !asJSON && tty, true)
	err = follow(ctx, js, client.Options{Filter: o.filter, Start: start}, p, log)
	return o.client.explain(nc, natsauth.RoleReader, "read "+schemas.ActivityStream, err)
}
