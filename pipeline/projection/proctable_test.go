package projection

import (
	"strings"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
)

func seqd(ev schemas.RawEvent, seq uint64) *schemas.RawEvent {
	ev.Seq = seq
	return &ev
}

func TestProcTableImagesAndEviction(t *testing.T) {
	pt := NewProcTable(ProcLimits{Retain: 10, MaxImages: 2})
	pt.Apply("b", seqd(eventtest.Fork(10, 100, "init", 1, 1), 1))
	pt.Apply("b", seqd(eventtest.Exec(10, 100, "/bin/a", []string{"a"}, ""), 2))
	pt.Apply("b", seqd(eventtest.Exec(10, 100, "/bin/b", []string{"b", "x"}, "/docker/"+containerID), 5))
	pt.Apply("b", seqd(eventtest.Exec(10, 100, "/bin/c", nil, ""), 8))
	if pt.Apply("b", seqd(eventtest.Exec(10, 100, "/bin/old", nil, ""), 7)) {
		t.Fatal("an event below the watermark was applied again")
	}
	var p schemas.ActivityProcess
	proc := &schemas.Process{Tgid: 10, Start: 100}
	for q, want := range map[uint64]string{3: "", 6: "/bin/b", 9: "/bin/c"} { // the image of /bin/a was dropped
		pt.Fill("b", proc, q, &p)
		if string(p.Exe) != want {
			t.Errorf("at %d: exe %q, want %q", q, p.Exe, want)
		}
	}
	pt.Fill("b", proc, 9, &p)
	if p.ContainerID != containerID || len(p.Args) != 0 {
		t.Errorf("the cgroup does not carry over an exec without one: %+v", p)
	}
	pt.Apply("b", seqd(eventtest.Exit(10, 100, "c"), 20))
	pt.Evict("b", 25) // within Retain of the exit: kept for late file events
	if pt.Len() != 1 {
		t.Fatal("evicted too early")
	}
	pt.Evict("b", 31)
	if pt.Len() != 0 {
		t.Fatal("not evicted")
	}
}

func TestProcTableBounds(t *testing.T) {
	pt := NewProcTable(ProcLimits{MaxProcs: 16, MaxLineage: 3})
	for i := range uint32(40) { // a chain of forks, none exiting
		pt.Apply("b", seqd(eventtest.Fork(100+i, uint64(100+i), "sh", 99+i, uint64(99+i)), uint64(i+1)))
	}
	if n := pt.Len(); n > 16 {
		t.Fatalf("%d processes, bound 16", n)
	}
	var p schemas.ActivityProcess
	pt.Fill("b", &schemas.Process{Tgid: 139, Start: 139}, 100, &p)
	if len(p.Lineage) != 3 || p.Lineage[0].Pid != 138 {
		t.Fatalf("lineage %+v", p.Lineage)
	}
	// A new boot is a new table; the oldest of more than two goes.
	pt.Apply("c", seqd(eventtest.Fork(5, 5, "x", 1, 1), 1))
	pt.Apply("d", seqd(eventtest.Fork(5, 5, "x", 1, 1), 1))
	if pt.Watermark("b") != 0 || pt.Watermark("d") != 1 {
		t.Fatal("boots are not bounded")
	}
}

// containerID is a container id as docker writes it in a cgroup path, as in package pipeline's enrich_test.go.
var containerID = strings.Repeat("4f3c2b1a", 8)
