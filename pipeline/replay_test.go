package pipeline

import (
	"context"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
)

// TestReplay: a host's index rebuilt from FACT_RAW as of a time or a sequence says which paths an inode
// had then; the history of a path over a period is what the resolver published for it.
func TestReplay(t *testing.T) {
	ctx := context.Background()
	s := runServer(t)
	nc := natsservertest.Connect(t, s)
	js, _ := jetstream.New(nc)
	createRawStream(t, js, schemas.DefaultPartitions)

	sim := newSensorSim("node-1", schemas.DefaultPartitions)
	sent, afterT2 := 0, 0
	phase := func(do func()) time.Time { // emit, publish, and return a moment after it
		sim.ts = time.Now().UnixNano()
		do()
		publish(t, js, toPub(sim)[sent:])
		sent = len(sim.msgs)
		time.Sleep(30 * time.Millisecond)
		at := time.Now()
		time.Sleep(30 * time.Millisecond)
		return at
	}
	t0 := phase(func() { session(sim, eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode)) })
	t1 := phase(func() {
		command(sim, 2001, "/usr/bin/touch", []string{"touch", "/srv/mon/x"}, eventtest.Create(30, srvMon, "x"))
	})
	t2 := phase(func() {
		command(sim, 2002, "/usr/bin/mv", []string{"mv", "x", "y"}, eventtest.Rename(30, srvMon, "x", srvMon, "y", eventtest.FileMode))
		command(sim, 2003, "/usr/bin/ln", []string{"ln", "y", "z"}, eventtest.Link(30, srvMon, "y", srvMon, "z"))
		afterT2 = len(sim.msgs)
	})
	t3 := phase(func() {
		command(sim, 2004, "/usr/bin/rm", []string{"rm", "y", "z"}, eventtest.Unlink(30, srvMon, "y", 2), eventtest.Unlink(30, srvMon, "z", 1))
	})

	for _, tt := range []struct {
		at   time.Time
		want string
	}{{t0, ""}, {t1, "/srv/mon/x"}, {t2, "/srv/mon/y /srv/mon/z"}, {t3, ""}} {
		st, err := Rebuild(ctx, js, ReplayOptions{Host: "node-1", Until: tt.at, Lateness: 20 * time.Millisecond})
		ptrTB(t, err)
		if got := devPaths(st.Paths(0, 30)); got != tt.want {
			t.Errorf("as of %s: paths %q, want %q", tt.at.Format(time.StampMicro), got, tt.want)
		}
		if got := devPaths(st.Paths(testDev, aTxt)); got != "/srv/mon/a.txt" {
			t.Errorf("as of %s: a.txt at %q", tt.at.Format(time.StampMicro), got)
		}
	}
	// As of a raw sequence: the last message before the rm.
	st, err := Rebuild(ctx, js, ReplayOptions{Host: "node-1", UntilSeq: uint64(afterT2)})
	ptrTB(t, err)
	if got := devPaths(st.Paths(0, 30)); got != "/srv/mon/y /srv/mon/z" || st.Covers != uint64(afterT2) {
		t.Errorf("as of sequence %d: %q (covers %d)", afterT2, got, st.Covers)
	}

	hist, err := History(ctx, js, HistoryQuery{ReplayOptions: ReplayOptions{Host: "node-1"}, Path: "/srv/mon/y", From: t1, To: t3})
	ptrTB(t, err)
	var got []string
	for i := range hist {
		got = append(got, describe(&hist[i]))
	}
	if want := "rename /srv/mon/y old=/srv/mon/x old.host=/srv/mon/x|link /srv/mon/z target=/srv/mon/y|unlink /srv/mon/y"; strings.Join(got, "|") != want {
		t.Errorf("history of /srv/mon/y:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.ReplaceAll(want, "|", "\n"))
	}

	// The whole history equals what a resolver published.
	ptrTB(t, EnsureStreams(ctx, js, StreamsConfig{}))
	out := readActivity(t, js)
	w := startWorker(t, testConfig(t, nc, "w"))
	out.waitStable(t, 1, time.Second, 20*time.Second)
	ptrTB(t, w.r.Close())
	live, _ := snapshotLog(out)
	pats, _ := NewPatterns(testConfig(t, nc, "w").Patterns, nil)
	all, err := History(ctx, js, HistoryQuery{ReplayOptions: ReplayOptions{Host: "node-1", Patterns: pats, Lateness: 200 * time.Millisecond}})
	ptrTB(t, err)
	replayed := map[string]int{}
	for i := range all {
		replayed[string(schemas.AppendActivityJSON(nil, &all[i]))]++
	}
	if !maps.Equal(live, replayed) {
		t.Fatalf("history differs from the live output:\nlive %v\nreplay %v", live, replayed)
	}
	t.Logf("history of node-1: %d events, the same as published", len(all))
}

func devPaths(dps []DevPaths) string {
	var s []string
	for _, dp := range dps {
		for _, p := range dp.Paths {
			s = append(s, string(p))
		}
	}
	return strings.Join(s, " ")
}
