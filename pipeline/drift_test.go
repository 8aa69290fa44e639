package pipeline

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
)

// baseline is the content event the sensor's scan publishes for a.txt, with digest b when ok.
func baseline(state schemas.HashState, b byte) schemas.RawEvent {
	return eventtest.ScanContent(aTxt, srvMon, "a.txt", state, eventtest.Digest(b), uint64(b)*1000)
}

// describeDrift is what a drift event says: what changed, the hash and size found, the ones known.
func describeDrift(a *schemas.Activity) string {
	return strings.Join([]string{a.Type, string(a.HostPath), strings.Join(a.Changed, "+"), a.Hash, a.OldHash,
		a.HashState}, " ") + " " + strings.Join([]string{u64(a.Size), u64(a.OldSize)}, "/")
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }

// TestDriftActivity: a scan's hashes print nothing but drift, a change of a.txt's content that no event
// the resolver saw explains.
func TestDriftActivity(t *testing.T) {
	existing := eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode)
	tooLarge := baseline(schemas.HashTooLarge, 0)
	tooLarge.Size = 1 << 40
	drift := func(changed string, b byte, old byte, state string, size string) string {
		hash := ""
		if b != 0 {
			hash = eventtest.Hash(b)
		}
		return "drift /srv/mon/a.txt " + changed + " " + hash + " " + eventtest.Hash(old) + " " + state + " " + size
	}
	tests := []struct {
		name  string
		scans []schemas.RawEvent // the scan's hashes, after a scan that found a.txt
		tee   []schemas.RawEvent // then done by tee
		again []schemas.RawEvent // then a later scan's hashes
		want  []string
	}{
		{name: "a baseline prints nothing", scans: []schemas.RawEvent{baseline(schemas.HashOK, 1)}},
		{name: "the same hash again prints nothing",
			scans: []schemas.RawEvent{baseline(schemas.HashOK, 1)}, again: []schemas.RawEvent{baseline(schemas.HashOK, 1)}},
		{name: "changed while nothing watched: one drift",
			scans: []schemas.RawEvent{baseline(schemas.HashOK, 1)}, again: []schemas.RawEvent{baseline(schemas.HashOK, 2)},
			want: []string{drift("hash+size", 2, 1, "ok", "2000/1000")}},
		{name: "written, then scanned: no drift",
			scans: []schemas.RawEvent{baseline(schemas.HashOK, 1)},
			tee:   []schemas.RawEvent{eventtest.Open(aTxt, srvMon, "a.txt")}, again: []schemas.RawEvent{baseline(schemas.HashOK, 2)},
			want: []string{"open"}},
		{name: "hashed by the kernel after a write, then scanned the same: no drift",
			scans: []schemas.RawEvent{baseline(schemas.HashOK, 1)},
			tee:   []schemas.RawEvent{eventtest.Open(aTxt, srvMon, "a.txt"), written(schemas.HashOK, 2)},
			again: []schemas.RawEvent{baseline(schemas.HashOK, 2)},
			want:  []string{"open", "content"}},
		{name: "grown too large to hash while nothing watched: drift by its size",
			scans: []schemas.RawEvent{baseline(schemas.HashOK, 1)}, again: []schemas.RawEvent{tooLarge, tooLarge},
			want: []string{drift("size", 0, 1, "too_large", "1099511627776/1000")}},
		{name: "a file the index does not track is a baseline",
			scans: []schemas.RawEvent{eventtest.ScanContent(30, srvMon, "new", schemas.HashOK, eventtest.Digest(1), 1)},
			again: []schemas.RawEvent{eventtest.ScanContent(30, srvMon, "new", schemas.HashOK, eventtest.Digest(1), 1)}},
	}
	pats, err := NewPatterns([]string{"/srv/mon/**"}, nil)
	ptrTB(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acts := runView(t, pats, func(s *sensorSim) {
				session(s, existing)
				s.emitAll(slices.Clone(tt.scans)...)
				if len(tt.tee) > 0 {
					command(s, teePid, "/usr/bin/tee", []string{"tee", "/srv/mon/a.txt"}, tt.tee...)
				}
				if len(tt.again) > 0 {
					s.emitAll(slices.Clone(tt.again)...)
				}
			})
			var got []string
			for i := range acts {
				if acts[i].Type == schemas.TypeDrift {
					got = append(got, describeDrift(&acts[i]))
					checkNobody(t, &acts[i])
				} else {
					got = append(got, acts[i].Type)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// checkNobody checks that a drift event names the file and nobody: the scan saw it, no process did.
func checkNobody(t *testing.T, a *schemas.Activity) {
	t.Helper()
	if a.Ino != aTxt || a.Dev != testDev || a.Probe != schemas.ProbeScan || !processZero(&a.Process) {
		t.Fatalf("drift inode %d/%d, probe %v, process %+v", a.Dev, a.Ino, a.Probe, a.Process)
	}
}

func processZero(p *schemas.ActivityProcess) bool {
	return p.Pid == 0 && len(p.Comm) == 0 && len(p.Exe) == 0 && len(p.Args) == 0 && p.UID == 0 &&
		p.LoginUID == 0 && len(p.Lineage) == 0
}

// TestDriftSubject: drift events go out on their own activity subject, fields intact.
func TestDriftSubject(t *testing.T) {
	o := newOutbox(0, 1<<20)
	a := schemas.Activity{Time: 1, Host: "node-1", Type: schemas.TypeDrift, Hash: eventtest.Hash(2),
		OldHash: eventtest.Hash(1), Size: 2, OldSize: 1, HashState: "ok", Changed: []string{schemas.DriftHash, schemas.DriftSize}}
	o.activity(&a)
	msgs, _ := o.take()
	if len(msgs) != 1 || msgs[0].Subject != schemas.ActivitySubject("node-1", schemas.TypeDrift) {
		t.Fatalf("messages %+v", msgs)
	}
	var b schemas.ActivityBatch
	ptrTB(t, schemas.DecodeActivityBatch(msgs[0].Data, &b))
	if len(b.Events) != 1 || b.Events[0].OldSize != 1 || !slices.Equal(b.Events[0].Changed, a.Changed) {
		t.Fatalf("decoded %+v", b.Events)
	}
}
