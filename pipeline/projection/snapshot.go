package projection

import (
	"bytes"
	"cmp"
	"io"
	"slices"

	"github.com/factstream/factstream/pipeline/internal/snapcodec"
)

// A snapshot is a msgpack sequence, canonical so that two indexes with the same state write the same
// bytes, whatever the order of events that built them. The snapshot of one Index is
//
//	"fsidx" 2 covers index
//
// and that of Indexes, one per (host, dev) in sorted order,
//
//	"fsidxs" 2 covers count, then count × (host dev index)
//
// where an index is
//
//	seq uncertain scanning scan_epoch
//	tree (the current view)
//	tree (the scan's view, only when scanning)
//	tombs: count, then count × (ino parent name), sorted
//	contents: count, then count × (ino alg digest size written), sorted by inode
//
// and a tree is
//
//	nodes: count, then count × (ino has_ext root_path|nil), sorted by inode
//	edges: count, then count × (ino parent_ino name), sorted
//
// Cached paths and the memory layout are not part of it: they follow from the edges. Version 1 is the
// same without contents; it is still read, as an index that knows no content.

const (
	snapshotMagic = "fsidx"
	indexesMagic  = "fsidxs"
	// SnapshotVersion is the version of the encoding written, also carried by snapshots that embed an
	// Index or a ProcTable.
	SnapshotVersion = 2
	// OldestSnapshotVersion is the oldest version still read.
	OldestSnapshotVersion = 1
)

// WriteSnapshot writes the state of the index to w, recording that it covers the raw stream up to the
// stream sequence covers.
func (x *Index) WriteSnapshot(w io.Writer, covers uint64) error {
	e := snapcodec.NewWriter(w)
	e.Header(snapshotMagic, SnapshotVersion)
	e.Uint(covers)
	x.encode(e)
	return e.Flush()
}

func (x *Index) encode(e *snapcodec.Encoder) {
	e.Uint(x.seq)
	e.Bool(x.uncertain)
	e.Bool(x.next != nil)
	e.Uint(x.scan)
	x.cur.encode(e)
	if x.next != nil {
		x.next.encode(e)
	}
	encodeTombs(e, x.tombs)
	encodeContents(e, x.content)
}

func (t *tree) encode(e *snapcodec.Encoder) {
	nodes := make([]uint32, 0, t.len())
	for n := 1; n < len(t.nodes); n++ {
		if t.nodes[n].ino != 0 {
			nodes = append(nodes, uint32(n))
		}
	}
	slices.SortFunc(nodes, func(a, b uint32) int { return cmp.Compare(t.nodes[a].ino, t.nodes[b].ino) })
	e.Count(len(nodes))
	edges := 0
	for _, n := range nodes {
		e.Uint(t.nodes[n].ino)
		e.Bool(t.nodes[n].ext != 0)
		e.Bytes(t.anchors[n]) // nil when not a root
		for l := t.nodes[n].links; l != 0; l = t.edges[l].nextLink {
			edges++
		}
	}
	e.Count(edges)
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
			e.Uint(t.nodes[n].ino)
			e.Uint(t.nodes[t.edges[l].parent].ino)
			e.Bytes(t.names.get(t.edges[l].name))
		}
	}
}

func encodeTombs(e *snapcodec.Encoder, m map[tomb]struct{}) {
	ts := make([]tomb, 0, len(m))
	for t := range m {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b tomb) int {
		return cmp.Or(cmp.Compare(a.ino, b.ino), cmp.Compare(a.parent, b.parent), cmp.Compare(a.name, b.name))
	})
	e.Count(len(ts))
	for _, t := range ts {
		e.Uint(t.ino)
		e.Uint(t.parent)
		e.Str(t.name)
	}
}

// ReadSnapshot reads an index written by WriteSnapshot and the stream sequence it covers. Errors wrap
// ErrBadSnapshot.
func ReadSnapshot(r io.Reader) (*Index, uint64, error) {
	d := snapcodec.NewReader(r)
	version := d.HeaderIn(snapshotMagic, OldestSnapshotVersion, SnapshotVersion)
	covers := d.Uint()
	x := decodeIndex(d, version)
	if err := d.End(); err != nil {
		return nil, 0, err
	}
	return x, covers, nil
}

// decodeIndex reads an index laid out as in version.
func decodeIndex(d *snapcodec.Decoder, version uint64) *Index {
	x := &Index{seq: d.Uint(), uncertain: d.Bool()}
	scanning := d.Bool()
	x.scan = d.Uint()
	x.cur = decodeTree(d)
	if scanning {
		x.next = decodeTree(d)
	}
	decodeTombs(d, x)
	if version >= 2 {
		decodeContents(d, x)
	}
	return x
}

func decodeTree(d *snapcodec.Decoder) *tree {
	t := newTree()
	n := d.Uint()
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		ino, hasExt, root := d.Uint(), d.Bool(), d.Bytes(snapcodec.MaxName)
		if d.Err() != nil {
			break
		}
		if ino == 0 || t.find(ino) != 0 {
			d.Failf("node %d: zero or repeated", ino)
			break
		}
		m := t.ensure(ino, hasExt)
		if root != nil {
			t.setAnchor(m, root)
		}
	}
	n = d.Uint()
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		ino, parent := d.Uint(), d.Uint()
		name := d.Bytes(snapcodec.MaxName)
		a, p := t.find(ino), t.find(parent)
		if d.Err() == nil && (a == 0 || p == 0 || t.nodes[p].ext == 0) {
			d.Failf("edge %d in %d: a node or its directory is missing", ino, parent)
		}
		if d.Err() == nil {
			t.link(a, p, name)
		}
	}
	return t
}

func decodeTombs(d *snapcodec.Decoder, x *Index) {
	n := d.Uint()
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		ino, parent := d.Uint(), d.Uint()
		name := d.Bytes(snapcodec.MaxName)
		if d.Err() == nil {
			x.tomb(ino, parent, bytes.Clone(name))
		}
	}
}
