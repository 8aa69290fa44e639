package projection

import "bytes"

// node is one inode. Only directories and scan roots carry an ext record; a plain file is 16 bytes.
type node struct {
	ino   uint64
	links uint32 // first edge naming this node, linked through edge.nextLink; next free node when free
	ext   uint32 // its ext record, 0 for a plain file
}

// edge is one name of a node in a parent directory: a dentry. A hard-linked file has one edge per link.
type edge struct {
	node     uint32 // 0 when the edge is free
	parent   uint32
	name     uint32 // offset in names
	nextLink uint32 // the node's next edge; next free edge when free
	nextKid  uint32 // the parent's next child edge
	prevKid  uint32 // the parent's previous child edge, 0 for the first
}

// ext is what a directory or a scan root has beyond a file: its children and its cached path.
type ext struct {
	kids   uint32 // first child edge; next free ext when free
	gen    uint32 // the tree's gen when the path below was cached; stale when different
	off    uint32 // cached path in tree.cache
	plen   uint32 // its length, or noPath when the node is not under a root
	anchor bool   // the node is a scan root, its path is in tree.anchors
}

const noPath = ^uint32(0)

// tree is the dentry graph of one filesystem. Node, edge and ext 0 are sentinels, never used.
type tree struct {
	ids     inoTable
	nodes   []node
	edges   []edge
	exts    []ext
	names   names
	anchors map[uint32][]byte // root node → its host path

	freeNode, freeEdge, freeExt uint32

	gen    uint32 // path cache generation, see path.go
	budget int    // bound of invalidateBelow's work: maxInvalidate, but for tests
	cache  []byte // cached directory paths
	// Reused stacks of remove, invalidateBelow and fill.
	removing, below, chain []uint32
}

func newTree() *tree {
	return &tree{
		ids:     newInoTable(),
		nodes:   make([]node, 1),
		edges:   make([]edge, 1),
		exts:    make([]ext, 1),
		anchors: make(map[uint32][]byte),
		gen:     1,
		budget:  maxInvalidate,
	}
}

// len is the number of nodes.
func (t *tree) len() int { return t.ids.len }

func (t *tree) find(ino uint64) uint32 {
	if ino == 0 {
		return 0
	}
	return t.ids.find(ino).node
}

// findDir returns the node of ino and its ext record.
func (t *tree) findDir(ino uint64) (n, x uint32) {
	if ino == 0 {
		return 0, 0
	}
	s := t.ids.find(ino)
	return s.node, s.ext
}

// ensure returns the node of ino, creating it when missing. dir gives it an ext record.
func (t *tree) ensure(ino uint64, dir bool) uint32 {
	n := t.find(ino)
	if n == 0 {
		n = t.allocNode(ino)
	}
	if dir {
		t.ensureExt(n)
	}
	return n
}

func (t *tree) allocNode(ino uint64) uint32 {
	n := t.freeNode
	if n != 0 {
		t.freeNode = t.nodes[n].links
		t.nodes[n] = node{ino: ino}
	} else {
		n = uint32(len(t.nodes))
		t.nodes = append(t.nodes, node{ino: ino})
	}
	t.ids.insert(ino, n, 0)
	return n
}

func (t *tree) ensureExt(n uint32) *ext {
	if x := t.nodes[n].ext; x != 0 {
		return &t.exts[x]
	}
	x := t.freeExt
	if x != 0 {
		t.freeExt = t.exts[x].kids
		t.exts[x] = ext{}
	} else {
		x = uint32(len(t.exts))
		t.exts = append(t.exts, ext{})
	}
	t.nodes[n].ext = x
	t.ids.find(t.nodes[n].ino).ext = x
	return &t.exts[x]
}

// findEdge returns the edge of node n named name in parent p, 0 if there is none.
func (t *tree) findEdge(n, p uint32, name []byte) uint32 {
	for e := t.nodes[n].links; e != 0; e = t.edges[e].nextLink {
		if t.edges[e].parent == p && bytes.Equal(t.names.get(t.edges[e].name), name) {
			return e
		}
	}
	return 0
}

// link gives node n the name name in directory p, unless it has it already.
func (t *tree) link(n, p uint32, name []byte) {
	t.linkExt(n, p, t.nodes[p].ext, name)
}

// linkExt is link when the caller knows the ext of p, x (0 if p has none yet).
func (t *tree) linkExt(n, p, x uint32, name []byte) {
	if t.findEdge(n, p, name) != 0 {
		return
	}
	t.touch(n)
	e := t.freeEdge
	if e != 0 {
		t.freeEdge = t.edges[e].nextLink
	} else {
		e = uint32(len(t.edges))
		t.edges = append(t.edges, edge{})
	}
	if x == 0 {
		t.ensureExt(p)
		x = t.nodes[p].ext
	}
	px := &t.exts[x]
	t.edges[e] = edge{node: n, parent: p, name: t.names.add(name), nextLink: t.nodes[n].links, nextKid: px.kids}
	if px.kids != 0 {
		t.edges[px.kids].prevKid = e
	}
	px.kids = e
	t.nodes[n].links = e
}

// unlink removes edge e from its node and its parent.
func (t *tree) unlink(e uint32) {
	t.touch(t.edges[e].node)
	t.detach(e)
}

// detach removes edge e without invalidating cached paths: for a node about to be freed.
func (t *tree) detach(e uint32) {
	ed := t.edges[e]
	// Off the node's list of links.
	for p := &t.nodes[ed.node].links; *p != 0; p = &t.edges[*p].nextLink {
		if *p == e {
			*p = ed.nextLink
			break
		}
	}
	// Off the parent's list of children.
	if ed.prevKid != 0 {
		t.edges[ed.prevKid].nextKid = ed.nextKid
	} else {
		t.exts[t.nodes[ed.parent].ext].kids = ed.nextKid
	}
	if ed.nextKid != 0 {
		t.edges[ed.nextKid].prevKid = ed.prevKid
	}
	t.names.free(ed.name)
	t.edges[e] = edge{nextLink: t.freeEdge}
	t.freeEdge = e
	if t.names.wasteful() {
		t.compactNames()
	}
}

// unlinkName removes the name name in directory p from node n, if it has it.
func (t *tree) unlinkName(n, p uint32, name []byte) {
	if e := t.findEdge(n, p, name); e != 0 {
		t.unlink(e)
	}
}

// orphan reports whether n has neither a name nor a root path, so nothing can reach it.
func (t *tree) orphan(n uint32) bool {
	return t.nodes[n].links == 0 && !t.anchored(n)
}

func (t *tree) anchored(n uint32) bool {
	x := t.nodes[n].ext
	return x != 0 && t.exts[x].anchor
}

// remove deletes node n with its names and every node below it that is left without a name.
func (t *tree) remove(n uint32) {
	stack := append(t.removing[:0], n)
	for len(stack) > 0 {
		m := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		// m goes, and with it its ext and cached path; what was cached below it goes too, except
		// (with inconsistent input) a directory with another name, which touch invalidates.
		for t.nodes[m].links != 0 {
			t.detach(t.nodes[m].links)
		}
		if x := t.nodes[m].ext; x != 0 {
			for t.exts[x].kids != 0 {
				kid := t.edges[t.exts[x].kids].node
				t.detach(t.exts[x].kids)
				if kid == m {
					continue
				}
				if t.orphan(kid) {
					stack = append(stack, kid)
				} else {
					t.touch(kid)
				}
			}
		}
		t.free(m)
	}
	t.removing = stack[:0]
}

// dropIfOrphan removes n (and what only it reached) when nothing names it any more.
func (t *tree) dropIfOrphan(n uint32) {
	if n != 0 && t.nodes[n].ino != 0 && t.orphan(n) {
		t.remove(n)
	}
}

func (t *tree) free(n uint32) {
	t.ids.remove(t.nodes[n].ino)
	if x := t.nodes[n].ext; x != 0 {
		if t.exts[x].anchor {
			delete(t.anchors, n)
		}
		t.exts[x] = ext{kids: t.freeExt}
		t.freeExt = x
	}
	t.nodes[n] = node{links: t.freeNode}
	t.freeNode = n
}

// setAnchor makes n a scan root with host path p, or no root when p is nil.
func (t *tree) setAnchor(n uint32, p []byte) {
	if p == nil {
		if t.anchored(n) {
			t.touch(n)
			t.exts[t.nodes[n].ext].anchor = false
			delete(t.anchors, n)
		}
		return
	}
	if old, ok := t.anchors[n]; ok && bytes.Equal(old, p) {
		return
	}
	t.touch(n)
	t.ensureExt(n).anchor = true
	t.anchors[n] = bytes.Clone(p)
}

// compactNames rewrites the name arena with only the live names, in edge order.
func (t *tree) compactNames() {
	live := names{b: make([]byte, 0, len(t.names.b)-t.names.garbage)}
	for i := range t.edges {
		if e := &t.edges[i]; e.node != 0 {
			e.name = live.add(t.names.get(e.name))
		}
	}
	t.names = live
}
