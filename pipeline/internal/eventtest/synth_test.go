package eventtest

import (
	"reflect"
	"testing"

	"github.com/factstream/factstream/schemas"
)

// TestSynthWorkload: the workload is the same for the same arguments (the benchmarks of two packages
// measure the same events) and names only inodes it creates or directories of the filesystem.
func TestSynthWorkload(t *testing.T) {
	const n = 1000
	evs := SynthWorkload(n, 5000)
	if len(evs) < 5000 || !reflect.DeepEqual(evs, SynthWorkload(n, 5000)) {
		t.Fatalf("%d events, or not the same twice", len(evs))
	}
	for _, ev := range evs {
		dir := ev.ParentIno >= SynthIno(0) && ev.ParentIno < SynthIno(SynthDirs(n))
		if !dir || (ev.Ino < 100_000_000 && ev.Mode != DirMode) {
			t.Fatalf("%+v", ev)
		}
	}
}

func TestSynthEntry(t *testing.T) {
	var ev schemas.RawEvent
	buf := SynthEntry(&ev, nil, 1000, 1)
	if string(ev.Name) != "dir-1" || ev.Mode != DirMode || ev.Ino != SynthIno(1) || ev.ParentIno != SynthIno(0) {
		t.Fatalf("%+v", ev)
	}
	SynthEntry(&ev, buf, 1000, 999)
	if string(ev.Name) != "file-999.txt" || ev.Mode != FileMode || ev.ParentIno != SynthIno(90) {
		t.Fatalf("%+v", ev)
	}
}
