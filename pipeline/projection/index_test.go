package projection

import (
	"bytes"
	"strings"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
)

// The tree of most tests: /srv/mon is the scan root (ino 10), /srv/other (ino 50) is not monitored.
//
//	/srv/mon        10
//	/srv/mon/etc    11
//	/srv/mon/etc/a  12
//	/srv/mon/etc/b  13
func base() []schemas.RawEvent {
	return []schemas.RawEvent{
		eventtest.ScanBegin(1),
		eventtest.ScanRoot(1, 10, "/srv/mon"),
		eventtest.ScanEntry(1, 11, 10, "etc", eventtest.DirMode),
		eventtest.ScanEntry(1, 12, 11, "a", eventtest.FileMode),
		eventtest.ScanEntry(1, 13, 11, "b", eventtest.FileMode),
		eventtest.ScanEnd(1),
	}
}

// baseIndex is an index that applied base.
func baseIndex() *Index {
	x := NewIndex()
	for _, ev := range base() {
		x.Apply(&ev)
	}
	return x
}

type step struct {
	ev      schemas.RawEvent
	path    string // want Change.Path
	oldPath string // want Change.OldPath
}

func TestApply(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		want  map[uint64]string // inode → its paths joined by "|", "" for none
	}{
		{
			name: "scan",
			want: map[uint64]string{10: "/srv/mon", 11: "/srv/mon/etc", 12: "/srv/mon/etc/a", 50: ""},
		},
		{
			name:  "creation",
			steps: []step{{ev: eventtest.Create(20, 11, "c"), path: "/srv/mon/etc/c"}},
			want:  map[uint64]string{20: "/srv/mon/etc/c"},
		},
		{
			name: "mkdir at depth",
			steps: []step{
				{ev: eventtest.Mkdir(20, 10, "x"), path: "/srv/mon/x"},
				{ev: eventtest.Mkdir(21, 20, "y"), path: "/srv/mon/x/y"},
				{ev: eventtest.Mkdir(22, 21, "z"), path: "/srv/mon/x/y/z"},
				{ev: eventtest.Create(23, 22, "f"), path: "/srv/mon/x/y/z/f"},
			},
			want: map[uint64]string{23: "/srv/mon/x/y/z/f"},
		},
		{
			name:  "outside the tree",
			steps: []step{{ev: eventtest.Mkdir(20, 50, "d")}, {ev: eventtest.Create(21, 20, "f")}},
			want:  map[uint64]string{20: "", 21: ""},
		},
		{
			name:  "symlink",
			steps: []step{{ev: eventtest.Symlink(20, 11, "l", "a"), path: "/srv/mon/etc/l"}},
			want:  map[uint64]string{20: "/srv/mon/etc/l"},
		},
		{
			name: "hard link and unlink of one link",
			steps: []step{
				{ev: eventtest.Link(12, 11, "a", 10, "a2"), path: "/srv/mon/a2", oldPath: "/srv/mon/etc/a"},
				{ev: eventtest.Unlink(12, 11, "a", 2), path: "/srv/mon/etc/a"},
			},
			want: map[uint64]string{12: "/srv/mon/a2"},
		},
		{
			name: "unlink of the last link",
			steps: []step{
				{ev: eventtest.Unlink(12, 11, "a", 1), path: "/srv/mon/etc/a"},
				{ev: eventtest.Open(12, 11, "a"), path: "/srv/mon/etc/a"}, // a name in a tracked directory has a path
			},
			want: map[uint64]string{12: ""},
		},
		{
			name:  "unlink without nlink uses the edge count",
			steps: []step{{ev: eventtest.Unlink(12, 11, "a", 0), path: "/srv/mon/etc/a"}},
			want:  map[uint64]string{12: ""},
		},
		{
			name:  "link from outside into the tree",
			steps: []step{{ev: eventtest.Link(60, 50, "f", 11, "f"), path: "/srv/mon/etc/f"}},
			want:  map[uint64]string{60: "/srv/mon/etc/f"},
		},
		{
			name: "rename a file",
			steps: []step{
				{ev: eventtest.Rename(12, 11, "a", 10, "a", eventtest.FileMode), path: "/srv/mon/a", oldPath: "/srv/mon/etc/a"},
			},
			want: map[uint64]string{12: "/srv/mon/a"},
		},
		{
			name: "rename a directory moves its subtree",
			steps: []step{
				{ev: eventtest.Open(12, 11, "a"), path: "/srv/mon/etc/a"}, // caches /srv/mon/etc
				{ev: eventtest.Rename(11, 10, "etc", 10, "conf", eventtest.DirMode), path: "/srv/mon/conf", oldPath: "/srv/mon/etc"},
				{ev: eventtest.Open(12, 11, "a"), path: "/srv/mon/conf/a"},
			},
			want: map[uint64]string{11: "/srv/mon/conf", 12: "/srv/mon/conf/a", 13: "/srv/mon/conf/b"},
		},
		{
			name: "mkdir, rename, create (BEHAVIOUR.md)",
			steps: []step{
				{ev: eventtest.Mkdir(20, 10, "d"), path: "/srv/mon/d"},
				{ev: eventtest.Rename(20, 10, "d", 10, "e", eventtest.DirMode), path: "/srv/mon/e", oldPath: "/srv/mon/d"},
				{ev: eventtest.Create(21, 20, "f"), path: "/srv/mon/e/f"},
			},
			want: map[uint64]string{21: "/srv/mon/e/f"},
		},
		{
			name: "rename over a target",
			steps: []step{
				{ev: eventtest.Replace(12, 11, "a", 11, "b", 13), path: "/srv/mon/etc/b", oldPath: "/srv/mon/etc/a"},
			},
			want: map[uint64]string{12: "/srv/mon/etc/b", 13: ""},
		},
		{
			name: "rename over a target with another link",
			steps: []step{
				{ev: eventtest.Link(13, 11, "b", 10, "b2"), path: "/srv/mon/b2", oldPath: "/srv/mon/etc/b"},
				{ev: eventtest.Replace(12, 11, "a", 11, "b", 13), path: "/srv/mon/etc/b", oldPath: "/srv/mon/etc/a"},
			},
			want: map[uint64]string{12: "/srv/mon/etc/b", 13: "/srv/mon/b2"},
		},
		{
			name: "exchange",
			steps: []step{
				{ev: eventtest.Exchange(12, 11, "a", 11, "b", 13), path: "/srv/mon/etc/b", oldPath: "/srv/mon/etc/a"},
			},
			want: map[uint64]string{12: "/srv/mon/etc/b", 13: "/srv/mon/etc/a"},
		},
		{
			name: "exchange a directory with a file",
			steps: []step{
				{ev: eventtest.Mkdir(20, 10, "d"), path: "/srv/mon/d"},
				{ev: eventtest.Create(21, 20, "f"), path: "/srv/mon/d/f"},
				{ev: eventtest.Exchange(20, 10, "d", 11, "a", 12), path: "/srv/mon/etc/a", oldPath: "/srv/mon/d"},
			},
			want: map[uint64]string{20: "/srv/mon/etc/a", 21: "/srv/mon/etc/a/f", 12: "/srv/mon/d"},
		},
		{
			name: "exchange with outside",
			steps: []step{
				{ev: eventtest.Exchange(12, 11, "a", 50, "x", 60), oldPath: "/srv/mon/etc/a"},
			},
			want: map[uint64]string{12: "", 60: "/srv/mon/etc/a"},
		},
		{
			name: "move in from outside",
			steps: []step{
				{ev: eventtest.Rename(60, 50, "f", 10, "f", eventtest.FileMode), path: "/srv/mon/f"},
			},
			want: map[uint64]string{60: "/srv/mon/f"},
		},
		{
			name: "move out takes the subtree",
			steps: []step{
				{ev: eventtest.Rename(11, 10, "etc", 50, "etc", eventtest.DirMode), oldPath: "/srv/mon/etc"},
				{ev: eventtest.Open(12, 11, "a")},
			},
			want: map[uint64]string{11: "", 12: "", 13: "", 10: "/srv/mon"},
		},
		{
			name: "move a hard-linked file's directory out keeps the other link",
			steps: []step{
				{ev: eventtest.Link(12, 11, "a", 10, "a2"), path: "/srv/mon/a2", oldPath: "/srv/mon/etc/a"},
				{ev: eventtest.Rename(11, 10, "etc", 50, "etc", eventtest.DirMode), oldPath: "/srv/mon/etc"},
			},
			want: map[uint64]string{12: "/srv/mon/a2", 13: ""},
		},
		{
			name: "rmdir",
			steps: []step{
				{ev: eventtest.Mkdir(20, 10, "d"), path: "/srv/mon/d"},
				{ev: eventtest.Rmdir(20, 10, "d"), path: "/srv/mon/d"},
			},
			want: map[uint64]string{20: ""},
		},
		{
			name: "inode reuse drops the stale node",
			steps: []step{
				{ev: eventtest.Create(11, 10, "new"), path: "/srv/mon/new"}, // 11 was /srv/mon/etc; its removal was lost
			},
			want: map[uint64]string{11: "/srv/mon/new", 12: ""},
		},
		{
			name: "rename of the root within its directory",
			steps: []step{
				{ev: eventtest.Rename(10, 2, "mon", 2, "mon2", eventtest.DirMode), path: "/srv/mon2", oldPath: "/srv/mon"},
				{ev: eventtest.Open(12, 11, "a"), path: "/srv/mon2/etc/a"},
			},
			want: map[uint64]string{10: "/srv/mon2"},
		},
		{
			name: "rename of the root from a container: its path is not a host path",
			steps: []step{
				{ev: func() schemas.RawEvent {
					ev := eventtest.Rename(10, 2, "mon", 2, "mon2", eventtest.DirMode)
					ev.Path, ev.Flags = []byte("/data/mon2"), schemas.FlagProcessView
					return ev
				}(), path: "/srv/mon2", oldPath: "/srv/mon"},
				{ev: eventtest.Open(12, 11, "a"), path: "/srv/mon2/etc/a"},
			},
			want: map[uint64]string{10: "/srv/mon2"},
		},
		{
			name: "names are bytes",
			steps: []step{
				{ev: eventtest.Create(20, 10, "a\xff\nb"), path: "/srv/mon/a\xff\nb"},
			},
			want: map[uint64]string{20: "/srv/mon/a\xff\nb"},
		},
		{
			name: "unknown inode",
			steps: []step{
				{ev: eventtest.Open(99, 98, "x")},
				{ev: eventtest.Unlink(99, 98, "x", 1)},
				{ev: eventtest.Rename(99, 98, "x", 97, "y", eventtest.FileMode)},
			},
			want: map[uint64]string{99: ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := baseIndex()
			for i, s := range tt.steps {
				c := x.Apply(&s.ev)
				if string(c.Path) != s.path || string(c.OldPath) != s.oldPath {
					t.Errorf("step %d (%s): got path %q old %q, want %q old %q",
						i, s.ev.Kind, c.Path, c.OldPath, s.path, s.oldPath)
				}
			}
			for ino, want := range tt.want {
				if got := joined(x.Paths(ino)); got != want {
					t.Errorf("inode %d: got %q, want %q", ino, got, want)
				}
			}
			checkCache(t, x.cur)
		})
	}
}

func joined(paths [][]byte) string {
	return string(bytes.Join(paths, []byte("|")))
}

// checkCache fails when a cached directory path differs from a fresh walk.
func checkCache(t testing.TB, tr *tree) {
	t.Helper()
	for n := 1; n < len(tr.nodes); n++ {
		x := tr.nodes[n].ext
		if tr.nodes[n].ino == 0 || x == 0 || tr.exts[x].gen != tr.gen {
			continue
		}
		cached, ok := tr.dirPath(uint32(n))
		cached = bytes.Clone(cached)
		tr.invalidate()
		fresh, ok2 := tr.dirPath(uint32(n))
		if ok != ok2 || !bytes.Equal(cached, fresh) {
			t.Fatalf("inode %d: cached path %q (%v), walked %q (%v)", tr.nodes[n].ino, cached, ok, fresh, ok2)
		}
	}
}

func TestScanEpochs(t *testing.T) {
	x := NewIndex()
	apply := func(evs ...schemas.RawEvent) {
		for _, ev := range evs {
			x.Apply(&ev)
		}
	}
	apply(base()...)
	// A new epoch: entries in any order, events in between.
	apply(eventtest.ScanBegin(2),
		eventtest.ScanEntry(2, 13, 11, "b", eventtest.FileMode), // before its parent
		eventtest.ScanRoot(2, 10, "/srv/mon"),
		eventtest.ScanEntry(2, 11, 10, "etc", eventtest.DirMode),
		eventtest.ScanEntry(2, 12, 11, "a", eventtest.FileMode),
	)
	if !x.Scanning() {
		t.Fatal("not scanning")
	}
	// Until scan_end, the old view answers, and events apply to both views.
	c := x.Apply(ptr(eventtest.Create(30, 11, "new")))
	if string(c.Path) != "/srv/mon/etc/new" {
		t.Fatalf("during scan: %q", c.Path)
	}
	apply(eventtest.Unlink(13, 11, "b", 1))
	// A stale entry read before the unlink must not bring b back; one before the creation is harmless.
	apply(eventtest.ScanEntry(2, 13, 11, "b", eventtest.FileMode), eventtest.ScanEntry(2, 30, 11, "new", eventtest.FileMode))
	apply(eventtest.ScanEntry(2, 40, 41, "orphan", eventtest.FileMode)) // its parent never comes
	apply(eventtest.ScanEnd(2))
	want := map[uint64]string{10: "/srv/mon", 12: "/srv/mon/etc/a", 13: "", 30: "/srv/mon/etc/new", 40: "", 41: ""}
	for ino, w := range want {
		if got := joined(x.Paths(ino)); got != w {
			t.Errorf("inode %d: got %q, want %q", ino, got, w)
		}
	}
	if x.Len() != 4 {
		t.Errorf("%d nodes, want 4", x.Len())
	}
	// An epoch replaces the view: what it does not list is gone.
	apply(eventtest.ScanBegin(3), eventtest.ScanRoot(3, 10, "/srv/mon"), eventtest.ScanEnd(3))
	if x.Len() != 1 || joined(x.Paths(12)) != "" {
		t.Fatalf("after an empty epoch: %d nodes", x.Len())
	}
	// An end of another epoch is ignored.
	apply(eventtest.ScanBegin(4), eventtest.ScanRoot(4, 10, "/other"), eventtest.ScanEnd(3))
	if joined(x.Paths(10)) != "/srv/mon" {
		t.Fatal("a foreign scan_end swapped the view")
	}
}

func ptr[T any](v T) *T { return &v }

func TestDeepTreeAndCycles(t *testing.T) {
	x := NewIndex()
	for _, ev := range base() {
		x.Apply(&ev)
	}
	parent := uint64(10)
	var want strings.Builder
	want.WriteString("/srv/mon")
	for i := range 5000 {
		ino := uint64(1000 + i)
		x.Apply(ptr(eventtest.Mkdir(ino, parent, "d")))
		want.WriteString("/d")
		parent = ino
	}
	x.cur.invalidate()
	if got := joined(x.Paths(parent)); got != want.String() {
		t.Fatalf("a chain of 5000 directories got a path of %d bytes", len(got))
	}
	// A cycle from inconsistent input has no path and does not hang.
	x.Apply(ptr(eventtest.Rename(11, 10, "etc", 12, "loop", eventtest.DirMode)))
	x.Apply(ptr(eventtest.Rename(12, 11, "a", 11, "a", eventtest.DirMode)))
	if got := joined(x.Paths(11)); got != "" {
		t.Fatalf("cycle: %q", got)
	}
	x.Apply(ptr(eventtest.Rmdir(11, 12, "loop")))
}
