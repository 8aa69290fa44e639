package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/pipeline/changeset"
	"github.com/factstream/factstream/schemas"
	"github.com/spf13/cobra"
)

// diffOptions are the flags of `factstream diff`.
type diffOptions struct {
	historyOptions
	all bool
}

// fromBaseline is the --from value that means the end of the host's first scan.
const fromBaseline = "baseline"

func newDiffCmd() *cobra.Command {
	o := &diffOptions{}
	cmd := &cobra.Command{
		Use:   "diff",
		Short: "What a period changed on a host: files added, removed, renamed, rewritten, chmod'ed, chown'ed",
		Long: `Replay a host from the raw stream FACT_RAW with the resolver's own code, as history does, and print the
net change set of the period [--from, --to]: one line per change, sorted by path, comparing each file at
the period's end with the same file (by identity, through renames) at its start:

  added /p (sha256:…)           removed /p                  renamed /a → /b
  content /p sha256:a → sha256:b   mode /p 0644 → 0600      owner /p 0:0 → 1000:1000
  drift /p …                    (a scan found the file changed without an event that explains it)

A file written but left with the hash it had is listed (written /p sha256:…) only with --all; a file created
and removed within the period, or changed and changed back, is not listed. Content is compared by the
content events' hashes: a file with no hash known before its first write in the period shows (none) as its
old hash. When the period has gap events the first line says the set may be incomplete. --from baseline
(the default) is the end of the host's first scan that FACT_RAW holds. With --json, or when stdout is not
a terminal, each line is a JSON object (schemas/README.md, "The change report"). The replay's progress
goes to stderr.`,
		Example: `  # what changed on web-1 since its first scan
  factstream diff --host web-1

  # what changed under /etc during a maintenance window, as JSON lines
  factstream diff --host web-1 --path /etc --from 2026-11-25T13:00:00Z --to 2026-11-25T14:00:00Z --json

  # every *.conf changed in the last day, files written but unchanged included
  factstream diff --host web-1 --path '/etc/**/*.conf' --from 24h --all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDiff(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	o.bindPeriod(f, "/", "report only the changes of this host path (and below it) or of paths matching this glob, old or new",
		fromBaseline, "the period's start: "+momentHelp+", or baseline: the end of the host's first scan")
	f.BoolVar(&o.all, "all", false, "also list files written but left with the hash they had")
	return cmd
}

// validate checks every flag before anything connects. The query's From is zero when --from is baseline.
func (o *diffOptions) validate(now time.Time) (pipeline.HistoryQuery, error) {
	h := o.historyOptions
	if h.from == fromBaseline {
		h.from = ""
	}
	q, err := h.validate(now)
	if err != nil {
		return q, err
	}
	if o.from == fromBaseline && q.To.IsZero() {
		q.To = now
	}
	return q, nil
}

func runDiff(ctx context.Context, cmd *cobra.Command, o *diffOptions) error {
	q, err := o.validate(time.Now())
	if err != nil {
		return err
	}
	match, err := pipeline.PathMatcher(q.Path)
	if err != nil {
		return fmt.Errorf("--path: %w", err)
	}
	q.Path = "" // every event: a rename into the path needs the file's history outside it
	js, explain, closeConn, err := o.connect("factstream-diff")
	if err != nil {
		return err
	}
	defer closeConn()
	if o.from == fromBaseline {
		if q.From, err = pipeline.BaselineTime(ctx, js, o.host); err != nil {
			if errors.Is(err, pipeline.ErrNoBaseline) {
				return fmt.Errorf("--from baseline: %s holds no finished scan of %s; give --from a time", schemas.RawStream, o.host)
			}
			return explain("read "+schemas.RawStream, err)
		}
		if q.From.After(q.To) {
			return fmt.Errorf("--from baseline is %s, after --to %s", q.From.Format(time.RFC3339Nano), q.To.Format(time.RFC3339Nano))
		}
	}
	prog := newProgress(cmd.ErrOrStderr(), stderrIsTerminal(cmd.ErrOrStderr()), o.noProgress, "replaying "+o.host)
	q.Progress = prog.update
	events, err := pipeline.History(ctx, js, q)
	prog.finish()
	if err != nil {
		return explain("read "+schemas.RawStream, fmt.Errorf("changes on %s: %w", o.host, err))
	}
	slices.SortStableFunc(events, func(a, b schemas.Activity) int { return cmp.Compare(a.Time, b.Time) })
	r := changeset.Compute(events, changeset.Options{All: o.all, Match: match})
	if err := writeChanges(cmd.OutOrStdout(), &r, o.asJSON(cmd)); err != nil {
		return fmt.Errorf("writing the changes: %w", err)
	}
	return nil
}
