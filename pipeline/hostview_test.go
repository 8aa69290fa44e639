package pipeline

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
	"pgregory.net/rapid"
)

// genStream draws a session of shell commands on /srv/mon as a sensor publishes it, with the faults a
// real stream has: process messages stored late, lost messages, duplicates that escaped dedup,
// unreadable messages and loss events.
func genStream(t *rapid.T) *sensorSim {
	s := newSensorSim("node-1", 1)
	session(s, eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode))
	files := []uint64{aTxt}
	names := map[uint64]string{aTxt: "a.txt"}
	next := uint64(100)
	pid := uint32(5000)
	for range rapid.IntRange(1, 40).Draw(t, "steps") {
		pid++
		var ev schemas.RawEvent
		switch op := rapid.IntRange(0, 5).Draw(t, "op"); {
		case op == 0 || len(files) == 0:
			next++
			names[next] = "f" + strconv.FormatUint(next, 10)
			files = append(files, next)
			ev = eventtest.Create(next, srvMon, names[next])
		case op == 1:
			ev = eventtest.Open(rapid.SampledFrom(files).Draw(t, "file"), srvMon, "")
			ev.Name = []byte(names[ev.Ino])
		case op == 2:
			i := rapid.IntRange(0, len(files)-1).Draw(t, "rm")
			ev = eventtest.Unlink(files[i], srvMon, names[files[i]], 1)
			files = slices.Delete(files, i, i+1)
		case op == 3:
			f := rapid.SampledFrom(files).Draw(t, "mv")
			old := names[f]
			names[f] = old + ".m"
			ev = eventtest.Rename(f, srvMon, old, srvMon, names[f], eventtest.FileMode)
		case op == 4:
			s.emitAll(schemas.RawEvent{Kind: schemas.KindLoss, Lost: 2, Hook: "file_open"})
			continue
		default:
			f := rapid.SampledFrom(files).Draw(t, "chmod")
			ev = eventtest.FileEvent(schemas.KindPermission, f, srvMon, names[f])
			ev.Mode, ev.OldMode = 0o100600, 0o100644
		}
		command(s, pid, "/usr/bin/cmd"+strconv.Itoa(int(pid%7)), []string{"cmd", strconv.Itoa(int(pid))}, ev)
		fault(t, s)
	}
	return s
}

// fault changes the last messages as a real stream can.
func fault(t *rapid.T, s *sensorSim) {
	n := len(s.msgs)
	switch rapid.IntRange(0, 9).Draw(t, "fault") {
	case 0: // the process message stored after the file message it serves
		a, b := s.msgs[n-3], s.msgs[n-2]
		a.data, b.data, a.subject, b.subject = b.data, a.data, b.subject, a.subject
		s.msgs[n-3], s.msgs[n-2] = a, b
	case 1: // a lost message: the next hole in the batch sequence
		s.msgs = slices.Delete(s.msgs, n-2, n-1)
		for i := n - 2; i < len(s.msgs); i++ {
			s.msgs[i].seq--
		}
		s.stream--
	case 2: // a duplicate beyond the dedup window
		s.stream++
		s.ts += msPerMsg
		d := s.msgs[n-1]
		d.seq, d.ts = s.stream, s.ts
		s.msgs = append(s.msgs, d)
	case 3: // an unreadable message
		s.stream++
		s.ts += msPerMsg
		s.msgs = append(s.msgs, rawMsg{subject: rawSubject(s.host, testDev, 1), seq: s.stream, ts: s.ts, data: []byte{0x96, 0x07}})
	case 4: // time passes: what was held is released, holes are given up
		s.ts += 2_000 * msPerMsg
	}
}

func viewCfg() *viewConfig {
	return &viewConfig{partitions: 1, lateness: 200 * msPerMsg, maxHeld: 1 << 10}
}

// TestSnapshotResume: at any point, a snapshot plus the rest of the stream, with what was released before
// the snapshot not published again, gives the same output and the same final state as one run. This is
// what makes a partition movable between workers.
func TestSnapshotResume(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := genStream(t)
		var all collector
		one := newHostView(viewCfg(), "node-1", &all, &viewStats{})
		for _, m := range s.msgs {
			if rapid.IntRange(0, 4).Draw(t, "idle") == 0 {
				one.idle(m.ts) // the stream was idle until m: what a replay releases on m goes now
			}
			one.receive(m)
		}
		one.release(true)

		cut := rapid.IntRange(0, len(s.msgs)).Draw(t, "cut")
		back := rapid.IntRange(0, cut).Draw(t, "published before the snapshot") // items published after it
		var first collector
		a := newHostView(viewCfg(), "node-1", &first, &viewStats{})
		for _, m := range s.msgs[:back] {
			a.receive(m)
		}
		var snap bytes.Buffer
		if err := writePartitionSnapshot(&snap, 0, 1, []*hostView{a}); err != nil {
			t.Fatal(err)
		}
		for _, m := range s.msgs[back:cut] {
			a.receive(m)
		}
		published := a.emitted // a worker published this far, then died

		var second collector
		views, err := readPartitionSnapshot(bytes.NewReader(snap.Bytes()), viewCfg(), &second, &viewStats{})
		if err != nil {
			t.Fatal(err)
		}
		b := views[0]
		b.suppress = published
		for _, m := range s.msgs {
			if m.seq > b.received {
				b.receive(m)
			}
		}
		b.release(true)
		got := append(first.lines(), second.lines()...)
		if want := all.lines(); !slices.Equal(got, want) {
			t.Fatalf("resumed output differs:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if !slices.Equal(append(first.rescans, second.rescans...), all.rescans) || len(first.dead)+len(second.dead) != len(all.dead) {
			t.Fatalf("side outputs differ")
		}
		var x, y bytes.Buffer
		ptrTB(t, writePartitionSnapshot(&x, 0, 1, []*hostView{one}))
		ptrTB(t, writePartitionSnapshot(&y, 0, 1, []*hostView{b}))
		if !bytes.Equal(x.Bytes(), y.Bytes()) {
			t.Fatal("final states differ")
		}
	})
}

// TestGaps: a hole in the batch sequence, once given up, marks the filesystem uncertain, reports a gap
// and asks for a rescan; the next scan epoch repairs it. A loss event does the same at once.
func TestGaps(t *testing.T) {
	s := newSensorSim("node-1", 1)
	session(s, eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode))
	s.emitAll(by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash"))
	s.batch++ // a batch the stream never got
	s.emitAll(by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash"))
	var c collector
	v := newHostView(viewCfg(), "node-1", &c, &viewStats{})
	for _, m := range s.msgs {
		v.receive(m)
	}
	if len(c.rescans) != 0 {
		t.Fatal("a hole was given up before lateness")
	}
	s.ts += 1_000 * msPerMsg // later, the sensor sends a loss and then rescans
	s.emitAll(schemas.RawEvent{Kind: schemas.KindLoss, Lost: 5, Hook: "file_open"})
	for _, m := range s.msgs[len(s.msgs)-1:] {
		v.receive(m)
	}
	v.release(true)
	var gaps []string
	for _, a := range c.acts {
		if a.Type == schemas.TypeGap {
			gaps = append(gaps, a.Reason)
			if a.Dev != testDev {
				t.Fatalf("gap on dev %d", a.Dev)
			}
		}
	}
	if len(gaps) != 2 || !strings.Contains(gaps[0], "1 of batches 4-4 ") || !strings.Contains(gaps[1], "5 records lost at file_open") {
		t.Fatalf("gaps %q", gaps)
	}
	if len(c.rescans) != 2 || c.rescans[0].Host != "node-1" || c.rescans[1].Dev != testDev {
		t.Fatalf("rescans %+v", c.rescans)
	}
	x := v.idx.Index(Key{Host: "node-1", Dev: testDev})
	if !x.Uncertain() {
		t.Fatal("index not uncertain after a gap")
	}
	s.emitAll(eventtest.ScanBegin(2), eventtest.ScanRoot(2, srvMon, "/srv/mon"),
		eventtest.ScanEntry(2, aTxt, srvMon, "a.txt", eventtest.FileMode), eventtest.ScanEnd(2))
	v.receive(s.msgs[len(s.msgs)-1])
	v.release(true)
	if x := v.idx.Index(Key{Host: "node-1", Dev: testDev}); x.Uncertain() {
		t.Fatal("a scan epoch did not repair the index")
	}
}

// TestDuplicatesAndDeadLetters: a duplicate batch is applied once; an unreadable message is dead-lettered
// with its reason, reported as a gap of its filesystem, and the stream goes on.
func TestDuplicatesAndDeadLetters(t *testing.T) {
	s := newSensorSim("node-1", 1)
	session(s, eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode))
	s.emitAll(by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash"))
	dup := s.msgs[len(s.msgs)-1]
	dup.seq = 1000
	bad := []rawMsg{
		{subject: rawSubject("node-1", testDev, 1), seq: 1001, data: []byte("not msgpack")},
		{subject: rawSubject("node-1", testDev, 1), seq: 1002, data: mustEncode(&schemas.Batch{Host: "node-1", Dev: testDev, BatchSeq: 99,
			Events: []schemas.RawEvent{{Kind: schemas.KindScanEnd, Seq: 1}}}, 99)},
		{subject: rawSubject("node-1", testDev, 1), seq: 1003, data: mustEncode(&schemas.Batch{Host: "node-2", Dev: testDev, BatchSeq: 98}, 0)},
	}
	var c collector
	stats := &viewStats{}
	v := newHostView(viewCfg(), "node-1", &c, stats)
	for _, m := range append(slices.Clone(s.msgs), append([]rawMsg{dup}, bad...)...) {
		v.receive(m)
	}
	v.release(true)
	opens := 0
	for _, a := range c.acts {
		if a.Type == "open" {
			opens++
		}
	}
	if opens != 1 || stats.duplicates != 1 {
		t.Fatalf("%d opens, %d duplicates", opens, stats.duplicates)
	}
	if len(c.dead) != 3 || !strings.Contains(c.dead[1].reason, "unknown event kind") || !strings.Contains(c.dead[2].reason, "node-2") {
		t.Fatalf("dead letters %+v", c.dead)
	}
	if stats.gaps != 3 {
		t.Fatalf("%d gaps", stats.gaps)
	}
}

// mustEncode encodes b, setting the kind of its first event to kind when not zero (to make it unknown).
func mustEncode(b *schemas.Batch, kind byte) []byte {
	data, err := schemas.EncodeBatch(nil, b)
	if err != nil {
		panic(err)
	}
	if kind != 0 {
		empty, _ := schemas.EncodeBatch(nil, &schemas.Batch{Host: b.Host, Dev: b.Dev, BatchSeq: b.BatchSeq})
		data[len(empty)+1] = kind
	}
	return data
}

// FuzzReadPartitionSnapshot: a snapshot from the object store is untrusted bytes; reading one never
// panics, and what reads writes back to something that reads the same.
func FuzzReadPartitionSnapshot(f *testing.F) {
	s := newSensorSim("node-1", 1)
	session(s, eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode))
	command(s, 2001, "/usr/bin/touch", []string{"touch", "x"}, eventtest.Create(30, srvMon, "x"))
	s.emitAll(by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash")) // held: no process event after it
	v := newHostView(viewCfg(), "node-1", &collector{}, &viewStats{})
	for _, m := range s.msgs {
		v.receive(m)
	}
	var buf bytes.Buffer
	ptrTB(f, writePartitionSnapshot(&buf, 0, 1, []*hostView{v}))
	f.Add(buf.Bytes())
	buf.Reset()
	ptrTB(f, writePartitionSnapshot(&buf, 0, 1, []*hostView{hashedView()}))
	f.Add(buf.Bytes())
	f.Add(eventtest.Unhex(f, goldenPartitionV1))
	f.Fuzz(func(t *testing.T, data []byte) {
		views, err := readPartitionSnapshot(bytes.NewReader(data), viewCfg(), &collector{}, &viewStats{})
		if err != nil {
			return
		}
		var again bytes.Buffer
		if err := writePartitionSnapshot(&again, 0, 1, views); err != nil {
			t.Fatal(err)
		}
		if _, err := readPartitionSnapshot(bytes.NewReader(again.Bytes()), viewCfg(), &collector{}, &viewStats{}); err != nil {
			t.Fatalf("a snapshot written from a read one does not read: %v", err)
		}
	})
}
