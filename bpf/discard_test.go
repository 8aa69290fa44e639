package bpf

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// TestDiscardersGiveWay: a path found outside every monitored tree is dismissed from then on without a walk
// (the tracepoint set's discarders, include/discard.h), and is reported again as soon as something makes it
// monitored. Each case first removes dir/f twice, so that a discarder holds for it (the tracepoint set's
// counter proves it), then makes dir/f monitored, and removes it once more: that unlink must be reported.
// Under the LSM set, which has no discarders, the same operations must be reported just the same.
func TestDiscardersGiveWay(t *testing.T) {
	p := loadForTest(t, Options{})
	c := collect(t, p)
	mon := t.TempDir()
	must(t, p.TrackPath(mon))
	cases := []struct {
		name string
		// setup returns the directory whose f is removed; change makes dir/f monitored.
		setup  func(t *testing.T) string
		change func(t *testing.T, dir string)
	}{
		{"its directory tracked", func(t *testing.T) string { return t.TempDir() },
			func(t *testing.T, dir string) { must(t, p.TrackPath(dir)) }},
		{"a prefix added", func(t *testing.T) string { return t.TempDir() },
			func(t *testing.T, dir string) {
				must(t, p.AddPrefix(dir))
				t.Cleanup(func() { must(t, p.RemovePrefix(dir)) })
			}},
		{"its directory moved into a tracked one", func(t *testing.T) string {
			dir := filepath.Join(t.TempDir(), "d")
			must(t, os.Mkdir(dir, 0o755))
			return dir
		}, func(t *testing.T, dir string) {
			// The removals name f relative to a descriptor of the directory: the same path from the same
			// directory, which now lies in a tracked one.
			must(t, os.Rename(dir, filepath.Join(mon, "moved")))
		}},
		{"its directory made again in a tracked directory", func(t *testing.T) string {
			parent := t.TempDir()
			dir := filepath.Join(parent, "d")
			must(t, os.Mkdir(dir, 0o755))
			must(t, p.TrackPath(parent)) // parent only: d stays untracked
			return dir
		}, func(t *testing.T, dir string) {
			must(t, os.Remove(dir))
			must(t, os.Mkdir(dir, 0o755))
		}},
		{"a tracked directory mounted on it", func(t *testing.T) string { return t.TempDir() },
			func(t *testing.T, dir string) {
				must(t, unix.Mount(mon, dir, "", unix.MS_BIND, ""))
				t.Cleanup(func() { must(t, unix.Unmount(dir, 0)) })
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.setup(t)
			fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY, 0)
			must(t, err)
			defer unix.Close(fd)
			removeF := func() { // f created and removed by a path relative to fd
				t.Helper()
				nfd, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY, 0o644)
				must(t, err)
				unix.Close(nfd)
				must(t, unix.Unlinkat(fd, "f", 0))
			}
			if tc.name != "its directory moved into a tracked one" {
				removeF = func() { // the directory itself may change: f by its path
					t.Helper()
					touch(t, filepath.Join(dir, "f"))
					must(t, os.Remove(filepath.Join(dir, "f")))
				}
			}
			before, err := p.Counters()
			must(t, err)
			removeF()
			removeF()
			after, err := p.Counters()
			must(t, err)
			if p.Set() == ProbeSetTracepoint {
				if d := after.Sub(before)["sys_unlink"].Discarded; d != 1 {
					t.Fatalf("the second unlink of f in %s was dismissed by %d discarders, want 1", dir, d)
				}
			}
			if got := named(fileEvents(c.marker(t, mon)), "f"); len(got) != 0 {
				t.Fatalf("records of f before the change: %s", describe(got))
			}
			tc.change(t, dir)
			removeF()
			got := named(fileEvents(c.marker(t, mon)), "f")
			for _, e := range got {
				if e.EventKind() == KindUnlink {
					return
				}
			}
			t.Errorf("no unlink of f after the change; got: %s", describe(got))
		})
	}
}

// named keeps the records whose name is name.
func named(evs []*Event, name string) []*Event {
	var out []*Event
	for _, e := range evs {
		if string(e.Name) == name {
			out = append(out, e)
		}
	}
	return out
}

// TestDiscardersExpire: a change the probes cannot see (here the tracked set written behind the Probes'
// back, as io_uring or a kernel thread would leave it unseen) ends a discarder no later than its age limit.
func TestDiscardersExpire(t *testing.T) {
	p := loadForTest(t, Options{})
	if p.Set() != ProbeSetTracepoint {
		t.Skip("only the tracepoint set has discarders")
	}
	c := collect(t, p)
	mon := t.TempDir()
	must(t, p.TrackPath(mon))
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	for range 2 {
		touch(t, f)
		must(t, os.Remove(f))
	}
	st := stat(t, dir)
	one := uint8(1)
	must(t, p.objs.Tracked.Update(inodeKey(st.Dev, st.Ino), &one, ebpf.UpdateAny)) // no generation bump
	time.Sleep(1500 * time.Millisecond)                                            // past DISCARD_MAX_AGE_NS
	touch(t, f)
	must(t, os.Remove(f))
	got := fileEvents(c.marker(t, mon))
	for _, e := range got {
		if e.EventKind() == KindUnlink && string(e.Name) == "f" {
			return
		}
	}
	t.Errorf("no unlink of f once the discarder was past its age; got: %s", describe(got))
}
