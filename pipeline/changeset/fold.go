package changeset

import (
	"bytes"
	"slices"
	"strings"

	"github.com/factstream/factstream/schemas"
)

// identity is a file's (dev, inode).
type identity struct{ dev, ino uint64 }

// value is one attribute followed through the period: its value at the start (from the first event
// that says what it was before) and at the end.
type value[T comparable] struct {
	seen       bool
	start, cur T
}

// set records a change from old to now.
func (v *value[T]) set(old, now T) {
	if !v.seen {
		v.seen, v.start = true, old
	}
	v.cur = now
}

func (v *value[T]) changed() bool { return v.seen && v.start != v.cur }

type owner struct{ uid, gid uint32 }

// file is one file followed through the period. start is nil when the file was created in it, cur nil
// once it is gone.
type file struct {
	id         identity
	start, cur []byte
	hash       value[string]
	hashState  string // the last content event's state when it had no hash
	mode       value[uint32]
	owner      value[owner]
	written    bool
	created    struct{ mode, uid, gid uint32 } // as created, for added files
	drift      *Change                         // what the drift events said, first old and last new values
}

// folder holds the files of a fold: each file ever followed, the live ones by current path and by
// identity (a hard link makes two files of one identity).
type folder struct {
	files  []*file
	byPath map[string]*file
	byID   map[identity][]*file
	gone   map[identity]bool // removed in the period and not created again: late events about them are moot
	gaps   []Gap
}

func newFolder() *folder {
	return &folder{byPath: map[string]*file{}, byID: map[identity][]*file{}, gone: map[identity]bool{}}
}

func (f *folder) apply(a *schemas.Activity) {
	id := identity{a.Dev, a.Ino}
	switch a.Type {
	case schemas.TypeGap:
		f.gaps = append(f.gaps, Gap{Time: a.Time, Dev: a.Dev, Reason: a.Reason, Lost: a.Lost})
	case "creation", "mkdir", "symlink":
		f.create(id, a.HostPath, a)
	case "link":
		f.link(id, a)
	case "rename":
		f.rename(id, a)
	case "unlink", "rmdir":
		if len(a.HostPath) > 0 {
			f.remove(f.find(id, a.HostPath))
		}
	case schemas.KindContent.String():
		f.each(id, a.HostPath, func(fl *file) { fl.content(a) })
	case "open":
		f.each(id, a.HostPath, func(fl *file) { fl.written = true })
	case "permission":
		now := a.Mode // chmod's argument: the file type comes from the mode before
		if now&modeType == 0 {
			now |= a.OldMode & modeType
		}
		f.each(id, a.HostPath, func(fl *file) { fl.mode.set(a.OldMode, now) })
	case "ownership":
		f.each(id, a.HostPath, func(fl *file) { fl.owner.set(owner{a.OldUID, a.OldGID}, owner{a.UID, a.GID}) })
	case Drift:
		f.each(id, a.HostPath, func(fl *file) { fl.drifted(a) })
	}
}

// track starts following a file at path p, which existed at the start when start is set.
func (f *folder) track(id identity, p []byte, start bool) *file {
	fl := &file{id: id, cur: bytes.Clone(p)}
	if start {
		fl.start = fl.cur
	}
	f.files = append(f.files, fl)
	f.byPath[string(p)] = fl
	if id.ino != 0 {
		f.byID[id] = append(f.byID[id], fl)
	}
	return fl
}

// find returns the live file of identity id at path p (or of id, or at p), following from now on one
// that existed at the start when there is none.
func (f *folder) find(id identity, p []byte) *file {
	if fl := f.byPath[string(p)]; fl != nil && (id.ino == 0 || fl.id == id) {
		return fl
	}
	if fls := f.byID[id]; len(fls) > 0 {
		return fls[0]
	}
	if old := f.byPath[string(p)]; old != nil { // another file left at p without an event: it is gone
		f.remove(old)
	}
	return f.track(id, p, true)
}

// each calls do for every live file of identity id, or for the file at p when id is unknown; events
// about a file removed in the period are ignored.
func (f *folder) each(id identity, p []byte, do func(*file)) {
	if fls := f.byID[id]; len(fls) > 0 {
		for _, fl := range fls {
			do(fl)
		}
		return
	}
	if (f.gone[id] && id.ino != 0) || len(p) == 0 {
		return
	}
	do(f.find(id, p))
}

func (f *folder) create(id identity, p []byte, a *schemas.Activity) *file {
	if len(p) == 0 {
		return nil
	}
	for _, stale := range f.byID[id] { // the inode was reused: its old file went without an event
		f.remove(stale)
	}
	if old := f.byPath[string(p)]; old != nil {
		f.remove(old)
	}
	delete(f.gone, id)
	fl := f.track(id, p, false)
	fl.created.mode, fl.created.uid, fl.created.gid = a.Mode, a.UID, a.GID
	return fl
}

// link adds a name to an existing file: a new path, with what is known of its content.
func (f *folder) link(id identity, a *schemas.Activity) {
	if len(a.HostPath) == 0 {
		return
	}
	var sib *file
	if fls := f.byID[id]; len(fls) > 0 {
		sib = fls[0]
	}
	if old := f.byPath[string(a.HostPath)]; old != nil {
		f.remove(old)
	}
	fl := f.track(id, a.HostPath, false)
	fl.created.mode, fl.created.uid, fl.created.gid = a.Mode, a.UID, a.GID
	if sib != nil {
		fl.hash, fl.hashState, fl.mode, fl.owner = sib.hash, sib.hashState, sib.mode, sib.owner
		if a.Mode == 0 { // the event does not say: what the file was created with
			fl.created.mode, fl.created.uid, fl.created.gid = sib.created.mode, sib.created.uid, sib.created.gid
		}
	}
}

// rename moves a file; a move into the tree is a creation, a move out of it a removal. A file the
// rename replaces is displaced: gone unless a later event (the other half of an exchange) names it.
func (f *folder) rename(id identity, a *schemas.Activity) {
	from, to := a.OldHostPath, a.HostPath
	switch {
	case len(from) == 0:
		f.create(id, to, a)
		return
	case len(to) == 0:
		f.remove(f.find(id, from))
		return
	}
	fl := f.moving(id, from)
	if fl.cur != nil && f.byPath[string(fl.cur)] == fl {
		delete(f.byPath, string(fl.cur))
	}
	if old := f.byPath[string(to)]; old != nil && old != fl {
		delete(f.byPath, string(to))
		old.cur = nil
	}
	if a.Mode&modeType == modeDir {
		f.moveBelow(from, to)
	}
	fl.cur = bytes.Clone(to)
	f.byPath[string(to)] = fl
}

// moving returns the file a rename of identity id from path p moves: the live one at p, another live
// one of id (its name was out of date), one a rename replaced (the second half of an exchange), or one
// that existed at the start at p.
func (f *folder) moving(id identity, p []byte) *file {
	if fl := f.byPath[string(p)]; fl != nil && (id.ino == 0 || fl.id == id) {
		return fl
	}
	if fls := f.byID[id]; len(fls) > 0 {
		return fls[0]
	}
	fl := &file{id: id, start: bytes.Clone(p)}
	f.files = append(f.files, fl)
	if id.ino != 0 {
		f.byID[id] = append(f.byID[id], fl)
	}
	return fl
}

const (
	modeType = 0o170000
	modeDir  = 0o040000
)

// moveBelow re-paths the live files below directory from to below to.
func (f *folder) moveBelow(from, to []byte) {
	prefix := string(from) + "/"
	var moved []*file
	for p, fl := range f.byPath {
		if strings.HasPrefix(p, prefix) {
			moved = append(moved, fl)
		}
	}
	for _, fl := range moved {
		delete(f.byPath, string(fl.cur))
	}
	for _, fl := range moved {
		fl.cur = append(bytes.Clone(to), fl.cur[len(from):]...)
		f.byPath[string(fl.cur)] = fl
	}
}

// remove ends a live file.
func (f *folder) remove(fl *file) {
	if fl.cur != nil && f.byPath[string(fl.cur)] == fl {
		delete(f.byPath, string(fl.cur))
	}
	fl.cur = nil
	if fls := slices.DeleteFunc(f.byID[fl.id], func(o *file) bool { return o == fl }); len(fls) > 0 {
		f.byID[fl.id] = fls
	} else {
		delete(f.byID, fl.id)
		if fl.id.ino != 0 {
			f.gone[fl.id] = true
		}
	}
}

func (fl *file) content(a *schemas.Activity) {
	fl.written = true
	if a.HashState != "" && a.HashState != "ok" {
		fl.hash.set(a.OldHash, "")
		fl.hashState = a.HashState
		return
	}
	fl.hash.set(a.OldHash, a.Hash)
	fl.hashState = ""
}

// drifted applies a drift event: each value it carries changed without an event, from the old one.
func (fl *file) drifted(a *schemas.Activity) {
	if fl.drift == nil {
		fl.drift = &Change{Kind: Drift, Dev: a.Dev, Ino: a.Ino, OldHash: a.OldHash, OldMode: a.OldMode,
			OldUID: a.OldUID, OldGID: a.OldGID}
	}
	if a.Hash != "" || a.OldHash != "" {
		fl.hash.set(a.OldHash, a.Hash)
		fl.hashState = ""
	}
	if a.Mode != 0 || a.OldMode != 0 {
		fl.mode.set(a.OldMode, a.Mode)
	}
	if a.UID != a.OldUID || a.GID != a.OldGID {
		fl.owner.set(owner{a.OldUID, a.OldGID}, owner{a.UID, a.GID})
	}
	d := fl.drift
	d.Hash, d.Mode, d.UID, d.GID, d.Size = a.Hash, a.Mode, a.UID, a.GID, a.Size
}

// changes are the file's net changes over the period.
func (fl *file) changes(all bool) []Change {
	switch {
	case fl.start == nil && fl.cur == nil:
		return nil
	case fl.start == nil:
		c := Change{Kind: Added, Path: fl.cur, Dev: fl.id.dev, Ino: fl.id.ino, Hash: fl.hash.cur, HashState: fl.hashState,
			Mode: fl.created.mode, UID: fl.created.uid, GID: fl.created.gid}
		if fl.mode.seen {
			c.Mode = fl.mode.cur&^modeType | c.Mode&modeType
		}
		if fl.owner.seen {
			c.UID, c.GID = fl.owner.cur.uid, fl.owner.cur.gid
		}
		return []Change{c}
	case fl.cur == nil:
		return []Change{{Kind: Removed, Path: fl.start, Dev: fl.id.dev, Ino: fl.id.ino}}
	}
	var out []Change
	base := Change{Path: fl.cur, Dev: fl.id.dev, Ino: fl.id.ino}
	add := func(c Change) { out = append(out, c) }
	if !bytes.Equal(fl.start, fl.cur) {
		c := base
		c.Kind, c.OldPath = Renamed, fl.start
		add(c)
	}
	switch {
	case fl.hash.changed() || (fl.hashState != "" && fl.hash.seen):
		c := base
		c.Kind, c.OldHash, c.Hash, c.HashState = Content, fl.hash.start, fl.hash.cur, fl.hashState
		add(c)
	case all && fl.written:
		c := base
		c.Kind, c.Hash = Written, fl.hash.cur
		add(c)
	}
	if fl.mode.seen && fl.mode.start&0o7777 != fl.mode.cur&0o7777 {
		c := base
		c.Kind, c.OldMode, c.Mode = Mode, fl.mode.start, fl.mode.cur
		add(c)
	}
	if fl.owner.changed() {
		c := base
		c.Kind = Owner
		c.OldUID, c.OldGID, c.UID, c.GID = fl.owner.start.uid, fl.owner.start.gid, fl.owner.cur.uid, fl.owner.cur.gid
		add(c)
	}
	if fl.drift != nil {
		d := *fl.drift
		d.Path = fl.cur
		add(d)
	}
	return out
}
