package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
)

// Forensic replay: a host's projections rebuilt from FACT_RAW alone, as of a moment, with the same code
// that serves the live output, so that what a replay says about a period is what was published for it.

// ReplayOptions say which host to rebuild and up to where. The zero bounds read the whole stream.
type ReplayOptions struct {
	// Host to rebuild; required.
	Host string
	// UntilSeq stops before the first FACT_RAW message above this sequence.
	UntilSeq uint64
	// Until leaves out the events after this time (their own time); reading stops once the stream's
	// time is Lateness past it.
	Until time.Time
	// Patterns filter the enriched events as the resolver's do; nil reports every event.
	Patterns *Patterns
	// Lateness as in Config, DefaultLateness when zero.
	Lateness time.Duration
	// Procs bounds the process table as in Config.
	Procs ProcLimits
	// Progress, when set, is called with the messages read and the messages to read every 1,024 messages
	// and at least every 250ms while reading.
	Progress func(done, total uint64)
}

// HostState is a host's projections as of the end of a replay: the index of each of its filesystems and
// its process table. It is not safe for concurrent use.
type HostState struct {
	view *hostView
	// Covers is the FACT_RAW sequence of the last message read.
	Covers uint64
}

// DevPaths are the host paths an inode had on one filesystem.
type DevPaths struct {
	Dev   uint64
	Paths [][]byte
}

// Paths returns the host paths inode ino has on filesystem dev, or on every filesystem of the host when
// dev is 0, sorted by device.
func (s *HostState) Paths(dev, ino uint64) []DevPaths {
	var out []DevPaths
	for _, k := range s.view.idx.Keys() {
		if dev != 0 && k.Dev != dev {
			continue
		}
		if ps := s.view.idx.Index(k).Paths(ino); len(ps) > 0 {
			out = append(out, DevPaths{Dev: k.Dev, Paths: ps})
		}
	}
	return out
}

// Index returns the index of filesystem dev, nil when the host has none.
func (s *HostState) Index(dev uint64) *Index {
	return s.view.idx.Index(Key{Host: s.view.host, Dev: dev})
}

// Devs returns the host's filesystems, sorted.
func (s *HostState) Devs() []uint64 {
	var devs []uint64
	for _, k := range s.view.idx.Keys() {
		devs = append(devs, k.Dev)
	}
	return devs
}

// progressEvery is the longest a replay goes without calling ReplayOptions.Progress: batches of a
// thousand events make 1,024 messages a long wait.
const progressEvery = 250 * time.Millisecond

// Rebuild replays a host from FACT_RAW and returns its projections as of opts' bounds.
func Rebuild(ctx context.Context, js jetstream.JetStream, opts ReplayOptions) (*HostState, error) {
	s, err := replayHost(ctx, js, opts, discard{})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// HistoryQuery asks what happened under a path during a period.
type HistoryQuery struct {
	ReplayOptions
	// Path is a host path: the events of it and of everything below it are returned; or an absolute
	// pattern of package glob (it has a '*', '?', '[' or '{'), matched as such. Empty returns every
	// event.
	Path string
	// From and To bound the events' times, inclusive; zero From is the beginning, zero To the end.
	From, To time.Time
}

// History replays a host up to q.To and returns the enriched events, as the resolver publishes them,
// whose time is in [q.From, q.To] and one of whose paths (path, host_path, old path, old host path, and
// for a link the existing name) is under q.Path. Gap events of the period are returned too.
func History(ctx context.Context, js jetstream.JetStream, q HistoryQuery) ([]schemas.Activity, error) {
	match, err := PathMatcher(q.Path)
	if err != nil {
		return nil, fmt.Errorf("history of %q: %w", q.Path, err)
	}
	h := &historySink{q: q, match: match}
	opts := q.ReplayOptions
	if !q.To.IsZero() {
		opts.Until = q.To
	}
	if _, err := replayHost(ctx, js, opts, h); err != nil {
		return nil, err
	}
	return h.out, nil
}

type historySink struct {
	q     HistoryQuery
	match func(p []byte) bool // under q.Path
	out   []schemas.Activity
}

func (h *historySink) activity(a *schemas.Activity) {
	t := time.Unix(0, a.Time)
	if (!h.q.From.IsZero() && t.Before(h.q.From)) || (!h.q.To.IsZero() && t.After(h.q.To)) {
		return
	}
	if a.Type != schemas.TypeGap && !h.under(a) {
		return
	}
	h.out = append(h.out, cloneActivityDeep(a))
}

func (h *historySink) under(a *schemas.Activity) bool {
	if h.q.Path == "" {
		return true
	}
	paths := [][]byte{a.Path, a.HostPath, a.OldPath, a.OldHostPath}
	if a.Type == "link" {
		paths = append(paths, a.Target) // the existing name of the same file
	}
	for _, p := range paths {
		if len(p) > 0 && h.match(p) {
			return true
		}
	}
	return false
}

func (h *historySink) deadLetter(*deadLetter)       {}
func (h *historySink) rescan(schemas.RescanRequest) {}

type discard struct{}

func (discard) activity(*schemas.Activity)   {}
func (discard) deadLetter(*deadLetter)       {}
func (discard) rescan(schemas.RescanRequest) {}

// cloneActivityDeep copies a's bytes out of the view's memory.
func cloneActivityDeep(a *schemas.Activity) schemas.Activity {
	c := *a
	for _, p := range []*[]byte{&c.Path, &c.HostPath, &c.OldPath, &c.OldHostPath, &c.Target, &c.Xattr, &c.ACL,
		&c.FSType, &c.Process.Comm, &c.Process.Exe} {
		*p = bytes.Clone(*p)
	}
	c.Process.Args = slices.Clone(c.Process.Args)
	for i := range c.Process.Args {
		c.Process.Args[i] = bytes.Clone(c.Process.Args[i])
	}
	c.Process.Lineage = slices.Clone(c.Process.Lineage)
	for i := range c.Process.Lineage {
		l := &c.Process.Lineage[i]
		l.Comm, l.Exe = bytes.Clone(l.Comm), bytes.Clone(l.Exe)
	}
	return c
}

// replayHost reads host's messages into one view of all its filesystems and releases everything at the end.
func replayHost(ctx context.Context, js jetstream.JetStream, opts ReplayOptions, out sink) (*HostState, error) {
	if opts.Host == "" {
		return nil, fmt.Errorf("%w: replay: no host", ErrInvalidConfig)
	}
	lateness := cmp.Or(opts.Lateness, DefaultLateness)
	cfg := &viewConfig{partition: -1, allDevs: true, lateness: int64(lateness), maxHeld: DefaultMaxHeld,
		patterns: opts.Patterns, procLimits: opts.Procs, noOutput: out == discard{}}
	var stop int64 // stream time after which nothing of the period can come
	if !opts.Until.IsZero() {
		cfg.until = opts.Until.UnixNano()
		stop = cfg.until + int64(lateness)
	}
	v := newHostView(cfg, opts.Host, out, &viewStats{})
	raw, err := js.Stream(ctx, schemas.RawStream)
	if err != nil {
		return nil, fmt.Errorf("replaying %s: %w", opts.Host, err)
	}
	if err := readHost(ctx, raw, opts, 1, stop, v); err != nil {
		return nil, err
	}
	v.release(true)
	v.pool, v.queue = nil, nil // what a replay reads with is not part of the state
	return &HostState{view: v, Covers: v.received}, nil
}

// readHost feeds the host's messages from stream sequence from to v until a bound or the end of the
// stream.
func readHost(ctx context.Context, raw jetstream.Stream, opts ReplayOptions, from uint64, stop int64, v *hostView) error {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{schemas.RawHostFilter(opts.Host)}}
	if from > 1 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, from
	}
	cons, err := raw.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("replaying %s: %w", opts.Host, err)
	}
	iter, err := cons.Messages(jetstream.PullMaxBytes(8 << 20))
	if err != nil {
		return fmt.Errorf("replaying %s: %w", opts.Host, err)
	}
	defer iter.Stop()
	info, err := cons.Info(ctx)
	if err != nil {
		return fmt.Errorf("replaying %s: %w", opts.Host, err)
	}
	total, done := info.NumPending, uint64(0)
	if total == 0 {
		return nil
	}
	stopIter := context.AfterFunc(ctx, iter.Stop)
	defer stopIter()
	reported := time.Now()
	for {
		m, err := iter.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("replaying %s: %w", opts.Host, err)
		}
		md, err := m.Metadata()
		if err != nil {
			return fmt.Errorf("replaying %s: %w", opts.Host, err)
		}
		ts := md.Timestamp.UnixNano()
		if (opts.UntilSeq != 0 && md.Sequence.Stream > opts.UntilSeq) || (stop != 0 && ts > stop) {
			return nil
		}
		v.receive(rawMsg{subject: m.Subject(), seq: md.Sequence.Stream, ts: ts, data: m.Data()})
		done++
		if opts.Progress != nil && (done%1024 == 0 || md.NumPending == 0 || time.Since(reported) >= progressEvery) {
			opts.Progress(done, done+md.NumPending)
			reported = time.Now()
		}
		if md.NumPending == 0 {
			return nil
		}
	}
}
