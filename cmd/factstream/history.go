package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/factstream/factstream/glob"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/schemas"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// historyOptions are the flags of `factstream history`.
type historyOptions struct {
	forensicOptions
	path          string
	from, to      string
	resolverPaths []string
}

func newHistoryCmd() *cobra.Command {
	o := &historyOptions{}
	cmd := &cobra.Command{
		Use:   "history",
		Short: "What happened under a path during a period, replayed from FACT_RAW",
		Long: `Replay a host from the raw stream FACT_RAW, the system of record, with the resolver's own code,
and print the enriched events whose time is in [--from, --to] and one of whose paths (path, host path,
for a rename the old ones, for a link the existing name) is --path or below it; --path may also be a
glob (/etc/**/*.conf, as in the monitored paths). The gap events of the period are printed too: they say where the
record may be incomplete.

The events are those the resolvers published for the period, byte for byte, even after FACT_ACTIVITY
has dropped them, as long as FACT_RAW still holds the host's events; when the resolvers report only some
paths (their --path globs), give the same globs as --resolver-path. They are printed as tail prints them,
in time order: one line each on a terminal, JSON lines with --json or when stdout is not a terminal.
The replay's progress goes to stderr (a bar on a terminal).`,
		Example: `  # who touched /etc/ssh on web-1 in the last hour
  factstream history --host web-1 --path /etc/ssh --from 1h

  # a period as JSON lines
  factstream history --host web-1 --path /srv/app --from 2026-11-25T13:00:00Z \
      --to 2026-11-25T14:00:00Z --json | jq -r '.type + " " + .host_path'

  # every *.conf renamed or deleted, from a resolver that reports only /etc
  factstream history --host web-1 --path '/etc/**/*.conf' --resolver-path '/etc/**'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runHistory(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	o.bindPeriod(f, "", "a host path (its events and those below it) or a glob (required; / for everything)",
		"", "the period's start: "+momentHelp+" (default: the stream's beginning)")
	return cmd
}

// bindPeriod binds the flags of a period under a path, with the defaults and help of --path and --from
// given.
func (o *historyOptions) bindPeriod(f *pflag.FlagSet, path, pathHelp, from, fromHelp string) {
	o.bind(f)
	f.StringVar(&o.path, "path", path, pathHelp)
	f.StringVar(&o.from, "from", from, fromHelp)
	f.StringVar(&o.to, "to", "", "the period's end: "+momentHelp+" (default: now)")
	f.StringArrayVar(&o.resolverPaths, "resolver-path", nil, "a glob the resolvers report events for (their --path), repeatable (default: every event)")
}

// validate checks every flag before anything connects.
func (o *historyOptions) validate(now time.Time) (pipeline.HistoryQuery, error) {
	var q pipeline.HistoryQuery
	if err := o.forensicOptions.validate(); err != nil {
		return q, err
	}
	if err := checkPathFlag("path", o.path); err != nil {
		return q, err
	}
	from, err := parseMoment("from", o.from, now)
	if err != nil {
		return q, err
	}
	to, err := parseMoment("to", o.to, now)
	if err != nil {
		return q, err
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return q, fmt.Errorf("--from %s is after --to %s", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano))
	}
	for _, p := range o.resolverPaths {
		if err := checkPathFlag("resolver-path", p); err != nil {
			return q, err
		}
	}
	var pats *pipeline.Patterns
	if len(o.resolverPaths) > 0 {
		if pats, err = pipeline.NewPatterns(o.resolverPaths, nil); err != nil {
			return q, fmt.Errorf("--resolver-path: %w", err)
		}
	}
	q.ReplayOptions = pipeline.ReplayOptions{Host: o.host, Patterns: pats, Lateness: o.lateness}
	q.Path, q.From, q.To = o.path, from, to
	return q, nil
}

// checkPathFlag checks that v is an absolute path or glob.
func checkPathFlag(name, v string) error {
	if v == "" {
		return fmt.Errorf("--%s is required: a host path like /etc/ssh or a glob like '/etc/**/*.conf' (/ for everything)", name)
	}
	if _, err := glob.Compile(v); err != nil {
		return fmt.Errorf("--%s %q: not an absolute path or glob like /etc/ssh or /srv/app/*.conf", name, v)
	}
	return nil
}

func runHistory(ctx context.Context, cmd *cobra.Command, o *historyOptions) error {
	q, err := o.validate(time.Now())
	if err != nil {
		return err
	}
	if q.Path == "/" {
		q.Path = "" // everything, gaps and paths outside any tree included
	}
	js, explain, closeConn, err := o.connect("factstream-history")
	if err != nil {
		return err
	}
	defer closeConn()
	prog := newProgress(cmd.ErrOrStderr(), stderrIsTerminal(cmd.ErrOrStderr()), o.noProgress, "replaying "+o.host)
	q.Progress = prog.update
	events, err := pipeline.History(ctx, js, q)
	prog.finish()
	if err != nil {
		return explain("read "+schemas.RawStream, fmt.Errorf("history of %s on %s: %w", o.path, o.host, err))
	}
	slices.SortStableFunc(events, func(a, b schemas.Activity) int { return cmp.Compare(a.Time, b.Time) })
	out := cmd.OutOrStdout()
	asJSON := o.asJSON(cmd)
	p := newPrinter(out, asJSON, !asJSON && stdoutIsTerminal(out), false)
	if err := p.print(events); err != nil {
		return fmt.Errorf("writing events: %w", err)
	}
	return nil
}
