package pipeline

import (
	"slices"
	"strings"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
)

// A tee that writes /srv/mon/a.txt; the sensor hashes the file once tee released it.
const teePid = 2100

// written is the content event of a.txt after tee wrote it, in state, with digest b when ok.
func written(state schemas.HashState, b byte) schemas.RawEvent {
	ev := eventtest.Content(aTxt, srvMon, "a.txt", state, eventtest.Digest(b), uint64(b)*1000)
	ev.Monitored = schemas.MonitoredByInode
	if state == schemas.HashUnreadable {
		ev.Aux = []byte("EACCES")
	}
	return ev
}

// describeContent is what a content event says: path, host path, hash, size, old hash, state.
func describeContent(a *schemas.Activity) string {
	return strings.Join([]string{a.Type, string(a.Path), string(a.HostPath), a.Hash, a.OldHash, a.HashState}, " ")
}

// TestContentActivity: each content raw event becomes one FILE_ACTIVITY content event, whose old_hash
// is the hash the index knew for the inode before it.
func TestContentActivity(t *testing.T) {
	existing := eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode)
	ok := func(b byte, old string) string {
		return "content /srv/mon/a.txt /srv/mon/a.txt " + eventtest.Hash(b) + " " + old + " ok"
	}
	notOK := func(state, old string) string {
		return "content /srv/mon/a.txt /srv/mon/a.txt  " + old + " " + state
	}
	tests := []struct {
		name string
		do   []schemas.RawEvent // done by tee, after a scan that found a.txt
		want []string
	}{
		{"the first hash has no old hash", []schemas.RawEvent{written(schemas.HashOK, 1)},
			[]string{ok(1, "")}},
		{"a second hash has the first as old hash",
			[]schemas.RawEvent{written(schemas.HashOK, 1), written(schemas.HashOK, 2)},
			[]string{ok(1, ""), ok(2, eventtest.Hash(1))}},
		{"no hash keeps the last known one for the next", []schemas.RawEvent{
			written(schemas.HashOK, 1), written(schemas.HashTooLarge, 0), written(schemas.HashChangedDuringHash, 0),
			written(schemas.HashUnreadable, 0), written(schemas.HashRateLimited, 0), written(schemas.HashOK, 2)},
			[]string{ok(1, ""), notOK("too_large", eventtest.Hash(1)), notOK("changed_during_hash", eventtest.Hash(1)),
				notOK("unreadable", eventtest.Hash(1)), notOK("rate_limited", eventtest.Hash(1)), ok(2, eventtest.Hash(1))}},
		{"an unlinked file's hash is forgotten", []schemas.RawEvent{
			written(schemas.HashOK, 1), eventtest.Unlink(aTxt, srvMon, "a.txt", 1), eventtest.Create(aTxt, srvMon, "a.txt"),
			written(schemas.HashOK, 2)},
			[]string{ok(1, ""), "unlink", "creation", ok(2, "")}},
		{"a file on a reused inode number has no old hash", []schemas.RawEvent{
			written(schemas.HashOK, 1), eventtest.Replace(30, srvMon, "tmp", srvMon, "other", aTxt),
			eventtest.Create(aTxt, srvMon, "a.txt"), written(schemas.HashOK, 2)},
			[]string{ok(1, ""), "rename", "creation", ok(2, "")}},
	}
	pats, err := NewPatterns([]string{"/srv/mon/**"}, nil)
	ptrTB(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acts := runView(t, pats, func(s *sensorSim) {
				session(s, existing, eventtest.ScanEntry(1, 30, srvMon, "tmp", eventtest.FileMode))
				command(s, teePid, "/usr/bin/tee", []string{"tee", "/srv/mon/a.txt"}, tt.do...)
			})
			var got []string
			for i := range acts {
				if acts[i].Type == "content" {
					got = append(got, describeContent(&acts[i]))
				} else {
					got = append(got, acts[i].Type)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			for i := range acts {
				if acts[i].Type == "content" {
					checkWriter(t, &acts[i])
				}
			}
		})
	}
}

// checkWriter checks that a content event carries what the raw event says of the file and, as its
// process, the last writer with its lineage.
func checkWriter(t *testing.T, a *schemas.Activity) {
	t.Helper()
	p := a.Process
	if p.Pid != teePid || string(p.Exe) != "/usr/bin/tee" || len(p.Lineage) < 2 || p.Lineage[0].Pid != shellPid {
		t.Fatalf("content process %+v", p)
	}
	if a.Ino != aTxt || a.Dev != testDev || a.Monitored != schemas.MonitoredByInode || a.Probe != schemas.ProbeLSM {
		t.Fatalf("content inode %d/%d, monitored %v, probe %v", a.Dev, a.Ino, a.Monitored, a.Probe)
	}
	if a.HashState == "ok" && a.Size == 0 {
		t.Fatalf("an ok hash without its size: %+v", a)
	}
}

// TestContentPaths: a content event's path is the process's view when the kernel gave one, the index's
// host path otherwise; a file outside the patterns gives nothing.
func TestContentPaths(t *testing.T) {
	existing := eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode)
	inContainer := written(schemas.HashOK, 1)
	inContainer.Path, inContainer.Flags = []byte("/data/a.txt"), schemas.FlagProcessView
	outside := byPath(eventtest.Content(51, srvOther, "f", schemas.HashOK, eventtest.Digest(2), 1), "/srv/other/f")
	renamed := eventtest.Rename(aTxt, srvMon, "a.txt", srvMon, "b.txt", eventtest.FileMode)
	pats, err := NewPatterns([]string{"/srv/mon/**"}, nil)
	ptrTB(t, err)
	acts := runView(t, pats, func(s *sensorSim) {
		session(s, existing)
		command(s, teePid, "/usr/bin/tee", nil, inContainer, outside, renamed, written(schemas.HashOK, 3))
	})
	var got []string
	for i := range acts {
		got = append(got, describe(&acts[i]))
	}
	want := []string{"content /data/a.txt host=/srv/mon/a.txt",
		"rename /srv/mon/b.txt old=/srv/mon/a.txt old.host=/srv/mon/a.txt", "content /srv/mon/b.txt"}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if acts[2].OldHash != eventtest.Hash(1) {
		t.Fatalf("the renamed file lost its hash: old hash %q", acts[2].OldHash)
	}
}

// TestContentSubject: content events go out on the activity subject of their type, and a reader of the
// JSON form gets its fields.
func TestContentSubject(t *testing.T) {
	o := newOutbox(0, 1<<20)
	a := schemas.Activity{Time: 1, Host: "node-1", Type: schemas.KindContent.String(), Hash: eventtest.Hash(1), HashState: "ok"}
	o.activity(&a)
	msgs, _ := o.take()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	host, typ, ok := schemas.ParseActivitySubject(msgs[0].Subject)
	if !ok || host != "node-1" || typ != "content" {
		t.Fatalf("subject %q", msgs[0].Subject)
	}
	var b schemas.ActivityBatch
	ptrTB(t, schemas.DecodeActivityBatch(msgs[0].Data, &b))
	if len(b.Events) != 1 || b.Events[0].Hash != eventtest.Hash(1) || b.Events[0].HashState != "ok" {
		t.Fatalf("decoded %+v", b.Events)
	}
}
