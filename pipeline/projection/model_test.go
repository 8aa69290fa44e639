package projection

import (
	"bytes"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
	"pgregory.net/rapid"
)

// The model: a plain filesystem (maps of names) and, beside it, the set of names the index is expected
// to have learned from the events, with the rules stated in one place (learn, below). Paths of the model
// are the real paths of the filesystem, so the test checks both that the index learns what it should and
// that what it learns has the right path.

const (
	srvIno   = 2  // /srv, not monitored
	rootIno  = 10 // /srv/mon, the scan root
	otherIno = 50 // /srv/other, not monitored
	rootPath = "/srv/mon"
)

type mlink struct {
	ino, parent uint64
	name        string
}

type minode struct {
	dir   bool
	links map[mlink]bool
}

type model struct {
	inodes  map[uint64]*minode
	kids    map[uint64]map[string]uint64 // directory → name → inode
	learned map[mlink]bool               // the names the index should know
	content map[uint64]string            // inode → the hash the index should know for it
	written map[uint64]bool              // inodes whose known hash an event since may have changed
	drift   bool                         // whether the last content event generated is drift
	dead    []uint64                     // inode numbers free for reuse
	nextIno uint64
	epoch   uint64
	seq     uint64
}

func newModel() *model {
	m := &model{inodes: map[uint64]*minode{}, kids: map[uint64]map[string]uint64{},
		learned: map[mlink]bool{}, content: map[uint64]string{}, written: map[uint64]bool{}, nextIno: 100}
	m.inodes[srvIno] = &minode{dir: true, links: map[mlink]bool{}}
	m.kids[srvIno] = map[string]uint64{}
	m.addLink(rootIno, srvIno, "mon", true)
	m.addLink(otherIno, srvIno, "other", true)
	return m
}

func (m *model) addLink(ino, parent uint64, name string, dir bool) {
	in := m.inodes[ino]
	if in == nil {
		in = &minode{dir: dir, links: map[mlink]bool{}}
		m.inodes[ino] = in
		if dir {
			m.kids[ino] = map[string]uint64{}
		}
	}
	in.links[mlink{ino, parent, name}] = true
	m.kids[parent][name] = ino
}

func (m *model) removeLink(ino, parent uint64, name string) {
	in := m.inodes[ino]
	delete(in.links, mlink{ino, parent, name})
	delete(m.kids[parent], name)
	if len(in.links) == 0 {
		delete(m.inodes, ino)
		delete(m.kids, ino)
		m.dead = append(m.dead, ino)
	}
}

// path is the real path of a directory or link's parent, ok false when it is not under /srv.
func (m *model) dirPath(ino uint64) string {
	if ino == srvIno {
		return "/srv"
	}
	for l := range m.inodes[ino].links {
		return m.dirPath(l.parent) + "/" + l.name
	}
	panic("directory without a name")
}

func (m *model) under(ino, anc uint64) bool {
	for ino != srvIno {
		if ino == anc {
			return true
		}
		for l := range m.inodes[ino].links {
			ino = l.parent
		}
	}
	return anc == srvIno
}

// known is whether the index should know inode ino as a directory with a path.
func (m *model) known(ino uint64) bool {
	if ino == rootIno {
		return m.epoch > 0
	}
	for l := range m.learned {
		if l.ino == ino {
			return true
		}
	}
	return false
}

func (m *model) forget(ino uint64) {
	for l := range m.learned {
		if l.ino == ino {
			delete(m.learned, l)
		}
	}
}

// settle forgets names in directories the index no longer knows, until none is left: what a directory
// leaving the tree takes with it.
func (m *model) settle() {
	for changed := true; changed; {
		changed = false
		for l := range m.learned {
			if !m.known(l.parent) {
				delete(m.learned, l)
				changed = true
			}
		}
	}
}

// expected returns the paths the index should give inode ino, sorted and joined by "|".
func (m *model) expected(ino uint64) string {
	var ps []string
	if ino == rootIno && m.epoch > 0 {
		ps = append(ps, rootPath)
	}
	for l := range m.learned {
		if l.ino == ino {
			ps = append(ps, m.dirPath(l.parent)+"/"+l.name)
		}
	}
	sort.Strings(ps)
	return strings.Join(ps, "|")
}

func (m *model) newIno(t *rapid.T) uint64 {
	if len(m.dead) > 0 && rapid.Bool().Draw(t, "reuse") {
		i := rapid.IntRange(0, len(m.dead)-1).Draw(t, "dead")
		ino := m.dead[i]
		m.dead = slices.Delete(m.dead, i, i+1)
		return ino
	}
	m.nextIno++
	return m.nextIno
}

func (m *model) dirs() []uint64 {
	var ds []uint64
	for ino, in := range m.inodes {
		if in.dir && ino != srvIno {
			ds = append(ds, ino)
		}
	}
	slices.Sort(ds)
	return ds
}

func (m *model) allLinks() []mlink {
	var ls []mlink
	for ino, in := range m.inodes {
		if ino == srvIno || ino == rootIno || ino == otherIno {
			continue
		}
		ls = append(ls, slices.Collect(maps.Keys(in.links))...)
	}
	slices.SortFunc(ls, func(a, b mlink) int {
		if a.ino != b.ino {
			return int(a.ino - b.ino)
		}
		if a.parent != b.parent {
			return int(a.parent - b.parent)
		}
		return strings.Compare(a.name, b.name)
	})
	return ls
}

func (m *model) event(ev schemas.RawEvent) schemas.RawEvent {
	m.seq++
	ev.Seq = m.seq
	return ev
}

var nameChoices = []string{"a", "b", "c", "dir", "x\xff", "new\nline", "é"}

func drawName(t *rapid.T, m *model, parent uint64) (string, bool) {
	n := rapid.SampledFrom(nameChoices).Draw(t, "name")
	_, taken := m.kids[parent][n]
	return n, !taken
}

// step draws one valid operation, applies it to the model and returns the events the sensor sends.
func (m *model) step(t *rapid.T) []schemas.RawEvent {
	dirs := m.dirs()
	switch op := rapid.IntRange(0, 10).Draw(t, "op"); op {
	case 0, 1, 2: // mkdir, create, symlink
		p := rapid.SampledFrom(dirs).Draw(t, "parent")
		name, ok := drawName(t, m, p)
		if !ok {
			return nil
		}
		ino := m.newIno(t)
		delete(m.content, ino) // a new file on a reused number has none of the old one's content
		delete(m.written, ino)
		m.addLink(ino, p, name, op == 0)
		if m.known(p) {
			m.learned[mlink{ino, p, name}] = true
		}
		ev := [...]func(uint64, uint64, string) schemas.RawEvent{eventtest.Mkdir, eventtest.Create,
			func(i, p uint64, n string) schemas.RawEvent { return eventtest.Symlink(i, p, n, "target") }}[op](ino, p, name)
		return []schemas.RawEvent{m.event(ev)}
	case 3: // link
		ls := m.fileLinks()
		if len(ls) == 0 {
			return nil
		}
		src := rapid.SampledFrom(ls).Draw(t, "src")
		p := rapid.SampledFrom(dirs).Draw(t, "parent")
		name, ok := drawName(t, m, p)
		if !ok {
			return nil
		}
		m.addLink(src.ino, p, name, false)
		if m.known(p) {
			m.learned[mlink{src.ino, p, name}] = true
		}
		return []schemas.RawEvent{m.event(eventtest.Link(src.ino, src.parent, src.name, p, name))}
	case 4: // unlink
		ls := m.fileLinks()
		if len(ls) == 0 {
			return nil
		}
		l := rapid.SampledFrom(ls).Draw(t, "link")
		nlink := uint32(len(m.inodes[l.ino].links))
		m.removeLink(l.ino, l.parent, l.name)
		delete(m.learned, l)
		if nlink == 1 {
			m.forget(l.ino)
			delete(m.content, l.ino)
			delete(m.written, l.ino)
		}
		m.settle()
		return []schemas.RawEvent{m.event(eventtest.Unlink(l.ino, l.parent, l.name, nlink))}
	case 5: // rmdir
		var empty []uint64
		for _, d := range dirs {
			if d != rootIno && d != otherIno && len(m.kids[d]) == 0 {
				empty = append(empty, d)
			}
		}
		if len(empty) == 0 {
			return nil
		}
		d := rapid.SampledFrom(empty).Draw(t, "dir")
		var l mlink
		for l = range m.inodes[d].links {
		}
		m.removeLink(d, l.parent, l.name)
		m.forget(d)
		return []schemas.RawEvent{m.event(eventtest.Rmdir(d, l.parent, l.name))}
	case 6, 7: // rename, exchange
		return m.rename(t, op == 7)
	case 8: // a full scan epoch, entries in random order
		return m.scan(t)
	case 9:
		return m.hash(t)
	default: // a write to a file: changes no name, marks a known hash written
		ls := m.allLinks()
		if len(ls) == 0 {
			return nil
		}
		l := rapid.SampledFrom(ls).Draw(t, "open")
		if _, ok := m.content[l.ino]; ok {
			m.written[l.ino] = true
		}
		return []schemas.RawEvent{m.event(eventtest.Open(l.ino, l.parent, l.name))}
	}
}

// hash is the sensor hashing a file after its last writer released it, or in the background after a
// scan: only an ok hash is learned. The kernel's ok hash clears the written mark, its other states set
// it on a known hash; a scan's other ok hash of a known hash not marked written is drift.
func (m *model) hash(t *rapid.T) []schemas.RawEvent {
	ls := m.fileLinks()
	if len(ls) == 0 {
		return nil
	}
	// Mostly a file whose hash is known, the only one a scan can find drifted.
	if known := m.hashedLinks(ls); len(known) > 0 && rapid.IntRange(0, 3).Draw(t, "known file") > 0 {
		ls = known
	}
	l := rapid.SampledFrom(ls).Draw(t, "hashed")
	state := schemas.HashState(rapid.IntRange(1, 5).Draw(t, "hash state"))
	digest := eventtest.Digest(rapid.ByteRange(1, 3).Draw(t, "digest"))
	hash := schemas.FormatHash(schemas.HashSHA256, digest)
	old, known := m.content[l.ino]
	ev := eventtest.Content(l.ino, l.parent, l.name, state, digest, 7)
	m.drift = false
	switch scan := rapid.Bool().Draw(t, "by a scan"); {
	case scan:
		ev = eventtest.ScanContent(l.ino, l.parent, l.name, state, digest, 7)
		m.drift = known && !m.written[l.ino] && state == schemas.HashOK && old != hash
	case state == schemas.HashOK:
		delete(m.written, l.ino)
	case known:
		m.written[l.ino] = true
	}
	if state == schemas.HashOK {
		m.content[l.ino] = hash
	}
	return []schemas.RawEvent{m.event(ev)}
}

// hashedLinks are the links of ls whose inode's hash the index should know.
func (m *model) hashedLinks(ls []mlink) []mlink {
	return slices.DeleteFunc(slices.Clone(ls), func(l mlink) bool {
		_, ok := m.content[l.ino]
		return !ok
	})
}

func (m *model) fileLinks() []mlink {
	var ls []mlink
	for _, l := range m.allLinks() {
		if !m.inodes[l.ino].dir {
			ls = append(ls, l)
		}
	}
	return ls
}

func (m *model) rename(t *rapid.T, exch bool) []schemas.RawEvent {
	ls := m.allLinks()
	if len(ls) == 0 {
		return nil
	}
	src := rapid.SampledFrom(ls).Draw(t, "src")
	np := rapid.SampledFrom(m.dirs()).Draw(t, "new parent")
	name := rapid.SampledFrom(nameChoices).Draw(t, "new name")
	in := m.inodes[src.ino]
	target, exists := m.kids[np][name]
	switch {
	case in.dir && m.under(np, src.ino):
		return nil // into itself: EINVAL
	case exch && !exists:
		return nil
	case exch && m.inodes[target].dir && m.under(src.parent, target):
		return nil
	case exists && target == src.ino:
		// Two names of one inode: the kernel does nothing, the sensor may still report it.
		return []schemas.RawEvent{m.event(eventtest.Replace(src.ino, src.parent, src.name, np, name, target))}
	case !exch && exists && (in.dir != m.inodes[target].dir || (in.dir && len(m.kids[target]) > 0)):
		return nil // ENOTDIR, EISDIR, ENOTEMPTY
	case target == rootIno || target == otherIno:
		return nil
	}
	mode := uint32(eventtest.FileMode)
	if in.dir {
		mode = eventtest.DirMode
	}
	knownOld, knownNew := m.known(src.parent), m.known(np)
	if exch {
		tin := m.inodes[target]
		delete(in.links, src)
		delete(tin.links, mlink{target, np, name})
		in.links[mlink{src.ino, np, name}] = true
		tin.links[mlink{target, src.parent, src.name}] = true
		m.kids[np][name] = src.ino
		m.kids[src.parent][src.name] = target
		delete(m.learned, src)
		delete(m.learned, mlink{target, np, name})
		if knownNew {
			m.learned[mlink{src.ino, np, name}] = true
		}
		if knownOld {
			m.learned[mlink{target, src.parent, src.name}] = true
		}
		m.settle()
		ev := eventtest.Exchange(src.ino, src.parent, src.name, np, name, target)
		ev.Mode = mode
		return []schemas.RawEvent{m.event(ev)}
	}
	var ev schemas.RawEvent
	if exists {
		m.removeLink(target, np, name)
		delete(m.learned, mlink{target, np, name})
		ev = eventtest.Replace(src.ino, src.parent, src.name, np, name, target)
		ev.Mode = mode
	} else {
		ev = eventtest.Rename(src.ino, src.parent, src.name, np, name, mode)
	}
	m.addLink(src.ino, np, name, in.dir)
	m.removeLink(src.ino, src.parent, src.name)
	delete(m.learned, src)
	if knownNew {
		m.learned[mlink{src.ino, np, name}] = true
	}
	m.settle()
	return []schemas.RawEvent{m.event(ev)}
}

// scan lists every name under the root: the index learns exactly those.
func (m *model) scan(t *rapid.T) []schemas.RawEvent {
	m.epoch++
	clear(m.learned)
	entries := []schemas.RawEvent{eventtest.ScanRoot(m.epoch, rootIno, rootPath)}
	var walk func(d uint64)
	walk = func(d uint64) {
		for _, name := range slices.Sorted(maps.Keys(m.kids[d])) {
			ino := m.kids[d][name]
			m.learned[mlink{ino, d, name}] = true
			mode := uint32(eventtest.FileMode)
			if m.inodes[ino].dir {
				mode = eventtest.DirMode
			}
			entries = append(entries, eventtest.ScanEntry(m.epoch, ino, d, name, mode))
			if m.inodes[ino].dir {
				walk(ino)
			}
		}
	}
	walk(rootIno)
	entries = rapid.Permutation(entries).Draw(t, "entries")
	evs := []schemas.RawEvent{m.event(eventtest.ScanBegin(m.epoch))}
	for _, e := range entries {
		evs = append(evs, m.event(e))
	}
	return append(evs, m.event(eventtest.ScanEnd(m.epoch)))
}

// check compares every inode's paths in the index with the model's, and the number of nodes.
func (m *model) check(t *rapid.T, x *Index) {
	want := 0
	if m.epoch > 0 {
		want = 1
	}
	seen := map[uint64]bool{}
	for l := range m.learned {
		seen[l.ino] = true
	}
	want += len(seen)
	if x.Len() != want {
		t.Fatalf("index has %d nodes, model %d", x.Len(), want)
	}
	for ino := range m.inodes {
		if got, w := joined(x.Paths(ino)), m.expected(ino); got != w {
			t.Fatalf("inode %d: index %q, model %q", ino, got, w)
		}
	}
	for _, ino := range m.dead {
		if got := joined(x.Paths(ino)); got != "" {
			t.Fatalf("dead inode %d: index %q", ino, got)
		}
	}
	checkWalk(t, x.cur)
	if len(x.content) != len(m.content) {
		t.Fatalf("index knows the content of %d inodes, model %d", len(x.content), len(m.content))
	}
	for ino, h := range m.content {
		if c := x.Content(ino); c.Hash() != h || c.Written != m.written[ino] {
			t.Fatalf("inode %d: index knows content %q written %v, model %q written %v", ino, c.Hash(), c.Written,
				h, m.written[ino])
		}
	}
}

// checkContent checks the change of a content event: what was known before it, and the file's path
// while the index knows the name the kernel gave.
func (m *model) checkContent(t *rapid.T, ev *schemas.RawEvent, c Change, old string) {
	if got := c.OldContent.Hash(); got != old {
		t.Fatalf("content of %d: old hash %q, want %q", ev.Ino, got, old)
	}
	if c.Drift != m.drift {
		t.Fatalf("content of %d (probe %v): drift %v, want %v", ev.Ino, ev.Probe, c.Drift, m.drift)
	}
	l := mlink{ev.Ino, ev.ParentIno, string(ev.Name)}
	if want := m.dirPath(l.parent) + "/" + l.name; m.learned[l] && string(c.Path) != want {
		t.Fatalf("content of %d: path %q, want %q", ev.Ino, c.Path, want)
	}
}

// checkWalk fails when a cached directory path differs from a walk that ignores the cache.
func checkWalk(t interface{ Fatalf(string, ...any) }, tr *tree) {
	for n := 1; n < len(tr.nodes); n++ {
		x := tr.nodes[n].ext
		if tr.nodes[n].ino == 0 || x == 0 || tr.exts[x].gen != tr.gen {
			continue
		}
		cached, ok := tr.dirPath(uint32(n))
		walked, ok2 := walk(tr, uint32(n))
		if ok != ok2 || !bytes.Equal(cached, walked) {
			t.Fatalf("inode %d: cached path %q (%v), walked %q (%v)", tr.nodes[n].ino, cached, ok, walked, ok2)
		}
	}
}

func walk(tr *tree, n uint32) ([]byte, bool) {
	var parts [][]byte
	for i := 0; i <= tr.len(); i++ {
		if tr.anchored(n) {
			p := bytes.Clone(tr.anchors[n])
			for j := len(parts) - 1; j >= 0; j-- {
				p = appendChild(p, p, parts[j])[len(p):]
			}
			return p, true
		}
		e := tr.primary(n)
		if e == 0 {
			return nil, false
		}
		parts = append(parts, tr.names.get(tr.edges[e].name))
		n = tr.edges[e].parent
	}
	return nil, false
}

// TestModel applies random operations to the model and, through encoded raw batches, to the index.
func TestModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newModel()
		x := NewIndex()
		// Small budgets make renames fall back to dropping the whole cache.
		budget := rapid.SampledFrom([]int{maxInvalidate, 1, 3}).Draw(t, "budget")
		var stream []schemas.RawEvent
		apply := func(evs []schemas.RawEvent) {
			for _, ev := range roundTrip(t, evs) {
				x.cur.budget = budget
				old := x.Content(ev.Ino).Hash()
				c := x.Apply(&ev)
				if ev.Kind == schemas.KindContent {
					m.checkContent(t, &ev, c, old)
				}
				stream = append(stream, ev)
			}
		}
		apply(m.scan(t))
		m.check(t, x)
		for range rapid.IntRange(1, 120).Draw(t, "steps") {
			apply(m.step(t))
			m.check(t, x)
		}
		checkReplay(t, stream, rapid.IntRange(0, len(stream)).Draw(t, "split"))
	})
}

// roundTrip sends events through the wire encoding, as the sensor and the resolver would.
func roundTrip(t *rapid.T, evs []schemas.RawEvent) []schemas.RawEvent {
	data, err := schemas.EncodeBatch(nil, &schemas.Batch{Host: "h", Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	var b schemas.Batch
	if err := schemas.DecodeBatch(data, &b); err != nil {
		t.Fatal(err)
	}
	return b.Events
}

// checkReplay shows determinism: a replay gives the same outputs and state, and so does replaying the
// stream up to split, snapshotting, restoring and replaying the rest.
func checkReplay(t *rapid.T, stream []schemas.RawEvent, split int) {
	full, outFull := replay(NewIndex(), stream)
	again, outAgain := replay(NewIndex(), stream)
	if !slices.Equal(outFull, outAgain) || !bytes.Equal(snapshot(t, full), snapshot(t, again)) {
		t.Fatal("two replays differ")
	}
	prefix, outPrefix := replay(NewIndex(), stream[:split])
	restored, covers, err := ReadSnapshot(bytes.NewReader(snapshot(t, prefix)))
	if err != nil {
		t.Fatal(err)
	}
	if covers != uint64(split) {
		t.Fatalf("covers %d, want %d", covers, split)
	}
	rest, outRest := replay(restored, stream[split:])
	if got := append(outPrefix, outRest...); !slices.Equal(got, outFull) {
		t.Fatal("snapshot + tail gives other outputs than a full replay")
	}
	if !bytes.Equal(snapshot(t, rest), snapshot(t, full)) {
		t.Fatal("snapshot + tail gives another state than a full replay")
	}
}

func replay(x *Index, evs []schemas.RawEvent) (*Index, []string) {
	out := make([]string, 0, len(evs))
	for i := range evs {
		c := x.Apply(&evs[i])
		out = append(out, string(c.Path)+"\x00"+string(c.OldPath)+"\x00"+c.OldContent.Hash()+"\x00"+strconv.FormatBool(c.Drift))
	}
	return x, out
}

func snapshot(t interface{ Fatal(...any) }, x *Index) []byte {
	var b bytes.Buffer
	if err := x.WriteSnapshot(&b, uint64(x.seq)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
