package projection

import (
	"bytes"
	"slices"

	"github.com/factstream/factstream/schemas"
)

// Change is what an event means for the host paths of its file, for the enricher. Both paths are empty
// when the side they describe is not under a tracked node.
type Change struct {
	// Path is the file's host path after the event; for unlink and rmdir, the path it had.
	Path []byte
	// OldPath is, for rename, the host path before; for link, the host path of the existing name.
	OldPath []byte
	// OldContent is, for content, what the index knew of the file's content before the event.
	OldContent Content
	// Drift says a scan's content event found another hash or size than OldContent, which no event
	// explains (content.go): the file changed while nothing watched.
	Drift bool
}

// Index is the inode→path projection of one filesystem of one host: the dentry graph rebuilt from the
// raw stream, one edge per hard link, paths computed by walking parents up to a scan root.
//
// An Index is not safe for concurrent use.
type Index struct {
	cur       *tree
	next      *tree  // the view a scan epoch is building, nil outside an epoch
	scan      uint64 // the epoch next belongs to
	tombs     map[tomb]struct{}
	uncertain bool
	seq       uint64
	buf       []byte
	content   map[uint64]Content // inode → its last ok hash (content.go); nil until the first
}

// tomb records a name (or with parent 0, a whole inode) removed while a scan was running, so that a scan
// entry read before the removal does not bring it back.
type tomb struct {
	ino, parent uint64
	name        string
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{cur: newTree()}
}

// Len returns the number of inodes in the index.
func (x *Index) Len() int { return x.cur.len() }

// Seq returns the sensor sequence of the last event applied.
func (x *Index) Seq() uint64 { return x.seq }

// Scanning reports whether a scan epoch has begun and not ended.
func (x *Index) Scanning() bool { return x.next != nil }

// Uncertain reports whether a loss event arrived since the last completed scan epoch: the index may miss
// changes until the next one.
func (x *Index) Uncertain() bool { return x.uncertain }

// MarkUncertain records that the index may miss changes (a hole in the sensor's sequence, a message
// that could not be read) until the next completed scan epoch, as a loss event does.
func (x *Index) MarkUncertain() { x.uncertain = true }

// Apply applies one event of this index's filesystem and returns the host paths it concerns (and, for a
// content event, what was known of the file's content before it). The paths alias memory of the index,
// valid until the next call of Apply. Events of other kinds than file, scan and content kinds change
// nothing; unknown inodes are not an error, they have empty paths.
func (x *Index) Apply(ev *schemas.RawEvent) Change {
	x.buf = x.buf[:0]
	x.seq = ev.Seq
	switch {
	case ev.Kind == schemas.KindLoss:
		x.uncertain = true
		return Change{}
	case ev.Kind >= schemas.KindScanBegin && ev.Kind <= schemas.KindScanEnd:
		x.applyScan(ev)
		return Change{}
	case ev.Kind == schemas.KindContent:
		return x.applyContent(ev)
	case !ev.Kind.File():
		return Change{}
	}
	var c Change
	before := ev.Kind == schemas.KindUnlink || ev.Kind == schemas.KindRmdir
	if before {
		c.Path = x.path(ev.Ino, ev.ParentIno, ev.Name, true)
	}
	if ev.Kind == schemas.KindRename || ev.Kind == schemas.KindLink {
		c.OldPath = x.path(ev.Ino, ev.OldParentIno, ev.OldName, ev.Kind == schemas.KindLink)
	}
	x.cur.apply(ev, nil)
	if x.next != nil {
		x.next.apply(ev, x)
	}
	if len(x.content) > 0 {
		x.noteContent(ev)
	}
	if !before {
		c.Path = x.path(ev.Ino, ev.ParentIno, ev.Name, ev.Kind != schemas.KindRename)
	}
	return c
}

// path appends to x.buf the host path of name in parent; failing that, the path of a scan root ino; and
// when fallback is set, any path of ino. It returns nil when there is none.
func (x *Index) path(ino, parent uint64, name []byte, fallback bool) []byte {
	t := x.cur
	start := len(x.buf)
	var ok bool
	if p, px := t.findDir(parent); p != 0 {
		x.buf, ok = t.appendEntryPathExt(x.buf, p, px, name)
	} else if n := t.find(ino); n != 0 && (fallback || t.anchored(n)) {
		x.buf, ok = t.appendNodePath(x.buf, n)
	}
	if !ok {
		x.buf = x.buf[:start]
		return nil
	}
	return x.buf[start:len(x.buf):len(x.buf)]
}

// Paths returns every host path of inode ino (one per tracked hard link, or its root path), sorted.
func (x *Index) Paths(ino uint64) [][]byte {
	t := x.cur
	n := t.find(ino)
	if n == 0 {
		return nil
	}
	var out [][]byte
	if t.anchored(n) {
		out = append(out, bytes.Clone(t.anchors[n]))
	}
	for e := t.nodes[n].links; e != 0; e = t.edges[e].nextLink {
		if p, ok := t.appendLinkPath(nil, e); ok {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, bytes.Compare)
	return out
}

func isDir(mode uint32) bool { return mode&0o170000 == 0o040000 }

// apply changes the tree for one file event. x is set when t is a scan's view being built, to record
// tombs.
func (t *tree) apply(ev *schemas.RawEvent, x *Index) {
	switch ev.Kind {
	case schemas.KindCreation, schemas.KindMkdir, schemas.KindSymlink:
		t.create(ev, x)
	case schemas.KindLink:
		if p := t.find(ev.ParentIno); p != 0 {
			t.link(t.ensure(ev.Ino, isDir(ev.Mode)), p, ev.Name)
			x.untomb(ev.Ino, ev.ParentIno, ev.Name)
		}
	case schemas.KindUnlink:
		t.unlinkEvent(ev, x)
	case schemas.KindRmdir:
		if n := t.find(ev.Ino); n != 0 {
			t.remove(n)
		}
		x.tomb(ev.Ino, 0, nil)
	case schemas.KindRename:
		switch {
		case ev.TargetIno == ev.Ino && ev.TargetIno != 0:
			// Two names of one inode: the kernel does nothing.
		case ev.Flags&schemas.FlagRenameExchange != 0:
			t.exchange(ev, x)
		default:
			t.rename(ev, x)
		}
	}
}

// create adds a new inode. A node already known under its number is stale, a previous life of the
// inode whose removal was not seen, and goes first.
func (t *tree) create(ev *schemas.RawEvent, x *Index) {
	if n := t.find(ev.Ino); n != 0 {
		t.remove(n)
	}
	p, px := t.findDir(ev.ParentIno)
	if p == 0 {
		return
	}
	n := t.allocNode(ev.Ino)
	if ev.Kind == schemas.KindMkdir || isDir(ev.Mode) {
		t.ensureExt(n)
	}
	t.linkExt(n, p, px, ev.Name)
	x.untomb(ev.Ino, 0, nil)
	x.untomb(ev.Ino, ev.ParentIno, ev.Name)
}

// unlinkEvent removes a name; the inode goes with its last link (Nlink 1 before the unlink) or when no
// tracked name is left.
func (t *tree) unlinkEvent(ev *schemas.RawEvent, x *Index) {
	x.tomb(ev.Ino, ev.ParentIno, ev.Name)
	if ev.Nlink == 1 {
		x.tomb(ev.Ino, 0, nil)
	}
	n := t.find(ev.Ino)
	if n == 0 {
		return
	}
	if p := t.find(ev.ParentIno); p != 0 {
		t.unlinkName(n, p, ev.Name)
	}
	if ev.Nlink == 1 {
		t.remove(n)
		return
	}
	t.dropIfOrphan(n)
}

// rename moves a name, replacing the target's name if there was one. A node moved out of the tree
// (unknown new parent) leaves with everything below it; one moved in from outside joins.
func (t *tree) rename(ev *schemas.RawEvent, x *Index) {
	np := t.find(ev.ParentIno)
	if ev.TargetIno != 0 {
		x.tomb(ev.TargetIno, ev.ParentIno, ev.Name)
		if m := t.find(ev.TargetIno); m != 0 {
			if np != 0 {
				t.unlinkName(m, np, ev.Name)
			}
			t.dropIfOrphan(m)
		}
	}
	x.tomb(ev.Ino, ev.OldParentIno, ev.OldName)
	np, npx := t.findDir(ev.ParentIno) // removing the target cannot remove its parent but for cycles
	n := t.find(ev.Ino)
	if n != 0 {
		if t.anchored(n) {
			t.moveRoot(n, ev, np != 0)
		}
		if op := t.find(ev.OldParentIno); op != 0 {
			t.unlinkName(n, op, ev.OldName)
		}
	}
	if np != 0 {
		t.linkExt(t.ensure(ev.Ino, isDir(ev.Mode)), np, npx, ev.Name)
		x.untomb(ev.Ino, ev.ParentIno, ev.Name)
	}
	t.dropIfOrphan(t.find(ev.Ino))
}

// moveRoot follows a rename of a scan root: to the path the event names; into a tracked directory,
// where its new edge gives its path; to its new name in the same directory; or out of the tree.
func (t *tree) moveRoot(n uint32, ev *schemas.RawEvent, tracked bool) {
	switch old := t.anchors[n]; {
	case len(ev.Path) > 0 && ev.Flags&(schemas.FlagProcessView|schemas.FlagPathOutside) == 0:
		t.setAnchor(n, ev.Path)
	case tracked:
		t.setAnchor(n, nil)
	case ev.OldParentIno == ev.ParentIno && bytes.HasSuffix(old, ev.OldName):
		t.setAnchor(n, appendChild(nil, old[:len(old)-len(ev.OldName)], ev.Name))
	default:
		t.setAnchor(n, nil)
	}
}

// exchange swaps the names of two inodes (RENAME_EXCHANGE).
func (t *tree) exchange(ev *schemas.RawEvent, x *Index) {
	op, np := t.find(ev.OldParentIno), t.find(ev.ParentIno)
	x.tomb(ev.Ino, ev.OldParentIno, ev.OldName)
	x.tomb(ev.TargetIno, ev.ParentIno, ev.Name)
	if n := t.find(ev.Ino); n != 0 && op != 0 {
		t.unlinkName(n, op, ev.OldName)
	}
	if m := t.find(ev.TargetIno); m != 0 && np != 0 {
		t.unlinkName(m, np, ev.Name)
	}
	if np != 0 {
		t.link(t.ensure(ev.Ino, isDir(ev.Mode)), np, ev.Name)
		x.untomb(ev.Ino, ev.ParentIno, ev.Name)
	}
	if op != 0 && ev.TargetIno != 0 {
		t.link(t.ensure(ev.TargetIno, false), op, ev.OldName)
		x.untomb(ev.TargetIno, ev.OldParentIno, ev.OldName)
	}
	t.dropIfOrphan(t.find(ev.Ino))
	t.dropIfOrphan(t.find(ev.TargetIno))
}
