package changeset

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/factstream/factstream/schemas"
	"pgregory.net/rapid"
)

// mfile is a file of the model filesystem.
type mfile struct {
	hash     string
	perm     uint32
	uid, gid uint32
	written  bool // written in the period
	seen     bool // named by an event of the period
}

// model is a small filesystem: paths to inodes, and what each inode holds. It records the events a
// resolver would publish for each operation.
type model struct {
	paths   map[string]uint64
	files   map[uint64]*mfile
	nextIno uint64
	events  []schemas.Activity
}

var (
	names  = []string{"/m/a", "/m/b", "/m/c", "/m/d/a", "/m/d/b", "/m/e/a"}
	hashes = []string{"sha256:A", "sha256:B", "sha256:C"}
	perms  = []uint32{0o644, 0o600}
	ids    = []uint32{0, 1000}
)

func (m *model) emit(typ string, ino uint64, p string, set ...func(*schemas.Activity)) {
	m.files[ino].seen = true
	m.events = append(m.events, ev(typ, ino, p, set...))
}

func (m *model) used() []string { return slices.Sorted(maps.Keys(m.paths)) }

func (m *model) free() []string {
	var out []string
	for _, n := range names {
		if _, ok := m.paths[n]; !ok {
			out = append(out, n)
		}
	}
	return out
}

// step applies one random operation.
func (m *model) step(t *rapid.T) {
	used, free := m.used(), m.free()
	ops := []string{}
	if len(free) > 0 {
		ops = append(ops, "create")
	}
	if len(used) > 0 {
		ops = append(ops, "write", "remove", "chmod", "chown", "rename")
	}
	if len(used) > 1 {
		ops = append(ops, "exchange")
	}
	switch op := rapid.SampledFrom(ops).Draw(t, "op"); op {
	case "create":
		p := rapid.SampledFrom(free).Draw(t, "path")
		ino := m.nextIno
		m.nextIno++
		f := &mfile{perm: rapid.SampledFrom(perms).Draw(t, "perm"), uid: rapid.SampledFrom(ids).Draw(t, "uid"),
			gid: rapid.SampledFrom(ids).Draw(t, "gid")}
		m.files[ino], m.paths[p] = f, ino
		m.emit("creation", ino, p, mode(regular|f.perm), owners(0, 0, f.uid, f.gid))
	case "write":
		p := rapid.SampledFrom(used).Draw(t, "path")
		ino := m.paths[p]
		f := m.files[ino]
		h := rapid.SampledFrom(hashes).Draw(t, "hash")
		m.emit("open", ino, p)
		m.emit("content", ino, p, hash(f.hash, h))
		f.hash, f.written = h, true
	case "remove":
		p := rapid.SampledFrom(used).Draw(t, "path")
		m.emit("unlink", m.paths[p], p, mode(regular|m.files[m.paths[p]].perm))
		delete(m.files, m.paths[p])
		delete(m.paths, p)
	case "chmod":
		p := rapid.SampledFrom(used).Draw(t, "path")
		f := m.files[m.paths[p]]
		now := rapid.SampledFrom(perms).Draw(t, "perm")
		m.emit("permission", m.paths[p], p, oldMode(regular|f.perm), mode(regular|now))
		f.perm = now
	case "chown":
		p := rapid.SampledFrom(used).Draw(t, "path")
		f := m.files[m.paths[p]]
		uid, gid := rapid.SampledFrom(ids).Draw(t, "uid"), rapid.SampledFrom(ids).Draw(t, "gid")
		m.emit("ownership", m.paths[p], p, owners(f.uid, f.gid, uid, gid))
		f.uid, f.gid = uid, gid
	case "rename":
		// Onto a free name, or over a file the period has an event of (the fold cannot know of the others).
		src := rapid.SampledFrom(used).Draw(t, "src")
		var dsts []string
		for _, n := range names {
			if ino, ok := m.paths[n]; n != src && (!ok || m.files[ino].seen) {
				dsts = append(dsts, n)
			}
		}
		if len(dsts) == 0 {
			return
		}
		dst := rapid.SampledFrom(dsts).Draw(t, "dst")
		ino := m.paths[src]
		m.emit("rename", ino, dst, from(src), mode(regular|m.files[ino].perm))
		if old, ok := m.paths[dst]; ok {
			delete(m.files, old)
		}
		delete(m.paths, src)
		m.paths[dst] = ino
	case "exchange":
		a := rapid.SampledFrom(used).Draw(t, "a")
		b := rapid.SampledFrom(used).Filter(func(s string) bool { return s != a }).Draw(t, "b")
		ia, ib := m.paths[a], m.paths[b]
		m.emit("rename", ia, b, from(a), mode(regular|m.files[ia].perm))
		m.emit("rename", ib, a, from(b), mode(regular|m.files[ib].perm))
		m.paths[a], m.paths[b] = ib, ia
	default:
		t.Fatalf("no op %s", op)
	}
}

// truth compares the model's state at the start with its state now, by inode.
func (m *model) truth(start map[string]uint64, was map[uint64]mfile, all bool) []Change {
	var out []Change
	now := map[uint64]string{}
	for p, ino := range m.paths {
		now[ino] = p
	}
	for p, ino := range start {
		base := Change{Path: []byte(now[ino]), Dev: 1, Ino: ino}
		q, ok := now[ino]
		if !ok {
			out = append(out, Change{Kind: Removed, Path: []byte(p), Dev: 1, Ino: ino})
			continue
		}
		w, f := was[ino], m.files[ino]
		if q != p {
			c := base
			c.Kind, c.OldPath = Renamed, []byte(p)
			out = append(out, c)
		}
		if w.hash != f.hash {
			c := base
			c.Kind, c.OldHash, c.Hash = Content, w.hash, f.hash
			out = append(out, c)
		} else if all && f.written {
			c := base
			c.Kind, c.Hash = Written, f.hash
			out = append(out, c)
		}
		if w.perm != f.perm {
			c := base
			c.Kind, c.OldMode, c.Mode = Mode, regular|w.perm, regular|f.perm
			out = append(out, c)
		}
		if w.uid != f.uid || w.gid != f.gid {
			c := base
			c.Kind, c.OldUID, c.OldGID, c.UID, c.GID = Owner, w.uid, w.gid, f.uid, f.gid
			out = append(out, c)
		}
	}
	for ino, p := range now {
		if _, ok := was[ino]; !ok {
			f := m.files[ino]
			out = append(out, Change{Kind: Added, Path: []byte(p), Dev: 1, Ino: ino, Hash: f.hash,
				Mode: regular | f.perm, UID: f.uid, GID: f.gid})
		}
	}
	return out
}

// TestComputeMatchesModel: for random operations on a small filesystem, the change set folded from
// their events is the difference between the filesystem's state at the start and at the end.
func TestComputeMatchesModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := &model{paths: map[string]uint64{}, files: map[uint64]*mfile{}, nextIno: 100}
		for i, p := range rapid.SliceOfDistinct(rapid.SampledFrom(names), rapid.ID).Draw(t, "start") {
			ino := uint64(10 + i)
			m.paths[p] = ino
			m.files[ino] = &mfile{hash: rapid.SampledFrom(hashes).Draw(t, "hash"), perm: rapid.SampledFrom(perms).Draw(t, "perm"),
				uid: rapid.SampledFrom(ids).Draw(t, "uid"), gid: rapid.SampledFrom(ids).Draw(t, "gid")}
		}
		start, was := maps.Clone(m.paths), map[uint64]mfile{}
		for ino, f := range m.files {
			was[ino] = *f
		}
		for range rapid.IntRange(0, 30).Draw(t, "steps") {
			m.step(t)
		}
		all := rapid.Bool().Draw(t, "all")
		want := m.truth(start, was, all)
		sortChanges(want)
		got := Compute(m.events, Options{All: all})
		if g, w := lines(got.Changes), lines(want); !slices.Equal(g, w) {
			var evs []string
			for _, a := range m.events {
				evs = append(evs, fmt.Sprintf("%s %d %s<-%s", a.Type, a.Ino, a.HostPath, a.OldHostPath))
			}
			t.Fatalf("events:\n%s\nchanges:\n%s\nwant:\n%s", strings.Join(evs, "\n"), strings.Join(g, "\n"), strings.Join(w, "\n"))
		}
	})
}
