package bpf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestProbeSetsAgree runs the same scripted operations under the LSM set and the tracepoint set in turn and
// shows that both give the same records: kinds, names, monitored reasons, flags and the same inodes (numbered
// by first appearance, since each run makes its own files). It needs a kernel that runs both (the VM).
func TestProbeSetsAgree(t *testing.T) {
	runs := map[ProbeSet][]string{}
	for _, set := range []ProbeSet{ProbeSetLSM, ProbeSetTracepoint} {
		p, err := Load(Options{Set: set})
		if errors.Is(err, ErrUnavailable) && !(requireLSM && set == ProbeSetLSM) {
			t.Skipf("needs both probe sets: %v", err)
		}
		if err != nil {
			t.Fatalf("load %s: %v", set, err)
		}
		runs[set] = scriptedRun(t, p)
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
	}
	lsm, tp := runs[ProbeSetLSM], runs[ProbeSetTracepoint]
	for i := range max(len(lsm), len(tp)) {
		var a, b string
		if i < len(lsm) {
			a = lsm[i]
		}
		if i < len(tp) {
			b = tp[i]
		}
		if a != b {
			t.Errorf("record %d differs:\n  lsm:        %s\n  tracepoint: %s", i, a, b)
		}
	}
	t.Logf("%d records, the same under both sets", len(lsm))
}

// scriptedRun performs every hook case in a fresh tracked directory and describes the records in a form
// that does not depend on the run: inodes are numbered in order of first appearance.
func scriptedRun(t *testing.T, p *Probes) []string {
	c := collect(t, p)
	base := t.TempDir()
	must(t, p.TrackPath(base))
	for _, tc := range hookCases(p) {
		root := filepath.Join(base, tc.name)
		must(t, os.Mkdir(root, 0o755))
		tc.op(t, root, t.TempDir())
	}
	ids := map[uint64]int{}
	id := func(ino uint64) int {
		if ino == 0 {
			return 0
		}
		if _, ok := ids[ino]; !ok {
			ids[ino] = len(ids) + 1
		}
		return ids[ino]
	}
	var out []string
	for _, e := range fileEvents(c.marker(t, base)) {
		out = append(out, fmt.Sprintf("%v name=%q name2=%q ino=#%d parent=#%d monitored=%v flags=%#x old=(#%d %v) target=#%d mode=%o owner=%d:%d",
			e.EventKind(), e.Name, e.Name2, id(e.Ino), id(e.ParentIno), e.Why(), e.Flags,
			id(e.Move.OldParentIno), Monitored(e.Move.OldMonitored), id(e.Move.TargetIno), e.Perm.Mode&0o7777, e.Owner.Uid, e.Owner.Gid))
	}
	return out
}
