package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/factstream/factstream/pipeline/lease"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// runner works on one leased partition: it claims the partition's checkpoint chain, loads its
// snapshot, reads the hosts of the partition (one feed and one view per host), commits what the views
// release, and writes snapshots. All state is owned by the goroutine running run; feeds hand messages
// over a channel. The feeds and the snapshot upload run in one errgroup on run's ctx, and run returns
// only after all of them ended.
type runner struct {
	r     *Resolver
	lease lease.Lease
	log   *zap.Logger
	raw   jetstream.Stream
	vcfg  *viewConfig
	views map[string]*hostView
	feeds map[string]*feed
	out   *outbox
	chain chain
	msgs  chan feedMsg
	errs  chan error
	g     *errgroup.Group // the feeds' and the snapshot upload's goroutines, set by run

	stats, counted viewStats
	lastCommit     time.Time
	pendingSince   time.Time // when the outbox got its first uncommitted item
	committedMarks map[string]ViewMark
	snapEvents     uint64 // raw events read since the last snapshot
	lastSnap       time.Time
	snapDone       chan struct{} // closed when the snapshot upload in flight ends; nil when none
}

func (r *Resolver) newRunner(l lease.Lease, raw jetstream.Stream, act jetstream.Stream) *runner {
	p := l.Partition
	vcfg := &viewConfig{partition: p, partitions: r.cfg.Partitions, lateness: int64(r.cfg.Lateness),
		maxHeld: r.cfg.MaxHeld, patterns: r.patterns, procLimits: r.cfg.Procs}
	return &runner{r: r, lease: l, log: r.log.With(zap.Int("partition", p), zap.Uint64("epoch", l.Epoch)), raw: raw,
		vcfg: vcfg, views: map[string]*hostView{}, feeds: map[string]*feed{}, out: newOutbox(p, r.cfg.Batch.MaxBytes),
		chain: chain{js: r.js, stream: act, partition: p, epoch: l.Epoch, worker: r.cfg.WorkerID},
		msgs:  make(chan feedMsg, 1024), errs: make(chan error, 1)}
}

// run works on the partition until ctx ends or something fails; either way a later run (here or on
// another worker) continues from the last commit.
func (p *runner) run(ctx context.Context) error {
	p.g, ctx = errgroup.WithContext(ctx)
	defer p.stopFeeds()
	if err := p.start(ctx); err != nil {
		return err
	}
	tick := time.NewTicker(p.r.cfg.tick())
	defer tick.Stop()
	discover := time.NewTicker(p.r.cfg.DiscoveryInterval)
	defer discover.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-p.errs:
			return err
		case m := <-p.msgs:
			if err := p.receive(ctx, m); err != nil {
				return err
			}
		case now := <-tick.C:
			if err := p.tick(ctx, now); err != nil {
				return err
			}
		case <-discover.C:
			if err := p.discover(ctx); err != nil {
				p.log.Warn("cannot list the partition's hosts", zap.Error(err))
			}
		}
	}
}

// start claims the partition, restores its views and starts reading.
func (p *runner) start(ctx context.Context) error {
	if err := p.chain.claim(ctx); err != nil {
		return err
	}
	if err := p.restore(ctx); err != nil {
		return err
	}
	for host, mark := range p.chain.last.Hosts {
		v := p.view(host)
		v.suppress = max(v.suppress, mark.Emitted, v.emitted)
	}
	p.committedMarks = p.marks()
	p.lastCommit, p.lastSnap = time.Now(), time.Now()
	info, err := p.raw.Info(ctx)
	if err != nil {
		return fmt.Errorf("reading %s state: %w", schemas.RawStream, err)
	}
	for _, host := range slices.Sorted(maps.Keys(p.views)) {
		if err := p.startView(ctx, p.views[host], info.State.FirstSeq); err != nil {
			return err
		}
	}
	p.log.Info("partition started", zap.Int("hosts", len(p.views)), zap.Uint64("checkpoint", p.chain.tip))
	return p.discover(ctx)
}

// restore loads the partition's snapshot, if there is one.
func (p *runner) restore(ctx context.Context) error {
	data, err := p.r.snapshots.GetBytes(ctx, snapshotName(p.lease.Partition))
	if errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("loading snapshot of partition %d: %w", p.lease.Partition, err)
	}
	views, err := readPartitionSnapshot(bytes.NewReader(data), p.vcfg, p.out, &p.stats)
	if err != nil {
		p.log.Error("ignoring an unreadable snapshot; replaying the partition from the start", zap.Error(err))
		return nil
	}
	for _, v := range views {
		p.views[v.host] = v
	}
	return nil
}

func snapshotName(partition int) string { return "partition-" + strconv.Itoa(partition) }

// view returns the view of host, creating an empty one.
func (p *runner) view(host string) *hostView {
	v := p.views[host]
	if v == nil {
		v = newHostView(p.vcfg, host, p.out, &p.stats)
		p.views[host] = v
	}
	return v
}

// startView starts reading a host after what its view has, first checking that the stream still holds
// it (first is FACT_RAW's first sequence).
func (p *runner) startView(ctx context.Context, v *hostView, first uint64) error {
	from := v.next()
	if from < first && first > 1 {
		if v.received > 0 {
			p.r.m.tailLost.Inc()
			p.log.Error("FACT_RAW no longer holds what this partition's snapshot needs: the host's index may be "+
				"wrong until its sensor rescans; asking for a rescan", zap.String("host", v.host),
				zap.Uint64("snapshot_covers", v.received), zap.Uint64("stream_first", first))
		}
		v.enqueue(item{seq: first, ts: v.lastTS, gap: &gapNote{reason: fmt.Sprintf(
			"raw stream no longer holds sequences %d-%d", from, first-1)}})
		v.release(false)
		from = first
	}
	f, err := startFeed(ctx, p.g, p.raw, v.host, from, v.received, p.msgs, p.errs)
	if err != nil {
		return err
	}
	p.feeds[v.host] = f
	return nil
}

// discover starts views for hosts of the partition it does not read yet.
func (p *runner) discover(ctx context.Context) error {
	info, err := p.raw.Info(ctx, jetstream.WithSubjectFilter(schemas.RawPartitionFilter(p.lease.Partition)))
	if err != nil {
		return err
	}
	var hosts []string
	for subj := range info.State.Subjects {
		if _, host, dev, ok := schemas.ParseRawSubject(subj); ok && dev != 0 && p.feeds[host] == nil {
			hosts = append(hosts, host)
		}
	}
	slices.Sort(hosts)
	for _, host := range slices.Compact(hosts) {
		p.log.Info("reading a new host", zap.String("host", host))
		if err := p.startView(ctx, p.view(host), info.State.FirstSeq); err != nil {
			return err
		}
	}
	return nil
}

// receive gives a message to its view and commits when the outbox is full.
func (p *runner) receive(ctx context.Context, m feedMsg) error {
	v, f := p.views[m.host], p.feeds[m.host]
	if v == nil || f == nil || m.msg.seq <= v.received {
		return nil
	}
	before := p.stats.eventsIn
	p.noteOutput(func() { v.receive(m.msg) })
	f.processed, f.pending = m.msg.seq, m.pending
	p.snapEvents += p.stats.eventsIn - before
	if p.out.full(p.r.cfg.Batch.MaxEvents) {
		return p.commit(ctx)
	}
	return nil
}

// noteOutput runs fn and starts the delay clock when it put the first thing in the outbox.
func (p *runner) noteOutput(fn func()) {
	empty := p.out.empty()
	fn()
	if empty && !p.out.empty() {
		p.pendingSince = time.Now()
	}
}

// tick releases what idle hosts hold, and commits and snapshots when it is time.
func (p *runner) tick(ctx context.Context, now time.Time) error {
	margin := p.r.cfg.IdleMargin
	var lag uint64
	for host, f := range p.feeds {
		lag += f.pending
		if f.idle(now, margin) {
			v := p.views[host]
			p.noteOutput(func() { v.idle(now.Add(-margin).UnixNano()) })
		}
	}
	p.r.m.setLag(p.lease.Partition, lag)
	p.r.m.add(p.stats, &p.counted)
	switch {
	case !p.out.empty() && now.Sub(p.pendingSince) >= p.r.cfg.Batch.MaxDelay:
	case now.Sub(p.lastCommit) >= p.r.cfg.CheckpointInterval && !maps.Equal(p.marks(), p.committedMarks):
	case now.Sub(p.lastCommit) >= p.r.cfg.SnapshotInterval:
	default:
		return nil
	}
	return p.commit(ctx)
}

// marks are the checkpoint's counts: what each view has released.
func (p *runner) marks() map[string]ViewMark {
	m := make(map[string]ViewMark, len(p.views))
	for host, v := range p.views {
		m[host] = ViewMark{Emitted: max(v.emitted, v.suppress), Received: v.received}
	}
	return m
}

// commit publishes the outbox with a checkpoint, then sends the rescans and snapshots when due.
func (p *runner) commit(ctx context.Context) error {
	msgs, rescans := p.out.take()
	marks := p.marks()
	start := time.Now()
	err := p.chain.commit(ctx, msgs, marks)
	if errors.Is(err, ErrFenced) {
		p.r.m.fenced.Inc()
		p.log.Warn("another worker took the partition; stopping", zap.Error(err))
	}
	if err != nil {
		return err
	}
	p.r.m.commits.Inc()
	p.r.m.commitTime.Observe(time.Since(start).Seconds())
	p.lastCommit, p.committedMarks = time.Now(), marks
	for _, rq := range rescans {
		data, _ := json.Marshal(rq)
		if err := p.r.cfg.Conn.Publish(schemas.ControlSubject(rq.Host, schemas.VerbRescan), data); err != nil {
			p.log.Warn("cannot send a rescan request", zap.String("host", rq.Host), zap.Error(err))
		}
	}
	p.maybeSnapshot(ctx)
	return nil
}

// maybeSnapshot writes a snapshot right after a commit, when one is due and none is being uploaded:
// the views then hold exactly what the checkpoint says was published.
func (p *runner) maybeSnapshot(ctx context.Context) {
	if p.snapDone != nil {
		select {
		case <-p.snapDone:
			p.snapDone = nil
		default:
			return
		}
	}
	due := p.snapEvents >= p.r.cfg.SnapshotEvents || (p.snapEvents > 0 && time.Since(p.lastSnap) >= p.r.cfg.SnapshotInterval)
	if !due {
		return
	}
	var buf bytes.Buffer
	views := make([]*hostView, 0, len(p.views))
	for _, v := range p.views {
		views = append(views, v)
	}
	if err := writePartitionSnapshot(&buf, p.lease.Partition, p.r.cfg.Partitions, views); err != nil {
		p.log.Error("cannot write a snapshot", zap.Error(err))
		return
	}
	p.snapEvents, p.lastSnap = 0, time.Now()
	meta := jetstream.ObjectMeta{Name: snapshotName(p.lease.Partition), Description: p.covers()}
	done := make(chan struct{})
	p.snapDone = done
	p.g.Go(func() error {
		defer close(done)
		p.upload(ctx, meta, buf.Bytes()) // a failed upload is logged; the next snapshot tries again
		return nil
	})
}

// covers says, for operators, what a snapshot covers: per host, the last FACT_RAW sequence read.
func (p *runner) covers() string {
	var b strings.Builder
	fmt.Fprintf(&b, "partition %d, epoch %d, worker %s; FACT_RAW read up to:", p.lease.Partition, p.lease.Epoch, p.r.cfg.WorkerID)
	for _, host := range slices.Sorted(maps.Keys(p.views)) {
		fmt.Fprintf(&b, " %s=%d", host, p.views[host].received)
	}
	return b.String()
}

// upload stores a snapshot. The checkpoints it makes useless stay: FACT_ACTIVITY denies purges, so
// they go with its age and size limits.
func (p *runner) upload(ctx context.Context, meta jetstream.ObjectMeta, data []byte) {
	if _, err := p.r.snapshots.Put(ctx, meta, bytes.NewReader(data)); err != nil {
		p.log.Warn("cannot store a snapshot", zap.Error(err))
		return
	}
	p.r.m.snapshots.Inc()
}

// stopFeeds stops the feeds and waits for every goroutine of the partition, the upload in flight too
// (run's ctx has ended or run failed: it is cut short or finishes).
func (p *runner) stopFeeds() {
	for _, f := range p.feeds {
		f.stop()
	}
	_ = p.g.Wait() // the goroutines return nil: their errors go to errs or the log
}
