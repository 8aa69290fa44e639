//go:build !race

package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factstream/factstream/schemas"
)

// The scale: replay and history on a stream of at least a million events, with a progress
// report, and history's output equal to the live output of the same period. It takes a minute or two, so
// it runs only when asked, and never under -race:
//
//	FACTSTREAM_LARGE=1 go test -count=1 -run TestHistoryMillion -v -timeout 10m ./cmd/factstream/

const (
	largeCommands    = 1000 // each a fork, an exec, 1,005 file events and an exit
	largeFilesPerCmd = 268  // each created, opened, renamed and, three times in four, deleted
	largeDirs        = 100
)

// largeIno is the inode of the j-th file of command c.
func largeIno(c, j int) uint64 { return uint64(1_000_000 + c*largeFilesPerCmd + j) }

// largeDir is the directory inode (under /srv/mon) of the j-th file of command c.
func largeDir(c, j int) uint64 { return uint64(100 + (c*largeFilesPerCmd+j)%largeDirs) }

// publishLarge publishes the big host and returns how many file events it holds.
func publishLarge(t *testing.T, h *simHost) int {
	var dirs []schemas.RawEvent
	for d := range largeDirs {
		dirs = append(dirs, schemas.RawEvent{Ino: uint64(100 + d), ParentIno: simRoot, Name: []byte("d" + strconv.Itoa(d)), Mode: dirMode})
	}
	h.session(dirs...)
	files := 0
	evs := make([]schemas.RawEvent, 0, 4*largeFilesPerCmd)
	for c := range largeCommands {
		evs = evs[:0]
		for j := range largeFilesPerCmd {
			ino, dir := largeIno(c, j), largeDir(c, j)
			name := "f" + strconv.FormatUint(ino, 10)
			evs = append(evs, fileEv(schemas.KindCreation, ino, dir, name, fileMode), fileEv(schemas.KindOpen, ino, dir, name, fileMode),
				moveEv(ino, dir, name, dir, name+".x", fileMode))
			if j%4 != 0 {
				evs = append(evs, fileEv(schemas.KindUnlink, ino, dir, name+".x", fileMode))
			}
		}
		files += len(evs)
		h.command(uint32(10_000+c), "/usr/bin/churn", evs...)
	}
	h.wait()
	return files
}

// lineDigest is one published event: its time and the hash of its JSON line.
type lineDigest struct {
	time int64
	sum  uint64
}

// digestWriter checks the lines written to it against want, in order, keeping the first that differs.
type digestWriter struct {
	seed    maphash.Seed
	want    []lineDigest
	n       int
	partial []byte
	first   string // the first line that differs
}

func (w *digestWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			break
		}
		line := p[:i]
		if len(w.partial) > 0 {
			line = append(w.partial, line...)
			w.partial = w.partial[:0]
		}
		if w.first == "" && (w.n >= len(w.want) || maphash.Bytes(w.seed, line) != w.want[w.n].sum) {
			w.first = fmt.Sprintf("line %d: %s", w.n+1, line)
		}
		w.n++
		p = p[i+1:]
	}
	return total, nil
}

// TestHistoryMillion publishes a host of a million file events, lets a resolver publish them, and
// checks that history of the whole period prints exactly what was published, in time order, and that
// replay --inode finds a file among the million.
func TestHistoryMillion(t *testing.T) {
	if os.Getenv("FACTSTREAM_LARGE") != "1" {
		t.Skip("set FACTSTREAM_LARGE=1 to run (a minute or two)")
	}
	env := newForensicEnv(t)
	h := newSimHost(t, env.js, "big-1")
	from := time.Now()
	start := time.Now()
	files := publishLarge(t, h)
	to := time.Now()
	if files < 1_000_000 {
		t.Fatalf("only %d file events", files)
	}
	t.Logf("published %d raw events (%d file events) in %d messages in %s", h.seq, files, h.batch, time.Since(start).Round(time.Millisecond))

	seed := maphash.MakeSeed()
	var mu sync.Mutex
	var live []lineDigest
	var buf []byte
	out := readLive(t, env.js, false, func(a *schemas.Activity) {
		buf = schemas.AppendActivityJSON(buf[:0], a)
		mu.Lock()
		live = append(live, lineDigest{a.Time, maphash.Bytes(seed, buf)})
		mu.Unlock()
	})
	start = time.Now()
	startLiveResolver(t, env, "live")
	out.waitFor(t, files, 5*time.Minute)
	out.stop()
	took := time.Since(start)
	t.Logf("the resolver published %d events in %s (%.0f events/s)", files, took.Round(time.Millisecond), float64(files)/took.Seconds())
	mu.Lock()
	slices.SortStableFunc(live, func(a, b lineDigest) int { return cmp.Compare(a.time, b.time) })
	mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dw := &digestWriter{seed: seed, want: live}
	start = time.Now()
	errOut, err := runCmd(ctx, dw, "history", "--nats", env.url, "--log-level", "error", "--host", "big-1", "--path", "/",
		"--from", from.Format(time.RFC3339Nano), "--to", to.Format(time.RFC3339Nano), "--json")
	if err != nil {
		t.Fatalf("history: %v\n%s", err, errOut)
	}
	took = time.Since(start)
	t.Logf("history: %d events in %s (%.0f raw events/s); its progress:\n%s", dw.n, took.Round(time.Millisecond),
		float64(h.seq)/took.Seconds(), errOut)
	if dw.first != "" || dw.n != len(live) {
		t.Fatalf("history printed %d events, %d were published; first difference at %s", dw.n, len(live), dw.first)
	}
	if !strings.Contains(errOut, "replaying big-1: read "+strconv.FormatUint(h.batch, 10)+" messages") {
		t.Errorf("no progress report of the %d messages: %q", h.batch, errOut)
	}

	// A file kept by the last command, found among the million.
	ino, dir := largeIno(largeCommands-1, 0), largeDir(largeCommands-1, 0)
	var ans strings.Builder
	start = time.Now()
	if errOut, err := runCmd(ctx, &ans, "replay", "--nats", env.url, "--log-level", "error", "--host", "big-1",
		"--inode", strconv.FormatUint(ino, 10), "--json"); err != nil {
		t.Fatalf("replay: %v\n%s", err, errOut)
	}
	var r replayJSON
	if err := json.Unmarshal([]byte(ans.String()), &r); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("/srv/mon/d%d/f%d.x", dir-100, ino)
	if len(r.Inode.Paths) != 1 || r.Inode.Paths[0].Path != want {
		t.Errorf("replay --inode %d: %+v, want %s", ino, r.Inode, want)
	}
	t.Logf("replay --inode: %s in %s", want, time.Since(start).Round(time.Millisecond))
}
