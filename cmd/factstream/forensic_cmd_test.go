package main

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/factstream/factstream/schemas"
)

// shellScenario publishes a shell session on host in phases a moment apart and returns the moment after
// each phase and the FACT_RAW sequence after the second:
//
//	t0: /srv/mon holds a.txt (inode 10)
//	t1: touch /srv/mon/x (inode 30)
//	t2: mkdir /srv/mon/d (40); mv x d/y; ln d/y z
//	t3: mv d e (inode 30 is now /srv/mon/e/y and /srv/mon/z)
//	t4: rm z
func shellScenario(t *testing.T, env *forensicEnv, host string) (at []time.Time, seqT2 uint64) {
	h := newSimHost(t, env.js, host)
	phase := func(do func()) {
		do()
		h.wait()
		time.Sleep(20 * time.Millisecond)
		at = append(at, time.Now())
		time.Sleep(20 * time.Millisecond)
	}
	phase(func() {
		h.session(schemas.RawEvent{Ino: 10, ParentIno: simRoot, Name: []byte("a.txt"), Mode: fileMode})
	})
	phase(func() { h.command(5001, "/usr/bin/touch", fileEv(schemas.KindCreation, 30, simRoot, "x", fileMode)) })
	phase(func() {
		h.command(5002, "/usr/bin/mkdir", fileEv(schemas.KindMkdir, 40, simRoot, "d", dirMode))
		h.command(5003, "/usr/bin/mv", moveEv(30, simRoot, "x", 40, "y", fileMode))
		h.command(5004, "/usr/bin/ln", linkEv(30, 40, "y", simRoot, "z"))
	})
	raw, err := env.js.Stream(context.Background(), schemas.RawStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := raw.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seqT2 = info.State.LastSeq
	phase(func() { h.command(5005, "/usr/bin/mv", moveEv(40, simRoot, "d", simRoot, "e", dirMode)) })
	phase(func() {
		ev := fileEv(schemas.KindUnlink, 30, simRoot, "z", fileMode)
		ev.Nlink = 2
		h.command(5006, "/usr/bin/rm", ev)
	})
	return at, seqT2
}

// TestReplayInodeAcrossRenames: replay --inode says which paths inode 30 had as of each moment, before
// and after a rename of the file and of its directory, as of a time and as of a FACT_RAW sequence.
func TestReplayInodeAcrossRenames(t *testing.T) {
	env := newForensicEnv(t)
	at, seqT2 := shellScenario(t, env, "node-1")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	replay := func(args ...string) replayJSON {
		t.Helper()
		var out strings.Builder
		errOut, err := runCmd(ctx, &out, append([]string{"replay", "--nats", env.url, "--log-level", "error", "--host", "node-1", "--json"}, args...)...)
		if err != nil {
			t.Fatalf("replay %q: %v\n%s", args, err, errOut)
		}
		if strings.Contains(errOut, "{") {
			t.Errorf("stderr holds more than progress: %q", errOut)
		}
		var r replayJSON
		if err := json.Unmarshal([]byte(out.String()), &r); err != nil {
			t.Fatalf("replay %q: %v in %q", args, err, out.String())
		}
		return r
	}
	paths := func(r replayJSON) string {
		var ps []string
		for _, p := range r.Inode.Paths {
			ps = append(ps, p.Path)
		}
		return strings.Join(ps, " ")
	}
	want := []string{"", "/srv/mon/x", "/srv/mon/d/y /srv/mon/z", "/srv/mon/e/y /srv/mon/z", "/srv/mon/e/y"}
	for i, ti := range at {
		for _, inode := range []string{"30", strconv.Itoa(simDev) + ":30", "0x10303:0x1e"} {
			r := replay("--until-time", ti.Format(time.RFC3339Nano), "--inode", inode)
			if got := paths(r); got != want[i] {
				t.Errorf("t%d, --inode %s: paths %q, want %q", i, inode, got, want[i])
			}
		}
	}
	r := replay("--until-seq", strconv.FormatUint(seqT2, 10), "--inode", "30")
	if got := paths(r); got != want[2] || r.Covers != seqT2 {
		t.Errorf("--until-seq %d: paths %q covering %d, want %q", seqT2, paths(r), r.Covers, want[2])
	}
	// Without --inode: the summary.
	r = replay()
	if len(r.Filesystems) != 1 || r.Filesystems[0].Dev != simDev || r.Filesystems[0].Inodes != 4 || r.Covers == 0 {
		t.Errorf("summary: %+v, want one filesystem %d with 4 inodes (/srv/mon, a.txt, e, e/y)", r, simDev)
	}
	// The text form.
	var out strings.Builder
	if _, err := runCmd(ctx, &out, "replay", "--nats", env.url, "--log-level", "error", "--host", "node-1", "--json=false",
		"--until-time", at[3].Format(time.RFC3339Nano), "--inode", "30"); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"inode 30 of host node-1 as of", "/srv/mon/e/y", "/srv/mon/z", strconv.Itoa(simDev)} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("text answer lacks %q:\n%s", w, out.String())
		}
	}
}

// TestHistoryEqualsLiveOutput: a resolver publishes the scenario's events; history --json of the
// periods prints the same JSON lines, byte for byte, as the resolver published for them.
func TestHistoryEqualsLiveOutput(t *testing.T) {
	env := newForensicEnv(t)
	live := readLive(t, env.js, true, nil)
	startLiveResolver(t, env, "live")
	at, _ := shellScenario(t, env, "node-1")
	live.waitFor(t, 6, 30*time.Second) // creation, mkdir, rename, link, rename, unlink
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	history := func(args ...string) string {
		t.Helper()
		var out strings.Builder
		errOut, err := runCmd(ctx, &out, append([]string{"history", "--nats", env.url, "--log-level", "error", "--host", "node-1"}, args...)...)
		if err != nil {
			t.Fatalf("history %q: %v\n%s", args, err, errOut)
		}
		if !slices.Contains(args, "--no-progress") && !strings.Contains(errOut, "replaying node-1: read ") {
			t.Errorf("history %q: no progress on stderr: %q", args, errOut)
		}
		return out.String()
	}
	rfc := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	for _, period := range [][2]int{{0, 4}, {1, 2}, {2, 3}, {0, 1}} {
		from, to := at[period[0]], at[period[1]]
		got := history("--path", "/", "--from", rfc(from), "--to", rfc(to))
		if want := live.between(from, to); got != want || want == "" {
			t.Errorf("history of t%d..t%d:\n%s\nwant what was published:\n%s", period[0], period[1], got, want)
		}
	}
	// Under a path: everything that touched /srv/mon/d (the mkdir, the move into it, the link from it,
	// the directory's rename), printed as JSON when stdout is not a terminal.
	got := history("--path", "/srv/mon/d", "--from", "1h")
	var types []string
	for _, l := range strings.Split(strings.TrimSpace(got), "\n") {
		var ev struct{ Type string }
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", l)
		}
		types = append(types, ev.Type)
	}
	if strings.Join(types, " ") != "mkdir rename link rename" {
		t.Errorf("history of /srv/mon/d: %q, want mkdir rename link rename", types)
	}
	// The human form, as tail prints it.
	human := history("--path", "/srv/mon/e", "--json=false", "--no-progress")
	if !strings.Contains(human, "rename") || !strings.Contains(human, "/srv/mon/e ← /srv/mon/d") || strings.Contains(human, "{") {
		t.Errorf("human form:\n%s", human)
	}
}
