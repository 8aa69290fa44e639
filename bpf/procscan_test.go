package bpf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProcesses: the task iterator lists this process with the very keys the probes put in its records
// (tgid and start time to the nanosecond), its parent, and its comm.
func TestProcesses(t *testing.T) {
	p := loadForTest(t, Options{})
	c := collect(t, p)
	dir := t.TempDir()
	must(t, p.TrackPath(dir))
	touch(t, filepath.Join(dir, "mine"))
	evs := c.until(t, "the creation of mine", func(e *Event) bool {
		return e.EventKind() == KindCreation && string(e.Name) == "mine"
	})
	rec := evs[len(evs)-1]
	procs, err := p.Processes()
	if err != nil {
		t.Fatal(err)
	}
	comm, err := os.ReadFile("/proc/self/comm")
	must(t, err)
	var self *ProcessInfo
	for i := range procs {
		if procs[i].Tgid == uint32(os.Getpid()) {
			if self != nil {
				t.Fatalf("process %d listed twice", os.Getpid())
			}
			self = &procs[i]
		}
	}
	if self == nil {
		t.Fatalf("this process (%d) is not among the %d listed", os.Getpid(), len(procs))
	}
	if self.Start != rec.ProcStart || self.ParentTgid != uint32(os.Getppid()) || self.Uid != uint32(os.Geteuid()) ||
		!bytes.Equal(self.CommBytes(), []byte(strings.TrimSpace(string(comm)))) {
		t.Errorf("listed as %+v (comm %q); the probes say start %d, want parent %d", *self, self.CommBytes(),
			rec.ProcStart, os.Getppid())
	}
	if len(procs) < 2 {
		t.Errorf("only %d processes listed", len(procs))
	}
	t.Logf("%d processes listed", len(procs))
}

// TestReadProcessInfos: the iterator's output is whole records; a cut one is an error, not a process.
func TestReadProcessInfos(t *testing.T) {
	whole := make([]byte, 2*procInfoSize)
	whole[0] = 7 // start of the first record
	procs, err := readProcessInfos(bytes.NewReader(whole))
	if err != nil || len(procs) != 2 || procs[0].Start != 7 {
		t.Fatalf("two records: %+v, %v", procs, err)
	}
	procs, err = readProcessInfos(bytes.NewReader(whole[:procInfoSize+5]))
	if !errors.Is(err, ErrMalformed) || len(procs) != 1 {
		t.Errorf("one record and a cut one: %d processes, %v; want 1 and ErrMalformed", len(procs), err)
	}
}
