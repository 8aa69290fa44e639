package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
)

// replayOptions are the flags of `factstream replay`.
type replayOptions struct {
	forensicOptions
	untilTime string
	untilSeq  uint64
	inode     string
}

// replayQuery is what the flags of replay ask, checked.
type replayQuery struct {
	opts     pipeline.ReplayOptions
	hasInode bool
	dev, ino uint64 // dev 0: every filesystem of the host
}

func newReplayCmd() *cobra.Command {
	o := &replayOptions{}
	cmd := &cobra.Command{
		Use:   "replay",
		Short: "Rebuild a host's inode→path index from FACT_RAW as of a moment; which paths an inode had",
		Long: `Rebuild a host's inode→path index from the raw stream FACT_RAW, the system of record, with the
resolver's own code, as of a time (--until-time: the events after it are left out) or a FACT_RAW
sequence (--until-seq), or as of now without either.

With --inode it answers which host paths that inode had then, on one filesystem (DEV:INO) or on every
filesystem of the host (INO); DEV and INO are numbers as in the "inode" field of an event (decimal, or
hexadecimal with 0x). Without --inode it prints what was rebuilt: the filesystems, their inode counts
and the FACT_RAW sequence covered.

The replay's progress goes to stderr (a bar on a terminal); the answer to stdout, as text or, with
--json or when stdout is not a terminal, as one JSON object.`,
		Example: `  # which paths did inode 1837 on filesystem 66307 have at 13:00 UTC on Nov 25th?
  factstream replay --host web-1 --until-time 2026-11-25T13:00:00Z --inode 66307:1837

  # the same inode on any filesystem of the host, ten minutes ago, as JSON
  factstream replay --host web-1 --until-time 10m --inode 1837 --json

  # what the index held after FACT_RAW message 52000
  factstream replay --nats nats://nats:4222 --host web-1 --until-seq 52000`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runReplay(cmd.Context(), cmd, o)
		},
	}
	f := cmd.Flags()
	o.bind(f)
	f.StringVar(&o.untilTime, "until-time", "", "rebuild as of this time: "+momentHelp+" (default: now)")
	f.Uint64Var(&o.untilSeq, "until-seq", 0, "rebuild as of this FACT_RAW sequence (messages above it are left out)")
	f.StringVar(&o.inode, "inode", "", "the inode to find: DEV:INO, or INO on any filesystem of the host")
	return cmd
}

// validate checks every flag before anything connects; seqSet says whether --until-seq was given.
func (o *replayOptions) validate(now time.Time, seqSet bool) (replayQuery, error) {
	var q replayQuery
	if err := o.forensicOptions.validate(); err != nil {
		return q, err
	}
	if o.untilTime != "" && seqSet {
		return q, fmt.Errorf("--until-time and --until-seq: give one bound, not both")
	}
	if seqSet && o.untilSeq == 0 {
		return q, fmt.Errorf("--until-seq 0: FACT_RAW sequences start at 1")
	}
	until, err := parseMoment("until-time", o.untilTime, now)
	if err != nil {
		return q, err
	}
	q.opts = pipeline.ReplayOptions{Host: o.host, Until: until, UntilSeq: o.untilSeq, Lateness: o.lateness}
	if o.inode != "" {
		if q.dev, q.ino, err = parseInode(o.inode); err != nil {
			return q, err
		}
		q.hasInode = true
	}
	return q, nil
}

// parseInode reads DEV:INO or INO.
func parseInode(s string) (dev, ino uint64, err error) {
	devStr, inoStr, both := strings.Cut(s, ":")
	if !both {
		devStr, inoStr = "", s
	}
	if both {
		if dev, err = parseNumber(devStr); err != nil || dev == 0 {
			return 0, 0, fmt.Errorf("--inode %q: want DEV:INO or INO, DEV a non-zero number (decimal or 0x hexadecimal)", s)
		}
	}
	if ino, err = parseNumber(inoStr); err != nil || ino == 0 {
		return 0, 0, fmt.Errorf("--inode %q: want DEV:INO or INO, INO a non-zero number (decimal or 0x hexadecimal)", s)
	}
	return dev, ino, nil
}

// parseNumber reads a decimal number, or a hexadecimal one after 0x.
func parseNumber(s string) (uint64, error) {
	if h, ok := strings.CutPrefix(strings.ToLower(s), "0x"); ok {
		return strconv.ParseUint(h, 16, 64)
	}
	return strconv.ParseUint(s, 10, 64)
}

func runReplay(ctx context.Context, cmd *cobra.Command, o *replayOptions) error {
	q, err := o.validate(time.Now(), cmd.Flags().Changed("until-seq"))
	if err != nil {
		return err
	}
	js, explain, closeConn, err := o.connect("factstream-replay")
	if err != nil {
		return err
	}
	defer closeConn()
	prog := newProgress(cmd.ErrOrStderr(), stderrIsTerminal(cmd.ErrOrStderr()), o.noProgress, "replaying "+o.host)
	q.opts.Progress = prog.update
	st, err := pipeline.Rebuild(ctx, js, q.opts)
	prog.finish()
	if err != nil {
		return explain("read "+schemas.RawStream, fmt.Errorf("replaying %s: %w", o.host, err))
	}
	out := cmd.OutOrStdout()
	if o.asJSON(cmd) {
		return writeJSON(out, replayReport(q, st))
	}
	return writeReplayText(out, q, st)
}

// connect connects to NATS as a reader for a forensic command and returns the JetStream context, what
// explains a refusal of the server and what closes it.
func (o *forensicOptions) connect(name string) (jetstream.JetStream, func(what string, err error) error, func(), error) {
	log, err := o.client.logger()
	if err != nil {
		return nil, nil, nil, err
	}
	nc, err := o.client.connect(name, natsauth.RoleReader, log)
	if err != nil {
		_ = log.Sync()
		return nil, nil, nil, err
	}
	closeAll := func() { nc.Close(); _ = log.Sync() }
	js, err := jetstream.New(nc)
	if err != nil {
		closeAll()
		return nil, nil, nil, fmt.Errorf("creating jetstream context: %w", err)
	}
	explain := func(what string, err error) error { return o.client.explain(nc, natsauth.RoleReader, what, err) }
	return js, explain, closeAll, nil
}

// asJSON says whether to print JSON: --json, or stdout not a terminal when --json is not given.
func (o *forensicOptions) asJSON(cmd *cobra.Command) bool {
	if cmd.Flags().Changed("json") {
		return o.json
	}
	return !stdoutIsTerminal(cmd.OutOrStdout())
}

// replayJSON is the JSON answer of replay. Paths follow the events' convention: a string, with U+FFFD
// for each byte that is not UTF-8, and then path_b64 with the exact bytes.
type replayJSON struct {
	Host        string           `json:"host"`
	UntilTime   string           `json:"until_time,omitempty"`
	UntilSeq    uint64           `json:"until_seq,omitempty"`
	Covers      uint64           `json:"covers_seq"`
	Inode       *inodeJSON       `json:"inode,omitempty"`
	Filesystems []filesystemJSON `json:"filesystems,omitempty"`
}

type inodeJSON struct {
	Dev   uint64     `json:"dev,omitempty"`
	Ino   uint64     `json:"ino"`
	Paths []pathJSON `json:"paths"`
}

type pathJSON struct {
	Dev     uint64 `json:"dev"`
	Path    string `json:"path"`
	PathB64 []byte `json:"path_b64,omitempty"`
}

type filesystemJSON struct {
	Dev       uint64 `json:"dev"`
	Inodes    int    `json:"inodes"`
	SensorSeq uint64 `json:"sensor_seq"`
	Scanning  bool   `json:"scanning"`
	Uncertain bool   `json:"uncertain"`
}

func replayReport(q replayQuery, st *pipeline.HostState) replayJSON {
	r := replayJSON{Host: q.opts.Host, UntilSeq: q.opts.UntilSeq, Covers: st.Covers}
	if !q.opts.Until.IsZero() {
		r.UntilTime = q.opts.Until.UTC().Format(time.RFC3339Nano)
	}
	if q.hasInode {
		r.Inode = &inodeJSON{Dev: q.dev, Ino: q.ino, Paths: []pathJSON{}}
		for _, dp := range st.Paths(q.dev, q.ino) {
			for _, p := range dp.Paths {
				pj := pathJSON{Dev: dp.Dev, Path: validText(p)}
				if !utf8.Valid(p) {
					pj.PathB64 = p
				}
				r.Inode.Paths = append(r.Inode.Paths, pj)
			}
		}
		return r
	}
	for _, dev := range st.Devs() {
		x := st.Index(dev)
		r.Filesystems = append(r.Filesystems, filesystemJSON{Dev: dev, Inodes: x.Len(), SensorSeq: x.Seq(),
			Scanning: x.Scanning(), Uncertain: x.Uncertain()})
	}
	return r
}

// validText is p with U+FFFD for each byte that is not UTF-8.
func validText(p []byte) string {
	var b strings.Builder
	for len(p) > 0 {
		r, n := utf8.DecodeRune(p)
		b.WriteRune(r) // RuneError for an invalid byte, n is then 1
		p = p[n:]
	}
	return b.String()
}

// writeJSON writes v as one indented JSON object.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing JSON: %w", err)
	}
	return nil
}

// asOf describes the replay's bound for a person.
func asOf(q replayQuery, covers uint64) string {
	var s string
	switch {
	case !q.opts.Until.IsZero():
		s = "as of " + q.opts.Until.Format(time.RFC3339Nano)
	case q.opts.UntilSeq != 0:
		s = "as of FACT_RAW sequence " + strconv.FormatUint(q.opts.UntilSeq, 10)
	default:
		s = "as of now"
	}
	return s + fmt.Sprintf(" (FACT_RAW read up to sequence %d)", covers)
}

func writeReplayText(w io.Writer, q replayQuery, st *pipeline.HostState) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if q.hasInode {
		writeInodeText(tw, q, st)
	} else {
		writeSummaryText(tw, q, st)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the answer: %w", err)
	}
	return nil
}

func writeInodeText(w io.Writer, q replayQuery, st *pipeline.HostState) {
	which := "inode " + strconv.FormatUint(q.ino, 10)
	if q.dev != 0 {
		which += " on filesystem " + strconv.FormatUint(q.dev, 10)
	}
	dps := st.Paths(q.dev, q.ino)
	if len(dps) == 0 {
		fmt.Fprintf(w, "%s of host %s had no known path %s\n", which, q.opts.Host, asOf(q, st.Covers))
		return
	}
	fmt.Fprintf(w, "%s of host %s %s:\n", which, q.opts.Host, asOf(q, st.Covers))
	fmt.Fprintf(w, "DEV\tPATH\n")
	for _, dp := range dps {
		for _, p := range dp.Paths {
			fmt.Fprintf(w, "%d\t%s\n", dp.Dev, appendText(nil, p))
		}
	}
}

func writeSummaryText(w io.Writer, q replayQuery, st *pipeline.HostState) {
	devs := st.Devs()
	fmt.Fprintf(w, "host %s %s: %d filesystems\n", q.opts.Host, asOf(q, st.Covers), len(devs))
	if len(devs) == 0 {
		return
	}
	fmt.Fprintf(w, "DEV\tMAJOR:MINOR\tINODES\tSENSOR SEQ\tSTATE\n")
	for _, dev := range devs {
		x := st.Index(dev)
		state := "complete"
		switch {
		case x.Scanning():
			state = "scanning"
		case x.Uncertain():
			state = "uncertain (events lost since the last scan)"
		}
		fmt.Fprintf(w, "%d\t%d:%d\t%d\t%d\t%s\n", dev, dev>>20, dev&0xfffff, x.Len(), x.Seq(), state)
	}
}
