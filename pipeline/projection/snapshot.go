package projection

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// A snapshot is a msgpack sequence, canonical so that two indexes with the same state write the same
// bytes, whatever the order of events that built them. The snapshot of one Index is
//
//	"fsidx" 1 covers index
//
// and that of Indexes, one per (host, dev) in sorted order,
//
//	"fsidxs" 1 covers count, then count × (host dev index)
//
// where an index is
//
//	seq uncertain scanning scan_epoch
//	tree (the current view)
//	tree (the scan's view, only when scanning)
//	tombs: count, then count × (ino parent name), sorted
//
// and a tree is
//
//	nodes: count, then count × (ino has_ext root_path|nil), sorted by inode
//	edges: count, then count × (ino parent_ino name), sorted
//
// Cached paths and the memory layout are not part of it: they follow from the edges.

const (
	snapshotMagic   = "fsidx"
	indexesMagic    = "fsidxs"
	SnapshotVersion = 1        // of the encoding, also carried by snapshots that embed an Index or a ProcTable
	maxSnapshotName = 64 << 10 // longer than any name or path the kernel has
)

// WriteSnapshot writes the state of the index to w, recording that it covers the raw stream up to the
// stream sequence covers.
func (x *Index) WriteSnapshot(w io.Writer, covers uint64) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	e := snapEncoder{enc: msgpack.NewEncoder(bw)}
	e.str(snapshotMagic)
	e.uint(SnapshotVersion)
	e.uint(covers)
	e.index(x)
	return e.flush(bw)
}

func (e *snapEncoder) flush(bw *bufio.Writer) error {
	if e.err != nil {
		return fmt.Errorf("write snapshot: %w", e.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}

func (e *snapEncoder) index(x *Index) {
	e.uint(x.seq)
	e.bool(x.uncertain)
	e.bool(x.next != nil)
	e.uint(x.scan)
	e.tree(x.cur)
	if x.next != nil {
		e.tree(x.next)
	}
	e.tombs(x.tombs)
}

// snapEncoder keeps the first error, so that writing reads as a list.
type snapEncoder struct {
	enc *msgpack.Encoder
	err error
}

func (e *snapEncoder) do(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *snapEncoder) uint(v uint64)  { e.do(e.enc.EncodeUint(v)) }
func (e *snapEncoder) bool(v bool)    { e.do(e.enc.EncodeBool(v)) }
func (e *snapEncoder) str(v string)   { e.do(e.enc.EncodeString(v)) }
func (e *snapEncoder) bytes(v []byte) { e.do(e.enc.EncodeBytes(v)) }
func (e *snapEncoder) count(n int)    { e.uint(uint64(n)) }
func (e *snapEncoder) nilOrBytes(v []byte) {
	if v == nil {
		e.do(e.enc.EncodeNil())
		return
	}
	e.bytes(v)
}

func (e *snapEncoder) tree(t *tree) {
	nodes := make([]uint32, 0, t.len())
	for n := 1; n < len(t.nodes); n++ {
		if t.nodes[n].ino != 0 {
			nodes = append(nodes, uint32(n))
		}
	}
	slices.SortFunc(nodes, func(a, b uint32) int { return cmp.Compare(t.nodes[a].ino, t.nodes[b].ino) })
	e.count(len(nodes))
	edges := 0
	for _, n := range nodes {
		e.uint(t.nodes[n].ino)
		e.bool(t.nodes[n].ext != 0)
		e.nilOrBytes(t.anchors[n])
		for l := t.nodes[n].links; l != 0; l = t.edges[l].nextLink {
			edges++
		}
	}
	e.count(edges)
	links := make([]uint32, 0, 4)
	for _, n := range nodes {
		links = links[:0]
		for l := t.nodes[n].links; l != 0; l = t.edges[l].nextLink {
			links = append(links, l)
		}
		slices.SortFunc(links, func(a, b uint32) int {
			if t.edgeLess(a, b) {
				return -1
			}
			return 1
		})
		for _, l := range links {
			e.uint(t.nodes[n].ino)
			e.uint(t.nodes[t.edges[l].parent].ino)
			e.bytes(t.names.get(t.edges[l].name))
		}
	}
}

func (e *snapEncoder) tombs(m map[tomb]struct{}) {
	ts := make([]tomb, 0, len(m))
	for t := range m {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b tomb) int {
		return cmp.Or(cmp.Compare(a.ino, b.ino), cmp.Compare(a.parent, b.parent), cmp.Compare(a.name, b.name))
	})
	e.count(len(ts))
	for _, t := range ts {
		e.uint(t.ino)
		e.uint(t.parent)
		e.str(t.name)
	}
}

// ReadSnapshot reads an index written by WriteSnapshot and the stream sequence it covers. Errors wrap
// ErrBadSnapshot.
func ReadSnapshot(r io.Reader) (*Index, uint64, error) {
	d := snapDecoder{dec: msgpack.NewDecoder(r)}
	covers := d.header(snapshotMagic)
	x := d.index()
	if err := d.end(); err != nil {
		return nil, 0, err
	}
	return x, covers, nil
}

type snapDecoder struct {
	dec *msgpack.Decoder
	err error
	buf []byte
}

func (d *snapDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *snapDecoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, err := d.dec.DecodeUint64()
	if err != nil {
		d.fail("%w", err)
	}
	return v
}

func (d *snapDecoder) bool() bool {
	if d.err != nil {
		return false
	}
	v, err := d.dec.DecodeBool()
	if err != nil {
		d.fail("%w", err)
	}
	return v
}

// bytes returns the next bin or str (nil for nil) in a buffer reused by the next call.
func (d *snapDecoder) bytes() []byte {
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
	case n > maxSnapshotName:
		d.fail("a name of %d bytes", n)
		return nil
	}
	d.buf = slices.Grow(d.buf[:0], n)[:n]
	if err := d.dec.ReadFull(d.buf); err != nil {
		d.fail("%w", err)
	}
	return d.buf
}

// header reads the magic and version and returns what the snapshot covers.
func (d *snapDecoder) header(magic string) uint64 {
	if m := d.bytes(); d.err == nil && string(m) != magic {
		d.fail("not a %q snapshot", magic)
	}
	if v := d.uint(); d.err == nil && v != SnapshotVersion {
		d.fail("version %d, want %d", v, SnapshotVersion)
	}
	return d.uint()
}

// end checks that nothing follows and returns the error of the whole read.
func (d *snapDecoder) end() error {
	if d.err == nil {
		if _, err := d.dec.PeekCode(); err != io.EOF {
			d.fail("trailing data")
		}
	}
	if d.err != nil {
		return fmt.Errorf("read snapshot: %w: %w", ErrBadSnapshot, d.err)
	}
	return nil
}

func (d *snapDecoder) index() *Index {
	x := &Index{seq: d.uint(), uncertain: d.bool()}
	scanning := d.bool()
	x.scan = d.uint()
	x.cur = d.tree()
	if scanning {
		x.next = d.tree()
	}
	d.tombs(x)
	return x
}

func (d *snapDecoder) tree() *tree {
	t := newTree()
	n := d.uint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		ino, hasExt, root := d.uint(), d.bool(), d.bytes()
		if d.err != nil {
			break
		}
		if ino == 0 || t.find(ino) != 0 {
			d.fail("node %d: zero or repeated", ino)
			break
		}
		m := t.ensure(ino, hasExt)
		if root != nil {
			t.setAnchor(m, root)
		}
	}
	n = d.uint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		ino, parent := d.uint(), d.uint()
		name := d.bytes()
		a, p := t.find(ino), t.find(parent)
		if d.err == nil && (a == 0 || p == 0 || t.nodes[p].ext == 0) {
			d.fail("edge %d in %d: a node or its directory is missing", ino, parent)
		}
		if d.err == nil {
			t.link(a, p, name)
		}
	}
	return t
}

func (d *snapDecoder) tombs(x *Index) {
	n := d.uint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		ino, parent := d.uint(), d.uint()
		name := d.bytes()
		if d.err == nil {
			x.tomb(ino, parent, bytes.Clone(name))
		}
	}
}
