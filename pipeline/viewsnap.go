package pipeline

import (
	"bufio"
	"cmp"
	"io"
	"slices"

	"github.com/factstream/factstream/pipeline/internal/snapcodec"
	"github.com/factstream/factstream/pipeline/projection"
	"github.com/factstream/factstream/schemas"
)

// The snapshot of a partition's projections, canonical like an index's (see projection/snapshot.go):
//
//	"fspart" 2 partition partitions count, then count × view, sorted by host
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
//
// Its version is projection.SnapshotVersion: an index in it is laid out as in a snapshot of that version,
// and version 1 (indexes without contents) is still read.

const (
	partitionMagic = "fspart"
	itemBatch      = 0
	itemGap        = 1
	itemDead       = 2
)

// maxSnapshotBlob bounds a held message in a snapshot, far above NATS's largest payload.
const maxSnapshotBlob = 64 << 20

// writePartitionSnapshot writes the views of a partition to w.
func writePartitionSnapshot(w io.Writer, partition, partitions int, views []*hostView) error {
	e := snapcodec.NewWriter(w)
	e.Header(partitionMagic, projection.SnapshotVersion)
	e.Uint(uint64(partition))
	e.Uint(uint64(partitions))
	sorted := slices.SortedFunc(slices.Values(views), func(a, b *hostView) int { return cmp.Compare(a.host, b.host) })
	e.Count(len(sorted))
	for _, v := range sorted {
		v.encode(e)
	}
	return e.Flush()
}

func (v *hostView) encode(e *snapcodec.Encoder) {
	e.Str(v.host)
	e.Uint(v.received)
	e.Uint(v.emitted)
	e.Int(v.lastTS)
	e.Count(len(v.boots))
	for _, t := range v.boots {
		e.Str(t.boot)
		e.Uint(t.next)
		e.Int(t.since)
		e.Uint(t.at)
		e.Count(len(t.ahead))
		for _, s := range t.ahead {
			e.Uint(s)
		}
	}
	e.Embed(v.procs)
	keys := v.idx.Keys()
	e.Count(len(keys))
	for _, k := range keys {
		e.Uint(k.Dev)
		e.Embed(v.idx.Index(k))
	}
	e.Count(len(v.queue))
	for i := range v.queue {
		v.queue[i].encode(e)
	}
}

func (it *item) encode(e *snapcodec.Encoder) {
	switch {
	case it.batch != nil:
		e.Uint(itemBatch)
	case it.gap != nil:
		e.Uint(itemGap)
	default:
		e.Uint(itemDead)
	}
	e.Uint(it.seq)
	e.Int(it.ts)
	e.Str(it.boot)
	e.Uint(it.minSeq)
	e.Uint(it.maxSeq)
	switch {
	case it.batch != nil:
		data, err := schemas.EncodeBatch(nil, it.batch)
		e.Fail(err)
		e.Bytes(data)
	case it.gap != nil:
		e.Uint(it.gap.dev)
		e.Str(it.gap.reason)
		e.Uint(it.gap.lost)
	default:
		e.Str(it.dead.subject)
		e.Str(it.dead.reason)
		e.Bytes(it.dead.data)
	}
}

// readPartitionSnapshot reads what writePartitionSnapshot wrote, giving the views cfg, out and stats.
// Errors wrap ErrBadSnapshot.
func readPartitionSnapshot(r io.Reader, cfg *viewConfig, out sink, stats *viewStats) ([]*hostView, error) {
	d := snapcodec.NewReader(bufio.NewReaderSize(r, 1<<16))
	version := d.HeaderIn(partitionMagic, projection.OldestSnapshotVersion, projection.SnapshotVersion)
	part, parts := d.Uint(), d.Uint()
	if d.Err() == nil && (int(part) != cfg.partition || int(parts) != cfg.partitions) {
		d.Failf("partition %d of %d, want %d of %d", part, parts, cfg.partition, cfg.partitions)
	}
	n := d.Uint()
	var views []*hostView
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		views = append(views, decodeView(d, version, cfg, out, stats))
	}
	if err := d.End(); err != nil {
		return nil, err
	}
	return views, nil
}

// decodeView reads a view whose indexes are laid out as in version.
func decodeView(d *snapcodec.Decoder, version uint64, cfg *viewConfig, out sink, stats *viewStats) *hostView {
	v := newHostView(cfg, d.Str(snapcodec.MaxName), out, stats)
	v.received, v.emitted, v.lastTS = d.Uint(), d.Uint(), d.Int()
	n := d.Uint()
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		t := &seqTrack{boot: d.Str(snapcodec.MaxName), next: d.Uint(), since: d.Int(), at: d.Uint()}
		m := d.Uint()
		for j := uint64(0); j < m && d.Err() == nil; j++ {
			t.ahead = append(t.ahead, d.Uint())
		}
		v.boots = append(v.boots, t)
	}
	d.Embed(v.procs)
	n = d.Uint()
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		dev := d.Uint()
		d.EmbedVersion(v.idx.Ensure(Key{Host: v.host, Dev: dev}), version)
	}
	n = d.Uint()
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		v.enqueue(decodeItem(d))
	}
	return v
}

func decodeItem(d *snapcodec.Decoder) item {
	what := d.Uint()
	it := item{seq: d.Uint(), ts: d.Int(), boot: d.Str(snapcodec.MaxName), minSeq: d.Uint(), maxSeq: d.Uint()}
	switch what {
	case itemBatch:
		it.batch = new(schemas.Batch)
		if data := d.Blob(maxSnapshotBlob); d.Err() == nil {
			if err := schemas.DecodeBatch(data, it.batch); err != nil {
				d.Failf("held batch: %w", err)
			}
		}
	case itemGap:
		it.gap = &gapNote{dev: d.Uint(), reason: d.Str(snapcodec.MaxName), lost: d.Uint()}
	case itemDead:
		it.dead = &deadLetter{subject: d.Str(snapcodec.MaxName), seq: it.seq, reason: d.Str(snapcodec.MaxName),
			data: d.Blob(maxSnapshotBlob)}
	default:
		d.Failf("held item of kind %d", what)
	}
	return it
}
