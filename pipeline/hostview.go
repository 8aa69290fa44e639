package pipeline

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/factstream/factstream/pipeline/projection"
	"github.com/factstream/factstream/schemas"
)

// A hostView is what one partition knows of one host: the indexes of the host's filesystems that fall in
// the partition, the host's process table, the batch sequence of each sensor boot, and the file messages
// it holds back until the process events they need have arrived. It reads every message of the host
// (all its filesystems and its process subject, fact.raw.*.<host>.>), so it sees the host's whole
// sequence: a hole in it is a real loss, and process events are there whichever partition they are
// stored in.
//
// Process events and file events travel on different subjects, so a file event can be stored before
// the exec that names its process. A file message is therefore held until the host's process subject has
// passed its sequence (every process event before it is in), or until stream time has moved lateness past
// it, or until too many events are held. The process table answers for the sequence of each file event,
// so what an event is enriched with never depends on when it was released, only on the stream.
//
// Everything a hostView does is numbered: each item it releases (a file message, a gap, a dead letter)
// gets the next number, emitted. A checkpoint stores that number, so that a worker resuming from an older
// snapshot replays the items up to it without publishing them again.
type hostView struct {
	cfg      *viewConfig
	host     string
	idx      *Indexes // only the filesystems of this partition
	procs    *ProcTable
	boots    []*seqTrack // in order of first appearance
	queue    []item
	held     int    // events in queue
	received uint64 // FACT_RAW sequence of the last message read
	emitted  uint64 // items released
	suppress uint64 // items up to this number were published before: do not publish again
	lastTS   int64  // the latest FACT_RAW time seen
	out      sink
	stats    *viewStats
	pool     []*schemas.Batch
}

// viewConfig is what every hostView of a partition shares.
type viewConfig struct {
	partition  int
	partitions int
	lateness   int64 // ns of stream time a file message waits for process events
	maxHeld    int   // events held at most
	patterns   *Patterns
	procLimits ProcLimits
	allDevs    bool  // read every filesystem of the host, whatever its partition (forensic replay)
	until      int64 // when not 0, events after this time (unix ns) are not applied (forensic replay)
	noOutput   bool  // only rebuild the projections, enrich nothing (forensic replay)
}

// viewStats counts what hostViews did, for metrics; shared by the views of a partition.
type viewStats struct {
	eventsIn, activities, duplicates, deadLetters, gaps uint64
}

// sink receives what a hostView releases, in order. Activities alias the view's memory: encode them
// during the call.
type sink interface {
	activity(a *schemas.Activity)
	deadLetter(d *deadLetter)
	rescan(r schemas.RescanRequest)
}

// rawMsg is one FACT_RAW message.
type rawMsg struct {
	subject string
	seq     uint64
	ts      int64 // stream time, unix ns
	data    []byte
}

// item is something the view releases in order: a file message, a gap or a dead letter.
type item struct {
	seq    uint64 // FACT_RAW sequence of the message it comes from
	ts     int64
	boot   string
	minSeq uint64         // lowest sensor sequence of its file events
	maxSeq uint64         // highest sensor sequence of its file events
	batch  *schemas.Batch // a file message
	gap    *gapNote
	dead   *deadLetter
}

// gapNote is a gap to report: on dev, or on every filesystem of the view when dev is 0.
type gapNote struct {
	dev    uint64
	reason string
	lost   uint64
}

// deadLetter is a message that could not be read.
type deadLetter struct {
	subject string
	seq     uint64
	reason  string
	data    []byte
}

func newHostView(cfg *viewConfig, host string, out sink, stats *viewStats) *hostView {
	return &hostView{cfg: cfg, host: host, idx: NewIndexes(), procs: NewProcTable(cfg.procLimits), out: out, stats: stats}
}

// receive reads one message of the host, in stream order, and releases what it can.
func (v *hostView) receive(m rawMsg) {
	v.received = m.seq
	v.lastTS = max(v.lastTS, m.ts)
	part, host, dev, ok := schemas.ParseRawSubject(m.subject)
	mine := ok && host == v.host && dev != 0 && (part == v.cfg.partition || v.cfg.allDevs)
	switch {
	case !ok || host != v.host:
		v.deadLetter(m, "subject is not fact.raw.<partition>.<host>.<dev> of this host", false)
	case dev != 0 && !mine:
		v.account(m) // another partition's filesystem: only its place in the sequence matters here
	default:
		v.read(m, dev, mine)
	}
	v.release(false)
}

// account tracks the batch sequence of a message without reading its events.
func (v *hostView) account(m rawMsg) {
	if h, err := schemas.DecodeBatchHeader(m.data); err == nil {
		v.declareDue(m.ts)
		v.track(h.BootID).observe(h.BatchSeq, m.ts, m.seq)
	}
}

// read decodes a message of this partition's filesystems (mine) or of the host's process subject.
func (v *hostView) read(m rawMsg, dev uint64, mine bool) {
	b := v.batch()
	err := schemas.DecodeBatch(m.data, b)
	if err == nil && (b.Host != v.host || b.Dev != dev) {
		err = fmt.Errorf("batch of %s/%d on the subject of %s/%d", b.Host, b.Dev, v.host, dev)
	}
	if err != nil {
		v.pool = append(v.pool, b)
		v.deadLetter(m, err.Error(), mine)
		if mine {
			v.enqueue(item{seq: m.seq, ts: m.ts, gap: &gapNote{dev: dev, reason: "unreadable raw message " +
				strconv.FormatUint(m.seq, 10) + " (dead-lettered)"}})
		}
		return
	}
	v.declareDue(m.ts)
	if !v.track(b.BootID).observe(b.BatchSeq, m.ts, m.seq) {
		v.stats.duplicates++
		v.pool = append(v.pool, b)
		return
	}
	v.stats.eventsIn += uint64(len(b.Events))
	it := item{seq: m.seq, ts: m.ts, boot: b.BootID, batch: b}
	for i := range b.Events {
		ev := &b.Events[i]
		switch {
		case v.cfg.until != 0 && ev.Time > v.cfg.until:
		case ev.Kind.Process():
			v.procs.Apply(b.BootID, ev)
		case dev == 0:
			v.procs.Observe(b.BootID, ev.Seq)
		default:
			it.maxSeq = max(it.maxSeq, ev.Seq)
			if it.minSeq == 0 || ev.Seq < it.minSeq {
				it.minSeq = ev.Seq
			}
		}
	}
	if dev == 0 {
		v.pool = append(v.pool, b)
		v.evict(b.BootID)
		return
	}
	v.enqueue(it)
}

func (v *hostView) deadLetter(m rawMsg, reason string, mine bool) {
	_, _, dev, _ := schemas.ParseRawSubject(m.subject)
	if mine || dev == 0 {
		v.enqueue(item{seq: m.seq, ts: m.ts, dead: &deadLetter{subject: m.subject, seq: m.seq, reason: reason, data: m.data}})
	}
}

func (v *hostView) batch() *schemas.Batch {
	if n := len(v.pool); n > 0 {
		b := v.pool[n-1]
		v.pool = v.pool[:n-1]
		return b
	}
	return new(schemas.Batch)
}

func (v *hostView) track(boot string) *seqTrack {
	for _, t := range v.boots {
		if t.boot == boot {
			return t
		}
	}
	t := &seqTrack{boot: boot}
	if len(v.boots) == projection.BootsKept {
		v.boots = slices.Delete(v.boots, 0, 1)
	}
	v.boots = append(v.boots, t)
	return t
}

// declareDue gives up the holes that stream time now shows to be lost. The gap is dated and placed by
// the message that showed the hole, so it is the same whichever message (or idle) gives it up.
func (v *hostView) declareDue(now int64) {
	for _, t := range v.boots {
		if h, ok := t.due(now, v.cfg.lateness); ok {
			reason := fmt.Sprintf("sensor sequence hole: %d of batches %d-%d of boot %s missing", h.lost, h.from, h.to, t.boot)
			v.enqueue(item{seq: h.at, ts: h.since, gap: &gapNote{reason: reason, lost: h.lost}})
		}
	}
}

func (v *hostView) enqueue(it item) {
	if it.batch != nil {
		v.held += len(it.batch.Events)
	}
	v.queue = append(v.queue, it)
}

// releasable reports whether the first held item may go: it is not a file message, or every process
// event before it is in, or stream time has moved lateness past it, or too much is held.
func (v *hostView) releasable(it *item) bool {
	return it.batch == nil || v.procs.Watermark(it.boot) >= it.maxSeq || it.ts+v.cfg.lateness <= v.lastTS ||
		v.held > v.cfg.maxHeld
}

// release releases held items in order while the first may go; force releases them all (the end of a
// replay).
func (v *hostView) release(force bool) {
	n := 0
	for n < len(v.queue) && (force || v.releasable(&v.queue[n])) {
		v.pop(&v.queue[n])
		v.queue[n] = item{}
		n++
	}
	if n > 0 {
		v.queue = slices.Delete(v.queue, 0, n)
	}
}

// idle is called when the stream has nothing more for the host and the wall clock says now (unix ns,
// minus a margin for clock skew): a message stored from now on has a later stream time, so what would
// be released or declared lost on its arrival goes now, the same as in a replay.
func (v *hostView) idle(now int64) {
	if now <= v.lastTS {
		return
	}
	v.declareDue(now)
	saved := v.lastTS
	v.lastTS = now
	v.release(false)
	v.lastTS = saved
}

// pop releases one item.
func (v *hostView) pop(it *item) {
	v.emitted++
	live := v.emitted > v.suppress
	switch {
	case it.dead != nil:
		if live {
			v.stats.deadLetters++
			v.out.deadLetter(it.dead)
		}
	case it.gap != nil:
		v.gap(it, live)
	default:
		v.held -= len(it.batch.Events)
		v.apply(it, live)
		v.pool = append(v.pool, it.batch)
	}
}

// evict lets the process table drop what no held file event can need. It runs after each process
// message, so what it drops depends only on the stream.
func (v *hostView) evict(boot string) {
	floor := v.procs.Watermark(boot)
	for i := range v.queue {
		if it := &v.queue[i]; it.batch != nil && it.boot == boot && it.minSeq != 0 {
			floor = min(floor, it.minSeq)
		}
	}
	v.procs.Evict(boot, floor)
}

// apply applies a file message to the indexes and enriches its events.
func (v *hostView) apply(it *item, live bool) {
	b := it.batch
	emit := func(a *schemas.Activity) {
		v.stats.activities++
		v.out.activity(a)
	}
	for i := range b.Events {
		ev := &b.Events[i]
		if ev.Kind.Process() || (v.cfg.until != 0 && ev.Time > v.cfg.until) {
			continue
		}
		c := v.idx.Apply(v.host, ev)
		switch {
		case ev.Kind == schemas.KindLoss:
			v.lossGap(it, ev, live)
		case ev.Kind.Activity() && live && !v.cfg.noOutput:
			Enrich(v.host, b.BootID, ev, c, v.procs, v.cfg.patterns, emit)
		}
	}
}

func (v *hostView) lossGap(it *item, ev *schemas.RawEvent, live bool) {
	v.stats.gaps++
	if !live {
		return
	}
	reason := fmt.Sprintf("%d records lost at %s", ev.Lost, ev.Hook)
	a := GapActivity(v.host, ev.Dev, ev.Time, reason, ev.Lost)
	v.out.activity(&a)
	v.out.rescan(schemas.RescanRequest{Host: v.host, Dev: ev.Dev, Reason: reason, RawSeq: it.seq, Partition: v.cfg.partition})
}

// gap marks the filesystems a gap concerns uncertain and reports it.
func (v *hostView) gap(it *item, live bool) {
	g := it.gap
	devs := []uint64{g.dev}
	if g.dev == 0 {
		devs = devs[:0]
		for _, k := range v.idx.Keys() {
			devs = append(devs, k.Dev)
		}
	}
	for _, dev := range devs {
		v.idx.Ensure(Key{Host: v.host, Dev: dev}).MarkUncertain()
		v.stats.gaps++
		if live {
			a := GapActivity(v.host, dev, it.ts, g.reason, g.lost)
			v.out.activity(&a)
		}
	}
	if live {
		v.out.rescan(schemas.RescanRequest{Host: v.host, Dev: g.dev, Reason: g.reason, RawSeq: it.seq, Partition: v.cfg.partition})
	}
}

// next is the FACT_RAW sequence to read from to continue.
func (v *hostView) next() uint64 { return v.received + 1 }
