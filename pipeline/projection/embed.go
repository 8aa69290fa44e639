package projection

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// An Index and a ProcTable encode themselves into a larger snapshot, such as the one of a partition's
// views in package pipeline, with the msgpack.CustomEncoder and msgpack.CustomDecoder methods below. The
// bytes are those of the "index" and "procs" parts described in snapshot.go and pipeline's viewsnap.go.

// EncodeMsgpack writes the state of the index, without a header, to enc.
func (x *Index) EncodeMsgpack(enc *msgpack.Encoder) error {
	e := snapEncoder{enc: enc}
	e.index(x)
	return e.err
}

// DecodeMsgpack replaces the state of the index by one written by EncodeMsgpack. On error x is unchanged.
func (x *Index) DecodeMsgpack(dec *msgpack.Decoder) error {
	d := snapDecoder{dec: dec}
	y := d.index()
	if d.err != nil {
		return d.err
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
	e := snapEncoder{enc: enc}
	e.count(len(t.boots))
	for _, b := range t.boots {
		e.str(b.id)
		e.uint(b.watermark)
		keys := make([]procKey, 0, len(b.procs))
		for k := range b.procs {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareKeys)
		e.count(len(keys))
		for _, k := range keys {
			p := b.procs[k]
			e.uint(uint64(k.tgid))
			e.uint(k.start)
			e.uint(uint64(p.ppid))
			e.uint(p.pstart)
			e.uint(p.exit)
			e.uint(p.seen)
			e.count(len(p.images))
			for _, im := range p.images {
				e.uint(im.seq)
				e.bytes(im.comm)
				e.bytes(im.exe)
				e.bytes(im.args)
				e.bytes(im.cgroup)
			}
		}
	}
	return e.err
}

// DecodeMsgpack adds to the table the processes written by EncodeMsgpack; the table keeps its limits.
func (t *ProcTable) DecodeMsgpack(dec *msgpack.Decoder) error {
	d := snapDecoder{dec: dec}
	n := d.uint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		b := t.boot(d.str(), true)
		b.watermark = d.uint()
		m := d.uint()
		for j := uint64(0); j < m && d.err == nil; j++ {
			k := procKey{uint32(d.uint()), d.uint()}
			p := &proc{ppid: uint32(d.uint()), pstart: d.uint(), exit: d.uint(), seen: d.uint()}
			c := d.uint()
			for l := uint64(0); l < c && d.err == nil; l++ {
				im := image{seq: d.uint(), comm: d.clone(), exe: d.clone(), args: d.clone(), cgroup: d.clone()}
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
	return d.err
}

func (d *snapDecoder) str() string { return string(d.bytes()) }

func (d *snapDecoder) clone() []byte {
	if b := d.bytes(); len(b) > 0 {
		return bytes.Clone(b)
	}
	return nil
}
