package pipeline

import (
	"bufio"
	"cmp"
	"io"
	"slices"

	"github.com/factstream/factstream/pipeline/projection"
	"github.com/factstream/factstream/schemas"
	"github.com/vmihailenco/msgpack/v5"
)

// The snapshot of a partition's projections, canonical like an index's (see projection/snapshot.go):
//
//	"fspart" 1 partition partitions count, then count × view, sorted by host
//
// where a view is
//
//	host received emitted last_ts
//	boots: count × (boot next since at ahead: count × seq)
//	procs: count × (boot watermark procs: count × (tgid start ppid pstart exit seen
//	       images: count × (seq comm exe args cgroup))), processes sorted by (tgid, start)
//	indexes: count × (dev index)
//	queue: count × (what seq ts boot min_seq max_seq, then by what: 0 raw batch bytes,
//	       1 gap dev reason lost, 2 dead letter subject reason data)

const (
	partitionMagic = "fspart"
	itemBatch      = 0
	itemGap        = 1
	itemDead       = 2
)

// writePartitionSnapshot writes the views of a partition to w.
func writePartitionSnapshot(w io.Writer, partition, partitions int, views []*hostView) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	e := snapEncoder{enc: msgpack.NewEncoder(bw)}
	e.str(partitionMagic)
	e.uint(projection.SnapshotVersion)
	e.uint(uint64(partition))
	e.uint(uint64(partitions))
	sorted := slices.SortedFunc(slices.Values(views), func(a, b *hostView) int { return cmp.Compare(a.host, b.host) })
	e.count(len(sorted))
	for _, v := range sorted {
		e.view(v)
	}
	return e.flush(bw)
}

func (e *snapEncoder) view(v *hostView) {
	e.str(v.host)
	e.uint(v.received)
	e.uint(v.emitted)
	e.do(e.enc.EncodeInt(v.lastTS))
	e.count(len(v.boots))
	for _, t := range v.boots {
		e.str(t.boot)
		e.uint(t.next)
		e.do(e.enc.EncodeInt(t.since))
		e.uint(t.at)
		e.count(len(t.ahead))
		for _, s := range t.ahead {
			e.uint(s)
		}
	}
	e.do(v.procs.EncodeMsgpack(e.enc))
	keys := v.idx.Keys()
	e.count(len(keys))
	for _, k := range keys {
		e.uint(k.Dev)
		e.do(v.idx.Index(k).EncodeMsgpack(e.enc))
	}
	e.count(len(v.queue))
	for i := range v.queue {
		e.item(&v.queue[i])
	}
}

func (e *snapEncoder) item(it *item) {
	switch {
	case it.batch != nil:
		e.uint(itemBatch)
	case it.gap != nil:
		e.uint(itemGap)
	default:
		e.uint(itemDead)
	}
	e.uint(it.seq)
	e.do(e.enc.EncodeInt(it.ts))
	e.str(it.boot)
	e.uint(it.minSeq)
	e.uint(it.maxSeq)
	switch {
	case it.batch != nil:
		data, err := schemas.EncodeBatch(nil, it.batch)
		e.do(err)
		e.bytes(data)
	case it.gap != nil:
		e.uint(it.gap.dev)
		e.str(it.gap.reason)
		e.uint(it.gap.lost)
	default:
		e.str(it.dead.subject)
		e.str(it.dead.reason)
		e.bytes(it.dead.data)
	}
}

// readPartitionSnapshot reads what writePartitionSnapshot wrote, giving the views cfg, out and stats.
// Errors wrap ErrBadSnapshot.
func readPartitionSnapshot(r io.Reader, cfg *viewConfig, out sink, stats *viewStats) ([]*hostView, error) {
	d := snapDecoder{dec: msgpack.NewDecoder(bufio.NewReaderSize(r, 1<<16))}
	if m := d.bytes(); d.err == nil && string(m) != partitionMagic {
		d.fail("not a %q snapshot", partitionMagic)
	}
	if v := d.uint(); d.err == nil && v != projection.SnapshotVersion {
		d.fail("version %d, want %d", v, projection.SnapshotVersion)
	}
	part, parts := d.uint(), d.uint()
	if d.err == nil && (int(part) != cfg.partition || int(parts) != cfg.partitions) {
		d.fail("partition %d of %d, want %d of %d", part, parts, cfg.partition, cfg.partitions)
	}
	n := d.uint()
	var views []*hostView
	for i := uint64(0); i < n && d.err == nil; i++ {
		views = append(views, d.view(cfg, out, stats))
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return views, nil
}

func (d *snapDecoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, err := d.dec.DecodeInt64()
	if err != nil {
		d.fail("%w", err)
	}
	return v
}

// maxSnapshotBlob bounds a held message in a snapshot, far above NATS's largest payload.
const maxSnapshotBlob = 64 << 20

// blob reads a bin of up to maxSnapshotBlob bytes into new memory.
func (d *snapDecoder) blob() []byte {
	if d.err != nil {
		return nil
	}
	n, err := d.dec.DecodeBytesLen()
	switch {
	case err != nil:
		d.fail("%w", err)
		return nil
	case n < 0:
		return nil
	case n > maxSnapshotBlob:
		d.fail("a message of %d bytes", n)
		return nil
	}
	b := make([]byte, n)
	if err := d.dec.ReadFull(b); err != nil {
		d.fail("%w", err)
	}
	return b
}

func (d *snapDecoder) view(cfg *viewConfig, out sink, stats *viewStats) *hostView {
	v := newHostView(cfg, d.str(), out, stats)
	v.received, v.emitted, v.lastTS = d.uint(), d.uint(), d.int()
	n := d.uint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		t := &seqTrack{boot: d.str(), next: d.uint(), since: d.int(), at: d.uint()}
		m := d.uint()
		for j := uint64(0); j < m && d.err == nil; j++ {
			t.ahead = append(t.ahead, d.uint())
		}
		v.boots = append(v.boots, t)
	}
	d.do(v.procs.DecodeMsgpack(d.dec))
	n = d.uint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		dev := d.uint()
		d.do(v.idx.Ensure(Key{Host: v.host, Dev: dev}).DecodeMsgpack(d.dec))
	}
	n = d.uint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		v.enqueue(d.item())
	}
	return v
}

func (d *snapDecoder) item() item {
	what := d.uint()
	it := item{seq: d.uint(), ts: d.int(), boot: d.str(), minSeq: d.uint(), maxSeq: d.uint()}
	switch what {
	case itemBatch:
		it.batch = new(schemas.Batch)
		if data := d.blob(); d.err == nil {
			if err := schemas.DecodeBatch(data, it.batch); err != nil {
				d.fail("held batch: %w", err)
			}
		}
	case itemGap:
		it.gap = &gapNote{dev: d.uint(), reason: d.str(), lost: d.uint()}
	case itemDead:
		it.dead = &deadLetter{subject: d.str(), seq: it.seq, reason: d.str(), data: d.blob()}
	default:
		d.fail("held item of kind %d", what)
	}
	return it
}
