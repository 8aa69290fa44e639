package projection

// Paths are computed by walking parent edges up to a scan root. The paths of directories are cached:
// ext.gen records the tree's gen when a directory's path was cached, and the entry is valid while the
// two are equal.
//
// Invariant: when a directory's path is cached, so are the paths of all its ancestors (computing a path
// caches every ancestor it walks through). A cached path depends only on the edges and root paths of the
// directory and its ancestors, so every change to a node's edges or root path calls touch first, which,
// when the node is cached, marks it and every cached directory below it stale. By the invariant the walk
// down can stop at the first uncached directory, and it touches nothing outside the moved subtree.
// Creating, removing or renaming a file touches only uncached nodes and costs nothing. A subtree too
// large to walk now is invalidated wholesale instead, by bumping gen: then every cached path goes stale
// in one increment and is recomputed when next asked for. Removing a node frees its ext, so a reused
// ext starts uncached.

// maxInvalidate is the default bound of the work touch does on one rename; beyond it the whole cache
// is dropped.
const maxInvalidate = 1 << 14

// touch is called before a node's edges or root path change.
func (t *tree) touch(n uint32) {
	if x := t.nodes[n].ext; x != 0 && t.exts[x].gen == t.gen {
		t.invalidateBelow(n)
	}
}

// invalidateBelow marks n and every cached directory below it stale.
func (t *tree) invalidateBelow(n uint32) {
	stack := append(t.below[:0], n)
	t.exts[t.nodes[n].ext].gen = 0
	for work := 0; len(stack) > 0; {
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for e := t.exts[t.nodes[d].ext].kids; e != 0; e = t.edges[e].nextKid {
			if work++; work > t.budget {
				t.below = stack[:0]
				t.invalidate()
				return
			}
			kid := t.edges[e].node
			if x := t.nodes[kid].ext; x != 0 && t.exts[x].gen == t.gen {
				t.exts[x].gen = 0
				stack = append(stack, kid)
			}
		}
	}
	t.below = stack[:0]
}

// invalidate makes every cached path stale.
func (t *tree) invalidate() {
	t.gen++
	t.cache = t.cache[:0]
	if t.gen == 0 { // wrapped: clear old stamps so none can look current
		for i := range t.exts {
			t.exts[i].gen = 0
		}
		t.gen = 1
	}
}

// dirPath returns the host path of a node with an ext (a directory or a root), ok false when it is not
// under a root. The result aliases the cache: copy it before changing the tree.
func (t *tree) dirPath(n uint32) ([]byte, bool) {
	return t.dirPathExt(n, t.nodes[n].ext)
}

// dirPathExt is dirPath when the caller knows the node's ext, xi.
func (t *tree) dirPathExt(n, xi uint32) ([]byte, bool) {
	x := &t.exts[xi]
	if x.gen != t.gen {
		t.fill(n)
	}
	if x.plen == noPath {
		return nil, false
	}
	return t.cache[x.off : x.off+x.plen : x.off+x.plen], true
}

// fill caches the paths of n and of its uncached ancestors.
func (t *tree) fill(n uint32) {
	if len(t.cache) > 64<<20 { // garbage of removed directories piles up between invalidations
		t.invalidate()
	}
	chain := t.chain[:0]
	var base []byte
	ok := false
	for m := n; ; {
		x := &t.exts[t.nodes[m].ext]
		if x.gen == t.gen {
			if ok = x.plen != noPath; ok {
				base = t.cache[x.off : x.off+x.plen]
			}
			break
		}
		if x.anchor {
			t.store(m, t.anchors[m], nil)
			base, ok = t.cache[x.off:x.off+x.plen], true
			break
		}
		chain = append(chain, m)
		e := t.primary(m)
		if e == 0 || len(chain) > t.ids.len { // longer than the tree: a cycle left by lost events
			break
		}
		if m = t.edges[e].parent; t.nodes[m].ext == 0 {
			break // a file as a parent: inconsistent input
		}
	}
	for i := len(chain) - 1; i >= 0; i-- {
		m := chain[i]
		x := &t.exts[t.nodes[m].ext]
		if !ok {
			x.gen, x.plen = t.gen, noPath
			continue
		}
		t.store(m, base, t.names.get(t.edges[t.primary(m)].name))
		base = t.cache[x.off : x.off+x.plen]
	}
	t.chain = chain[:0]
}

// primary is the edge a directory's path goes through: its only one, or with inconsistent input the
// first in (parent inode, name) order.
func (t *tree) primary(n uint32) uint32 {
	e := t.nodes[n].links
	if e == 0 || t.edges[e].nextLink == 0 {
		return e
	}
	best := e
	for e = t.edges[e].nextLink; e != 0; e = t.edges[e].nextLink {
		if t.edgeLess(e, best) {
			best = e
		}
	}
	return best
}

// store caches parent/name (or parent alone when name is nil) as the path of m.
func (t *tree) store(m uint32, parent, name []byte) {
	off := len(t.cache)
	if name == nil {
		t.cache = append(t.cache, parent...)
	} else {
		t.cache = appendChild(t.cache, parent, name)
	}
	x := &t.exts[t.nodes[m].ext]
	x.gen, x.off, x.plen = t.gen, uint32(off), uint32(len(t.cache)-off)
}

// appendChild appends dir/name to dst, with one slash between them.
func appendChild(dst, dir, name []byte) []byte {
	dst = append(dst, dir...)
	if len(dir) == 0 || dir[len(dir)-1] != '/' {
		dst = append(dst, '/')
	}
	return append(dst, name...)
}

// appendEntryPath appends the path of name in directory node p, ok false when p has no path.
func (t *tree) appendEntryPath(dst []byte, p uint32, name []byte) ([]byte, bool) {
	if p == 0 {
		return dst, false
	}
	return t.appendEntryPathExt(dst, p, t.nodes[p].ext, name)
}

// appendEntryPathExt is appendEntryPath when the caller knows the ext of p, x.
func (t *tree) appendEntryPathExt(dst []byte, p, x uint32, name []byte) ([]byte, bool) {
	if x == 0 {
		return dst, false
	}
	dir, ok := t.dirPathExt(p, x)
	if !ok {
		return dst, false
	}
	return appendChild(dst, dir, name), true
}

// appendLinkPath appends the path of edge e.
func (t *tree) appendLinkPath(dst []byte, e uint32) ([]byte, bool) {
	ed := &t.edges[e]
	return t.appendEntryPath(dst, ed.parent, t.names.get(ed.name))
}

// appendNodePath appends a path of node n: its root path, or the path of its first name in (parent
// inode, name) order, so that the choice depends on the tree and not on the order of events.
func (t *tree) appendNodePath(dst []byte, n uint32) ([]byte, bool) {
	if t.anchored(n) {
		return append(dst, t.anchors[n]...), true
	}
	e := t.primary(n)
	if e == 0 {
		return dst, false
	}
	return t.appendLinkPath(dst, e)
}

func (t *tree) edgeLess(a, b uint32) bool {
	ea, eb := &t.edges[a], &t.edges[b]
	pa, pb := t.nodes[ea.parent].ino, t.nodes[eb.parent].ino
	if pa != pb {
		return pa < pb
	}
	return string(t.names.get(ea.name)) < string(t.names.get(eb.name))
}
