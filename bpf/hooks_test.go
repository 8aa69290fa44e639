package bpf

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// want is what one record must say.
type want struct {
	kind        Kind
	name, name2 string
	ino, parent uint64
	why         Monitored
	flags       Flags
	check       func(t *testing.T, e *Event)
}

// hookCase performs an operation and returns the records it must produce, in order.
type hookCase struct {
	name string
	op   func(t *testing.T, root, outside string) []want
}

// TestFileHooks runs each operation of BEHAVIOUR.md in a tracked directory and checks kind, inode, parent
// inode, names and monitored reason of every record it produces, and nothing else.
func TestFileHooks(t *testing.T) {
	p := loadForTest(t, Options{})
	c := collect(t, p)
	base := t.TempDir()
	outside := t.TempDir()
	must(t, p.TrackPath(base))
	for _, tc := range hookCases(p) {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(base, tc.name)
			must(t, os.Mkdir(root, 0o755))
			c.marker(t, base)
			wants := tc.op(t, root, outside)
			got := fileEvents(c.marker(t, base))
			if len(got) != len(wants) {
				t.Fatalf("got %d records, want %d: %s", len(got), len(wants), describe(got))
			}
			for i, w := range wants {
				w.match(t, got[i])
			}
		})
	}
}

func (w want) match(t *testing.T, e *Event) {
	t.Helper()
	if e.EventKind() != w.kind || string(e.Name) != w.name || e.Why() != w.why {
		t.Errorf("got %v, want kind %v name %q monitored %v", e, w.kind, w.name, w.why)
	}
	if w.name2 != "" && string(e.Name2) != w.name2 {
		t.Errorf("got name2 %q, want %q", e.Name2, w.name2)
	}
	if w.ino != 0 && e.Ino != w.ino {
		t.Errorf("%v: got inode %d, want %d", w.kind, e.Ino, w.ino)
	}
	if w.parent != 0 && e.ParentIno != w.parent {
		t.Errorf("%v: got parent inode %d, want %d", w.kind, e.ParentIno, w.parent)
	}
	if Flags(e.Flags) != w.flags {
		t.Errorf("%v: got flags %#x, want %#x", w.kind, e.Flags, w.flags)
	}
	if w.check != nil {
		w.check(t, e)
	}
}

// fileEvents drops process lifecycle records.
func fileEvents(evs []*Event) []*Event {
	var out []*Event
	for _, e := range evs {
		switch e.EventKind() {
		case KindExec, KindFork, KindExit:
			continue
		}
		out = append(out, e)
	}
	return out
}

func ino(t *testing.T, path string) uint64 { return stat(t, path).Ino }

// created makes a file in dir and returns the record its creation gives.
func created(t *testing.T, dir, name string) want {
	touch(t, filepath.Join(dir, name))
	return want{kind: KindCreation, name: name, ino: ino(t, filepath.Join(dir, name)), parent: ino(t, dir), why: MonitoredByParent}
}

func tracked(t *testing.T, p *Probes, path string, wantTracked bool) {
	t.Helper()
	st := stat(t, path)
	got, err := p.Tracked(st.Dev, st.Ino)
	must(t, err)
	if got != wantTracked {
		t.Errorf("%s: tracked=%v, want %v", path, got, wantTracked)
	}
}

func hookCases(p *Probes) []hookCase {
	return []hookCase{
		{"creation", func(t *testing.T, root, _ string) []want {
			w := created(t, root, "a.txt")
			tracked(t, p, filepath.Join(root, "a.txt"), true)
			return []want{w}
		}},
		{"open", func(t *testing.T, root, _ string) []want {
			w := created(t, root, "a.txt")
			f := filepath.Join(root, "a.txt")
			must(t, os.WriteFile(f, []byte("more"), 0o644)) // O_TRUNC|O_WRONLY
			_, err := os.ReadFile(f)                        // read-only: nothing
			must(t, err)
			fa, err := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
			must(t, err)
			fa.Close()
			open := want{kind: KindOpen, name: "a.txt", ino: w.ino, parent: w.parent, why: MonitoredByInode}
			return []want{w, open, open}
		}},
		{"unlink", func(t *testing.T, root, _ string) []want {
			w := created(t, root, "a.txt")
			must(t, os.Remove(filepath.Join(root, "a.txt")))
			ok, err := p.Tracked(stat(t, root).Dev, w.ino)
			must(t, err)
			if ok {
				t.Error("unlinked inode still tracked")
			}
			return []want{w, {kind: KindUnlink, name: "a.txt", ino: w.ino, parent: w.parent, why: MonitoredByInode,
				check: func(t *testing.T, e *Event) {
					if e.Unlink.Nlink != 1 {
						t.Errorf("nlink %d, want 1", e.Unlink.Nlink)
					}
				}}}
		}},
		{"rename", func(t *testing.T, root, _ string) []want {
			w := created(t, root, "a")
			must(t, os.Rename(filepath.Join(root, "a"), filepath.Join(root, "b")))
			tracked(t, p, filepath.Join(root, "b"), true)
			// both sides tracked: no path at all, the record is as small as before
			return []want{w, {kind: KindRename, name: "b", name2: "a", ino: w.ino, parent: w.parent, why: MonitoredByParent,
				check: both(oldSide(w.parent, MonitoredByInode, 0), paths("", ""))}}
		}},
		{"rename-replace", func(t *testing.T, root, _ string) []want {
			a, b := created(t, root, "a"), created(t, root, "b")
			must(t, os.Rename(filepath.Join(root, "a"), filepath.Join(root, "b")))
			gone, err := p.Tracked(stat(t, root).Dev, b.ino)
			must(t, err)
			if gone {
				t.Error("replaced target still tracked")
			}
			return []want{a, b, {kind: KindRename, name: "b", name2: "a", ino: a.ino, parent: a.parent, why: MonitoredByParent,
				flags: FlagRenameReplace, check: oldSide(a.parent, MonitoredByInode, b.ino)}}
		}},
		{"rename-exchange", func(t *testing.T, root, _ string) []want {
			a, b := created(t, root, "a"), created(t, root, "b")
			must(t, unix.Renameat2(unix.AT_FDCWD, filepath.Join(root, "a"), unix.AT_FDCWD, filepath.Join(root, "b"), unix.RENAME_EXCHANGE))
			tracked(t, p, filepath.Join(root, "a"), true)
			tracked(t, p, filepath.Join(root, "b"), true)
			return []want{a, b, {kind: KindRename, name: "b", name2: "a", ino: a.ino, parent: a.parent, why: MonitoredByParent,
				flags: FlagRenameExchange, check: oldSide(a.parent, MonitoredByInode, b.ino)}}
		}},
		{"rename-out", func(t *testing.T, root, outside string) []want {
			w := created(t, root, "leaving")
			must(t, os.Rename(filepath.Join(root, "leaving"), filepath.Join(outside, "left")))
			tracked(t, p, filepath.Join(outside, "left"), false)
			return []want{w, {kind: KindRename, name: "left", name2: "leaving", ino: w.ino, parent: ino(t, outside), why: NotMonitored,
				flags: FlagPathOutside, check: both(oldSide(w.parent, MonitoredByInode, 0), paths(filepath.Join(outside, "left"), ""))}}
		}},
		{"rename-in", func(t *testing.T, root, outside string) []want {
			touch(t, filepath.Join(outside, "coming")) // not monitored: no record
			i := ino(t, filepath.Join(outside, "coming"))
			must(t, os.Rename(filepath.Join(outside, "coming"), filepath.Join(root, "came")))
			tracked(t, p, filepath.Join(root, "came"), true)
			return []want{{kind: KindRename, name: "came", name2: "coming", ino: i, parent: ino(t, root), why: MonitoredByParent,
				check: both(oldSide(ino(t, outside), NotMonitored, 0), paths("", filepath.Join(outside, "coming")))}}
		}},
		{"exchange-across", func(t *testing.T, root, outside string) []want {
			a := created(t, root, "in")
			touch(t, filepath.Join(outside, "out")) // not monitored: no record
			o := ino(t, filepath.Join(outside, "out"))
			must(t, unix.Renameat2(unix.AT_FDCWD, filepath.Join(root, "in"), unix.AT_FDCWD, filepath.Join(outside, "out"), unix.RENAME_EXCHANGE))
			tracked(t, p, filepath.Join(root, "in"), true)      // the outside file took the tracked name
			tracked(t, p, filepath.Join(outside, "out"), false) // and the tracked one left
			return []want{a, {kind: KindRename, name: "out", name2: "in", ino: a.ino, parent: ino(t, outside), why: NotMonitored,
				flags: FlagRenameExchange | FlagPathOutside,
				check: both(oldSide(a.parent, MonitoredByInode, o), paths(filepath.Join(outside, "out"), ""))}}
		}},
		{"link-in", func(t *testing.T, root, outside string) []want {
			touch(t, filepath.Join(outside, "orig")) // not monitored: no record
			i := ino(t, filepath.Join(outside, "orig"))
			must(t, os.Link(filepath.Join(outside, "orig"), filepath.Join(root, "h")))
			return []want{{kind: KindLink, name: "h", name2: "orig", ino: i, parent: ino(t, root), why: MonitoredByParent,
				check: both(oldSide(ino(t, outside), NotMonitored, 0), paths("", filepath.Join(outside, "orig")))}}
		}},
		{"permission", func(t *testing.T, root, _ string) []want {
			w := created(t, root, "a.txt")
			must(t, os.Chmod(filepath.Join(root, "a.txt"), 0o600))
			return []want{w, {kind: KindPermission, name: "a.txt", ino: w.ino, parent: w.parent, why: MonitoredByInode,
				check: func(t *testing.T, e *Event) {
					if e.Perm.Mode&0o7777 != 0o600 || e.Perm.OldMode != unix.S_IFREG|0o644 {
						t.Errorf("mode %o old %o, want 600 and 100644", e.Perm.Mode, e.Perm.OldMode)
					}
				}}}
		}},
		{"ownership", func(t *testing.T, root, _ string) []want {
			w := created(t, root, "a.txt")
			must(t, os.Chown(filepath.Join(root, "a.txt"), 1234, 5678))
			return []want{w, {kind: KindOwnership, name: "a.txt", ino: w.ino, parent: w.parent, why: MonitoredByInode,
				check: func(t *testing.T, e *Event) {
					if e.Owner != (ExtOwner{Uid: 1234, Gid: 5678, OldUid: 0, OldGid: 0}) {
						t.Errorf("owner %+v, want 1234:5678 from 0:0", e.Owner)
					}
				}}}
		}},
		{"mkdir-rmdir", func(t *testing.T, root, _ string) []want {
			d := filepath.Join(root, "d")
			must(t, os.Mkdir(d, 0o755))
			i := ino(t, d)
			tracked(t, p, d, true)
			must(t, os.Remove(d))
			ok, err := p.Tracked(stat(t, root).Dev, i)
			must(t, err)
			if ok {
				t.Error("removed directory still tracked")
			}
			return []want{
				{kind: KindMkdir, name: "d", ino: i, parent: ino(t, root), why: MonitoredByParent},
				{kind: KindRmdir, name: "d", ino: i, parent: ino(t, root), why: MonitoredByInode},
			}
		}},
		{"symlink", func(t *testing.T, root, _ string) []want {
			must(t, os.Symlink("../some/target", filepath.Join(root, "l")))
			tracked(t, p, filepath.Join(root, "l"), true)
			return []want{{kind: KindSymlink, name: "l", name2: "../some/target", ino: ino(t, filepath.Join(root, "l")), parent: ino(t, root), why: MonitoredByParent}}
		}},
		{"link", func(t *testing.T, root, _ string) []want {
			w := created(t, root, "a")
			must(t, os.Link(filepath.Join(root, "a"), filepath.Join(root, "h")))
			return []want{w, {kind: KindLink, name: "h", name2: "a", ino: w.ino, parent: w.parent, why: MonitoredByInode,
				check: both(oldSide(w.parent, MonitoredByInode, 0), paths("", ""))}}
		}},
		{"mknod", func(t *testing.T, root, _ string) []want {
			must(t, unix.Mknod(filepath.Join(root, "n"), unix.S_IFREG|0o644, 0))
			return []want{{kind: KindCreation, name: "n", ino: ino(t, filepath.Join(root, "n")), parent: ino(t, root), why: MonitoredByParent}}
		}},
		{"xattr", func(t *testing.T, root, _ string) []want {
			w := created(t, root, "a")
			f := filepath.Join(root, "a")
			must(t, unix.Setxattr(f, "trusted.factstream", []byte("v"), 0))
			must(t, unix.Removexattr(f, "trusted.factstream"))
			return []want{w,
				{kind: KindXattrSet, name: "a", name2: "trusted.factstream", ino: w.ino, parent: w.parent, why: MonitoredByInode},
				{kind: KindXattrRemove, name: "a", name2: "trusted.factstream", ino: w.ino, parent: w.parent, why: MonitoredByInode},
			}
		}},
		{"acl", func(t *testing.T, root, _ string) []want {
			w := created(t, root, "a")
			must(t, unix.Setxattr(filepath.Join(root, "a"), "system.posix_acl_access", aclBlob(), 0))
			return []want{w, {kind: KindACLSet, name: "a", name2: "system.posix_acl_access", ino: w.ino, parent: w.parent, why: MonitoredByInode}}
		}},
		{"mount", func(t *testing.T, root, _ string) []want {
			m := filepath.Join(root, "m")
			must(t, os.Mkdir(m, 0o755))
			i := ino(t, m)
			must(t, unix.Mount("none", m, "tmpfs", 0, "size=1m"))
			must(t, unix.Unmount(m, 0))
			return []want{
				{kind: KindMkdir, name: "m", ino: i, parent: ino(t, root), why: MonitoredByParent},
				{kind: KindMount, name: "m", name2: "tmpfs", ino: i, parent: ino(t, root), why: MonitoredByInode},
				{kind: KindUmount, name: "m", ino: i, parent: ino(t, root), why: MonitoredByInode},
			}
		}},
		{"move-mount", func(t *testing.T, root, outside string) []want {
			src := filepath.Join(outside, "src-mnt")
			must(t, os.MkdirAll(src, 0o755))
			must(t, unix.Mount("none", src, "tmpfs", 0, "size=1m"))
			defer unix.Unmount(src, unix.MNT_DETACH)
			m := filepath.Join(root, "m")
			must(t, os.Mkdir(m, 0o755))
			i := ino(t, m)
			fd, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE)
			must(t, err)
			defer unix.Close(fd)
			must(t, unix.MoveMount(fd, "", unix.AT_FDCWD, m, unix.MOVE_MOUNT_F_EMPTY_PATH))
			must(t, unix.Unmount(m, unix.MNT_DETACH))
			return []want{
				{kind: KindMkdir, name: "m", ino: i, parent: ino(t, root), why: MonitoredByParent},
				{kind: KindMount, name: "m", ino: i, parent: ino(t, root), why: MonitoredByInode, flags: FlagMountMove},
				{kind: KindUmount, name: "m", ino: i, parent: ino(t, root), why: MonitoredByInode},
			}
		}},
	}
}

// oldSide checks the source side of a rename or link.
func oldSide(parent uint64, why Monitored, target uint64) func(t *testing.T, e *Event) {
	return func(t *testing.T, e *Event) {
		t.Helper()
		if e.Move.OldParentIno != parent || Monitored(e.Move.OldMonitored) != why || e.Move.TargetIno != target {
			t.Errorf("old side: parent %d monitored %v target %d, want %d %v %d", e.Move.OldParentIno,
				Monitored(e.Move.OldMonitored), e.Move.TargetIno, parent, why, target)
		}
	}
}

// paths checks the path of a record's new side and of its old side ("": none carried).
func paths(path, old string) func(t *testing.T, e *Event) {
	return func(t *testing.T, e *Event) {
		t.Helper()
		if string(e.Path) != path || string(e.OldPath) != old {
			t.Errorf("paths: got %q and old %q, want %q and old %q", e.Path, e.OldPath, path, old)
		}
	}
}

// both runs two checks.
func both(a, b func(t *testing.T, e *Event)) func(t *testing.T, e *Event) {
	return func(t *testing.T, e *Event) {
		t.Helper()
		a(t, e)
		b(t, e)
	}
}

// aclBlob is a minimal POSIX ACL in its xattr form: user::rw-, group::r--, other::r--.
func aclBlob() []byte {
	b := binary.LittleEndian.AppendUint32(nil, 2) // version
	for _, e := range []struct {
		tag, perm uint16
	}{{0x01, 6}, {0x04, 4}, {0x20, 4}} {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, e.perm)
		b = binary.LittleEndian.AppendUint32(b, 0xffffffff)
	}
	return b
}
