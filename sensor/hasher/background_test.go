package hasher

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/testtime"
)

// TestSubmitWaitLeavesRoomForSubmit: background requests fill at most half of QueueSize, SubmitWait
// blocks beyond that (until ctx ends), and Submit is still taken meanwhile rather than rate-limited.
func TestSubmitWaitLeavesRoomForSubmit(t *testing.T) {
	h, results := start(t, Config{QueueSize: 4, Quiet: time.Hour})
	dir := t.TempDir()
	for i := range 2 {
		req := writeFile(t, dir, fmt.Sprintf("bg%d", i), []byte("b"))
		if queued, err := h.SubmitWait(context.Background(), req); err != nil || !queued {
			t.Fatalf("SubmitWait %d within the background share: %v, queued %v", i, err, queued)
		}
	}
	if queued, err := h.SubmitWait(context.Background(), requestFor(t, filepath.Join(dir, "bg0"))); err != nil || queued {
		t.Fatalf("SubmitWait of an identity already waiting: queued %v, %v; want it merged", queued, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	third := writeFile(t, dir, "bg2", []byte("b"))
	if _, err := h.SubmitWait(ctx, third); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SubmitWait beyond half of QueueSize: %v, want it to wait until ctx ends", err)
	}
	for i := range 2 {
		if err := h.Submit(writeFile(t, dir, fmt.Sprintf("live%d", i), []byte("l"))); err != nil {
			t.Fatal(err)
		}
	}
	noResult(t, results, 100*time.Millisecond, "live requests fit beside a full background share")
	if all, bg := h.Queued(); all != 4 || bg != 2 {
		t.Fatalf("Queued: %d of which %d background, want 4 and 2", all, bg)
	}
}

// TestSubmitWaitResumes: a SubmitWait that waits for room goes on once a background entry is hashed,
// and every file gets its hash.
func TestSubmitWaitResumes(t *testing.T) {
	h, results := start(t, Config{QueueSize: 2, Quiet: time.Millisecond})
	dir := t.TempDir()
	const n = 20
	reqs := make([]Request, n)
	for i := range reqs {
		reqs[i] = writeFile(t, dir, fmt.Sprintf("f%d", i), []byte{byte(i)})
		reqs[i].Token = i
	}
	done := make(chan error, 1)
	go func() {
		for _, req := range reqs {
			if _, err := h.SubmitWait(context.Background(), req); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	seen := map[int]bool{}
	for range n {
		r := waitResult(t, results, fmt.Sprintf("the hashes of %d files queued one at a time (%d so far)", n, len(seen)))
		i := r.Request.Token.(int)
		want := sha256.Sum256([]byte{byte(i)})
		if r.State != StateOK || string(r.Digest) != string(want[:]) {
			t.Fatalf("file %d: %s (%s) %x, want ok %x", i, r.State, r.Reason, r.Digest, want)
		}
		seen[i] = true
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("SubmitWait: %v", err)
		}
	case <-time.After(testtime.Scaled(10 * time.Second)):
		t.Fatal("SubmitWait still waiting after every file was hashed")
	}
	if len(seen) != n {
		t.Fatalf("%d files hashed, want %d", len(seen), n)
	}
	if all, bg := h.Queued(); all != 0 || bg != 0 {
		t.Fatalf("Queued after the last hash: %d, %d background; want 0, 0", all, bg)
	}
}

// TestSubmitWaitAfterRun: SubmitWait gives ErrStopped once Run has returned, also to one waiting.
func TestSubmitWaitAfterRun(t *testing.T) {
	h, err := New(Config{QueueSize: 2, Quiet: time.Hour, OnResult: func(Result) {}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := h.SubmitWait(context.Background(), writeFile(t, dir, "a", []byte("a"))); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- h.Run(ctx) }()
	waiting := make(chan error, 1)
	b := writeFile(t, dir, "b", []byte("b"))
	go func() {
		_, err := h.SubmitWait(context.Background(), b)
		waiting <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case err := <-waiting:
		if !errors.Is(err, ErrStopped) {
			t.Fatalf("a SubmitWait waiting as Run returned: %v, want ErrStopped", err)
		}
	case <-time.After(testtime.Scaled(5 * time.Second)):
		t.Fatal("a SubmitWait still waits after Run returned")
	}
	_ = h.Close()
}

// TestGenUnknown: a scan entry's request, without a generation, is hashed by path and checked by dev and
// inode number; another inode at the path is refused.
func TestGenUnknown(t *testing.T) {
	h, results := start(t, Config{Quiet: time.Millisecond})
	dir := t.TempDir()
	req := writeFile(t, dir, "f", []byte("scan"))
	req.ID.Gen, req.GenUnknown = req.ID.Gen+12345, true
	if _, err := h.SubmitWait(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256([]byte("scan"))
	if r := waitResult(t, results, "the hash of a scan entry"); r.State != StateOK || string(r.Digest) != string(want[:]) {
		t.Fatalf("scan entry without generation: %s (%s), want ok %x", r.State, r.Reason, want)
	}
	other := req
	other.ID.Ino++
	if _, err := h.SubmitWait(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if r := waitResult(t, results, "the answer for another inode"); r.State != StateUnreadable {
		t.Fatalf("a path now naming another inode: %s (%s), want unreadable", r.State, r.Reason)
	}
	if err := os.Remove(req.Path); err != nil {
		t.Fatal(err)
	}
}

// TestSubmitBeforeBackground: once due, a Submit request is handed to a worker before the background
// ones that came due before it, so a baseline delays a live close by at most the attempts under way.
func TestSubmitBeforeBackground(t *testing.T) {
	h, err := New(Config{Quiet: time.Millisecond, OnResult: func(Result) {}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var bg []Request
	for i := range 3 {
		bg = append(bg, writeFile(t, dir, fmt.Sprintf("bg%d", i), []byte("b")))
		if _, err := h.SubmitWait(context.Background(), bg[i]); err != nil {
			t.Fatal(err)
		}
	}
	live := writeFile(t, dir, "live", []byte("l"))
	if err := h.Submit(live); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // every one is due
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, want := range []Request{live, bg[0], bg[1], bg[2]} {
		e, wait := h.due()
		if e == nil || e.req.ID != want.ID {
			t.Fatalf("hand-out %d: %+v (wait %v), want %s", i, e, wait, want.Path)
		}
	}
	if e, _ := h.due(); e != nil {
		t.Fatalf("a fifth hand-out of four requests: %s", e.req.Path)
	}
}
