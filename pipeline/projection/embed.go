package projection

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"github.com/factstream/factstream/pipeline/internal/snapcodec"
	"github.com/vmihailenco/msgpack/v5"
)

// An Index and a ProcTable encode themselves into a larger snapshot, such as the one of a partition's
// views in package pipeline, with the msgpack.CustomEncoder and msgpack.CustomDecoder methods below. The
// bytes are those of the "index" and "procs" parts described in snapshot.go and pipeline's viewsnap.go.

// EncodeMsgpack writes the state of the index, without a header, to enc.
func (x *Index) EncodeMsgpack(enc *msgpack.Encoder) error {
	e := snapcodec.NewEncoder(enc)
	x.encode(e)
	return e.Err()
}

// DecodeMsgpack replaces the state of the index by one written by EncodeMsgpack. On error x is unchanged.
func (x *Index) DecodeMsgpack(dec *msgpack.Decoder) error {
	return x.DecodeVersion(dec, SnapshotVersion)
}

// DecodeVersion is DecodeMsgpack for an index that a snapshot of version (OldestSnapshotVersion to
// SnapshotVersion) embeds.
func (x *Index) DecodeVersion(dec *msgpack.Decoder, version uint64) error {
	if version < OldestSnapshotVersion || version > SnapshotVersion {
		return fmt.Errorf("index of snapshot version %d, want %d to %d", version, OldestSnapshotVersion, SnapshotVersion)
	}
	d := snapcodec.NewDecoder(dec)
	y := decodeIndex(d, version)
	if d.Err() != nil {
		return d.Err()
	}
	*x = *y
	return nil
}

// EncodeMsgpack writes the processes of every boot of the table to enc, processes sorted by (tgid,
// start), so that two tables with the same state write the same bytes:
//
//	count × (boot watermark procs: count × (tgid start ppid pstart exit seen
//	images: count × (seq comm exe args cgroup)))
func (t *ProcTable) EncodeMsgpack(enc *msgpack.Encoder) error {
	e := snapcodec.NewEncoder(enc)
	e.Count(len(t.boots))
	for _, b := range t.boots {
		e.Str(b.id)
		e.Uint(b.watermark)
		keys := make([]procKey, 0, len(b.procs))
		for k := range b.procs {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareKeys)
		e.Count(len(keys))
		for _, k := range keys {
			p := b.procs[k]
			e.Uint(uint64(k.tgid))
			e.Uint(k.start)
			e.Uint(uint64(p.ppid))
			e.Uint(p.pstart)
			e.Uint(p.exit)
			e.Uint(p.seen)
			e.Count(len(p.images))
			for _, im := range p.images {
				e.Uint(im.seq)
				e.Bytes(im.comm)
				e.Bytes(im.exe)
				e.Bytes(im.args)
				e.Bytes(im.cgroup)
			}
		}
	}
	return e.Err()
}

// DecodeMsgpack adds to the table the processes written by EncodeMsgpack; the table keeps its limits.
func (t *ProcTable) DecodeMsgpack(dec *msgpack.Decoder) error {
	d := snapcodec.NewDecoder(dec)
	n := d.Uint()
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		b := t.boot(d.Str(snapcodec.MaxName), true)
		b.watermark = d.Uint()
		m := d.Uint()
		for j := uint64(0); j < m && d.Err() == nil; j++ {
			k := procKey{uint32(d.Uint()), d.Uint()}
			p := &proc{ppid: uint32(d.Uint()), pstart: d.Uint(), exit: d.Uint(), seen: d.Uint()}
			c := d.Uint()
			for l := uint64(0); l < c && d.Err() == nil; l++ {
				im := image{seq: d.Uint(), comm: clone(d), exe: clone(d), args: clone(d), cgroup: clone(d)}
				im.container = ContainerID(im.cgroup)
				p.images = append(p.images, im)
			}
			b.procs[k] = p
			if p.exit != 0 {
				b.exited = append(b.exited, exitRec{k, p.exit})
			}
		}
		slices.SortFunc(b.exited, func(x, y exitRec) int { return cmp.Or(cmp.Compare(x.seq, y.seq), compareKeys(x.key, y.key)) })
	}
	return d.Err()
}

// clone reads a name of a process into memory of its own, nil when empty.
func clone(d *snapcodec.Decoder) []byte {
	if b := d.Bytes(snapcodec.MaxName); len(b) > 0 {
		return bytes.Clone(b)
	}
	return nil
}
