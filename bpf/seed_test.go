package bpf

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// nested are three directory names in three scripts.
var nested = []string{"café-é", "каталог", "目录"}

// TestMkdirTracksNested is the seed: makedirs of three nested directories inside a tracked directory puts all
// three inodes in the tracked set, and a file created in the deepest one is monitored by its parent.
func TestMkdirTracksNested(t *testing.T) {
	p := loadForTest(t, Options{})
	c := collect(t, p)
	root := t.TempDir()
	must(t, p.TrackPath(root))
	deepest := filepath.Join(append([]string{root}, nested...)...)
	must(t, os.MkdirAll(deepest, 0o755))
	touch(t, filepath.Join(deepest, "f"))

	got := fileEvents(c.marker(t, root))
	if len(got) != 4 {
		t.Fatalf("got %d records, want 3 mkdir and 1 creation: %s", len(got), describe(got))
	}
	dir := root
	for i, name := range nested {
		parent := ino(t, dir)
		dir = filepath.Join(dir, name)
		want{kind: KindMkdir, name: name, ino: ino(t, dir), parent: parent, why: MonitoredByParent}.match(t, got[i])
		tracked(t, p, dir, true)
	}
	want{kind: KindCreation, name: "f", ino: ino(t, filepath.Join(deepest, "f")), parent: ino(t, deepest), why: MonitoredByParent}.match(t, got[3])
}

// TestMkdirUnmonitored: the same inside a directory that is not tracked adds nothing and reports nothing.
func TestMkdirUnmonitored(t *testing.T) {
	p := loadForTest(t, Options{})
	c := collect(t, p)
	mon := t.TempDir()
	must(t, p.TrackPath(mon))
	before, err := p.TrackedCount()
	must(t, err)
	deepest := filepath.Join(append([]string{t.TempDir()}, nested...)...)
	must(t, os.MkdirAll(deepest, 0o755))
	touch(t, filepath.Join(deepest, "f"))

	if got := fileEvents(c.marker(t, mon)); len(got) != 0 {
		t.Errorf("unmonitored operations produced records: %s", describe(got))
	}
	after, err := p.TrackedCount()
	must(t, err)
	if after != before+1 { // the marker file
		t.Errorf("tracked set grew from %d to %d, want only the marker", before, after)
	}
}

// TestMkdirPrefixOnly: a directory created where only a path prefix matches is reported by path but not
// added to the tracked set, so what is created inside it is matched by path again, never by parent.
func TestMkdirPrefixOnly(t *testing.T) {
	p := loadForTest(t, Options{})
	c := collect(t, p)
	mon := t.TempDir()
	must(t, p.TrackPath(mon))
	pre := t.TempDir()
	must(t, p.AddPrefix(pre))
	must(t, os.Mkdir(pre+"-old", 0o755)) // shares the bytes, not the component: not matched
	defer os.Remove(pre + "-old")
	must(t, os.Mkdir(filepath.Join(pre, "x"), 0o755))
	touch(t, filepath.Join(pre, "x", "f"))

	got := fileEvents(c.marker(t, mon))
	if len(got) != 2 {
		t.Fatalf("got %d records, want mkdir and creation by path: %s", len(got), describe(got))
	}
	x := filepath.Join(pre, "x")
	want{kind: KindMkdir, name: "x", ino: ino(t, x), parent: ino(t, pre), why: MonitoredByPath}.match(t, got[0])
	want{kind: KindCreation, name: "f", ino: ino(t, filepath.Join(x, "f")), parent: ino(t, x), why: MonitoredByPath}.match(t, got[1])
	for i, w := range []string{x, filepath.Join(x, "f")} {
		if string(got[i].Path) != w {
			t.Errorf("record %d path %q, want %q", i, got[i].Path, w)
		}
	}
	tracked(t, p, x, false)

	must(t, p.RemovePrefix(pre))
	touch(t, filepath.Join(x, "g"))
	if got := fileEvents(c.marker(t, mon)); len(got) != 0 {
		t.Errorf("records after the prefix was removed: %s", describe(got))
	}
}

// TestFailedMkdirLeavesNoStash: a mkdir that fails (EEXIST, or ENOSPC after the hook ran) leaves nothing a
// later d_instantiate of the same thread could complete.
func TestFailedMkdirLeavesNoStash(t *testing.T) {
	p := loadForTest(t, Options{})
	c := collect(t, p)
	mon := t.TempDir()
	must(t, p.TrackPath(mon))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	must(t, os.Mkdir(filepath.Join(mon, "d"), 0o755))
	if err := os.Mkdir(filepath.Join(mon, "d"), 0o755); !errors.Is(err, os.ErrExist) {
		t.Fatalf("second mkdir: %v, want EEXIST", err)
	}
	if n := stashCount(t, p); n != 0 {
		t.Errorf("EEXIST left %d stash entries", n)
	}

	// A full tmpfs fails mkdir after the LSM hook ran: the stash exists, but must not be completed by the
	// next, unrelated instantiation of this thread.
	full := filepath.Join(mon, "full")
	must(t, os.Mkdir(full, 0o755))
	must(t, unix.Mount("none", full, "tmpfs", 0, "nr_inodes=2"))
	defer unix.Unmount(full, unix.MNT_DETACH)
	must(t, p.TrackPath(full))
	touch(t, filepath.Join(full, "only"))
	if err := os.Mkdir(filepath.Join(full, "nospace"), 0o755); !errors.Is(err, unix.ENOSPC) {
		t.Fatalf("mkdir in a full tmpfs: %v, want ENOSPC", err)
	}
	touch(t, filepath.Join(t.TempDir(), "unrelated")) // d_instantiate of another dentry, same thread

	got := fileEvents(c.marker(t, mon))
	kinds := []Kind{}
	for _, e := range got {
		kinds = append(kinds, e.EventKind())
		if string(e.Name) == "nospace" || string(e.Name) == "unrelated" {
			t.Errorf("a failed mkdir was completed: %v", e)
		}
	}
	if want := []Kind{KindMkdir, KindMkdir, KindMount, KindCreation}; !slices.Equal(kinds, want) {
		t.Errorf("kinds %v, want %v: %s", kinds, want, describe(got))
	}
}

func stashCount(t *testing.T, p *Probes) int {
	t.Helper()
	var (
		k uint64
		v [48]byte
		n int
	)
	it := p.objs.Stashes.Iterate()
	for it.Next(&k, &v) {
		if uint32(k>>32) == uint32(os.Getpid()) {
			n++
		}
	}
	must(t, it.Err())
	return n
}

// TestCountersEqualOperations: the counters move by exactly the operations done.
//
// Total counts every call on the machine, and other processes (a parallel go build, say) make
// directories too; theirs are counted as ignored. So the exact check is on the calls that were
// not ignored, and Total only has to include ours.
func TestCountersEqualOperations(t *testing.T) {
	p := loadForTest(t, Options{})
	c := collect(t, p)
	mon := t.TempDir()
	must(t, p.TrackPath(mon))
	c.marker(t, mon)
	before, err := p.Counters()
	must(t, err)

	const files, dirs, links = 7, 5, 3
	for i := range files {
		touch(t, filepath.Join(mon, "f"+string(rune('a'+i))))
	}
	for i := range dirs {
		must(t, os.Mkdir(filepath.Join(mon, "d"+string(rune('a'+i))), 0o755))
	}
	for i := range links {
		must(t, os.Symlink("x", filepath.Join(mon, "l"+string(rune('a'+i)))))
	}
	after, err := p.Counters()
	must(t, err)
	d := after.Sub(before)

	check := func(name string, got, want uint64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	checkCalls := func(name string, hc HookCounters, want uint64) {
		t.Helper()
		if hc.Total < want {
			t.Errorf("%s total = %d, want at least %d", name, hc.Total, want)
		}
		check(name+" total not ignored", hc.Total-hc.Ignored, want)
	}
	if p.Set() == ProbeSetLSM {
		check("file_open added", d["file_open"].Added, files)
		checkCalls("path_mkdir", d["path_mkdir"], dirs)
		checkCalls("path_symlink", d["path_symlink"], links)
		check("d_instantiate mkdir", d["d_instantiate"].Mkdir, dirs)
		check("d_instantiate symlink", d["d_instantiate"].Symlink, links)
		check("d_instantiate added", d["d_instantiate"].Added, dirs+links)
	} else {
		check("sys_open added", d["sys_open"].Added, files)
		checkCalls("sys_mkdir", d["sys_mkdir"], dirs)
		check("sys_mkdir added", d["sys_mkdir"].Added, dirs)
		checkCalls("sys_symlink", d["sys_symlink"], links)
		check("sys_symlink added", d["sys_symlink"].Added, links)
	}
	for name, hc := range d {
		check(name+" error", hc.Error, 0)
		check(name+" ringbuffer_full", hc.RingbufferFull, 0)
	}
	if t.Failed() {
		for name, hc := range d {
			if hc != (HookCounters{}) {
				t.Logf("%s: %+v", name, hc)
			}
		}
	}
	c.marker(t, mon)
}
