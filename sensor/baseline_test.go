package sensor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/schemas"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/sys/unix"
)

// tree writes n files of distinct content in dir (created) and returns their content by inode.
func tree(t *testing.T, dir string, n int) map[uint64][]byte {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := map[uint64][]byte{}
	for i := range n {
		name := filepath.Join(dir, fmt.Sprintf("f%03d", i))
		content := []byte(fmt.Sprintf("file %d of %s\n", i, filepath.Base(dir)))
		writeFile(t, name, string(content))
		_, ino := statIno(t, name)
		out[ino] = content
	}
	return out
}

// baselineEvents are the content events of scans (probe scan) the capture holds, by inode, in order.
func baselineEvents(t *testing.T, pub *capture) map[uint64][]schemas.RawEvent {
	t.Helper()
	out := map[uint64][]schemas.RawEvent{}
	for _, ev := range pub.events(t) {
		if ev.Kind == schemas.KindContent && ev.Probe == schemas.ProbeScan {
			out[ev.Ino] = append(out[ev.Ino], ev)
		}
	}
	return out
}

func countBaseline(t *testing.T, pub *capture) int {
	n := 0
	for _, evs := range baselineEvents(t, pub) {
		n += len(evs)
	}
	return n
}

// checkBaseline checks that ev is the baseline content event of a file of parent holding content.
func checkBaseline(t *testing.T, ev schemas.RawEvent, parent uint64, content []byte) {
	t.Helper()
	want := sha256.Sum256(content)
	if ev.HashState != schemas.HashOK || ev.HashAlg != schemas.HashSHA256 || !bytes.Equal(ev.Digest, want[:]) ||
		ev.Size != uint64(len(content)) {
		t.Errorf("inode %d: %s %x of %d bytes (%s), want ok sha256 %x of %d", ev.Ino, ev.HashState, ev.Digest, ev.Size, ev.Aux,
			want, len(content))
	}
	if ev.ParentIno != parent || len(ev.Name) == 0 || ev.Mode&unix.S_IFMT != unix.S_IFREG || len(ev.Path) != 0 ||
		ev.Proc.Tgid != 0 || ev.Proc.Pid != 0 || len(ev.Proc.Comm) != 0 || ev.Generation != 0 || ev.Seq == 0 || ev.Time == 0 {
		t.Errorf("inode %d: parent %d name %q mode %#o path %q proc %+v generation %d seq %d time %d; want the entry's "+
			"parent %d, name and mode, no path, no process, generation 0 (unknown), a sequence and a time",
			ev.Ino, ev.ParentIno, ev.Name, ev.Mode, ev.Path, ev.Proc, ev.Generation, ev.Seq, ev.Time, parent)
	}
}

// TestBaselineInBackground: the first scan's regular files are hashed after the epoch is published,
// each giving one content event of probe scan with the file's sha256; the sensor is ready long before
// (hashing is paced at 256 bytes/s, some 3 seconds for the tree), and status and the metrics show the baseline's progress.
func TestBaselineInBackground(t *testing.T) {
	root := t.TempDir()
	files := tree(t, filepath.Join(root, "tree"), 50)
	_, parent := statIno(t, filepath.Join(root, "tree"))
	cfg := testConfig(t, root+"/tree", root+"/tree/**")
	cfg.Hash.BytesPerSecond = 256
	cfg.VerifyInterval = 0
	pub := &capture{}
	r := startSensor(t, cfg, Deps{Publisher: pub})
	first := r.s.Status().LastScan.Epoch
	waitFor(t, 5*time.Second, "the first epoch's baseline to start", func() bool {
		h := r.s.Status().Hash
		return h != nil && h.BaselineEpoch == first
	})
	if st := r.s.Status(); !st.Ready || st.Hash.BaselineFiles != 50 || st.Hash.BaselineDone >= 50 {
		t.Fatalf("as the baseline starts: ready %v, hash %+v; want ready with 50 files to hash, not all done", st.Ready, st.Hash)
	}
	waitFor(t, 30*time.Second, "50 baseline content events", func() bool { return countBaseline(t, pub) >= 50 })
	got := baselineEvents(t, pub)
	if len(got) != 50 {
		t.Fatalf("baseline content events for %d inodes, want the 50 files", len(got))
	}
	for ino, content := range files {
		if len(got[ino]) != 1 {
			t.Errorf("inode %d: %d baseline events, want 1", ino, len(got[ino]))
			continue
		}
		checkBaseline(t, got[ino][0], parent, content)
	}
	waitFor(t, 5*time.Second, "status to count the 50 files done", func() bool { return r.s.Status().Hash.BaselineDone == 50 })
	if h := r.s.Status().Hash; h.BaselineFiles != 50 || h.HashedTotal != 50 || h.BaselineQueued != 0 {
		t.Errorf("status hash %+v, want 50 of 50 done, 50 hashed, none queued", h)
	}
	if f, d := testutil.ToFloat64(r.s.m.baselineFiles), testutil.ToFloat64(r.s.m.baselineDone); f != 50 || d != 50 {
		t.Errorf("factstream_sensor_hash_baseline_files %v, _done %v; want 50, 50", f, d)
	}
}

// TestVerifyInterval: every verify_interval the sensor publishes a new scan epoch and hashes its files
// again.
func TestVerifyInterval(t *testing.T) {
	root := t.TempDir()
	files := tree(t, filepath.Join(root, "tree"), 5)
	_, parent := statIno(t, filepath.Join(root, "tree"))
	cfg := testConfig(t, root+"/tree/**")
	cfg.VerifyInterval = time.Second
	pub := &capture{}
	r := startSensor(t, cfg, Deps{Publisher: pub})
	first := r.s.Status().LastScan.Epoch
	waitFor(t, 10*time.Second, "a verification's epoch after the first, with its 5 files hashed", func() bool {
		st := r.s.Status()
		return st.LastScan.Epoch > first && st.Hash.BaselineEpoch > first && st.Hash.BaselineDone == 5 && countBaseline(t, pub) >= 10
	})
	got := baselineEvents(t, pub)
	for ino, content := range files {
		if len(got[ino]) < 2 {
			t.Errorf("inode %d: %d baseline events, want one of the first scan and one of the verification", ino, len(got[ino]))
			continue
		}
		for _, ev := range got[ino] {
			checkBaseline(t, ev, parent, content)
		}
	}
}

// TestVerifyVerb: a verify request over NATS publishes a scan epoch and hashes only the files below the
// globs it names, answering the epoch and how many files it queued; a bad glob, another host or a sensor
// that does not hash is refused with the reason.
func TestVerifyVerb(t *testing.T) {
	srv := natsservertest.RunServer(t)
	nc := tcpConn(t, srv.ClientURL())
	root := t.TempDir()
	a := tree(t, filepath.Join(root, "a"), 3)
	tree(t, filepath.Join(root, "b"), 2)
	_, aIno := statIno(t, filepath.Join(root, "a"))
	cfg := testConfig(t, root+"/**")
	cfg.VerifyInterval = 0
	pub := &capture{}
	r := startSensor(t, cfg, Deps{Conn: nc, Publisher: pub})
	first := r.s.Status().LastScan.Epoch
	waitFor(t, 10*time.Second, "the first scan's 5 baseline events", func() bool { return countBaseline(t, pub) == 5 })

	verify := func(rq schemas.VerifyRequest) VerifyReply {
		t.Helper()
		data, _ := json.Marshal(rq)
		msg, err := nc.Request(schemas.ControlSubject("node1", schemas.VerbVerify), data, 10*time.Second)
		if err != nil {
			t.Fatalf("verify request %+v: %v", rq, err)
		}
		var reply VerifyReply
		if err := json.Unmarshal(msg.Data, &reply); err != nil {
			t.Fatalf("verify reply %s: %v", msg.Data, err)
		}
		return reply
	}
	reply := verify(schemas.VerifyRequest{Host: "node1", Paths: []string{root + "/a"}, Reason: "test"})
	if reply.Error != "" || reply.Epoch <= first || reply.Files != 3 {
		t.Fatalf("verify of %s/a: %+v, want an epoch after %d and 3 files", root, reply, first)
	}
	waitFor(t, 10*time.Second, "the verification's 3 baseline events", func() bool { return countBaseline(t, pub) == 8 })
	time.Sleep(300 * time.Millisecond) // longer than the hasher's quiet window: nothing else comes
	got := baselineEvents(t, pub)
	for ino, evs := range got {
		want := 1
		if a[ino] != nil {
			want = 2
		}
		if len(evs) != want {
			t.Errorf("inode %d: %d baseline events, want %d", ino, len(evs), want)
		}
	}
	for ino, content := range a {
		checkBaseline(t, got[ino][len(got[ino])-1], aIno, content)
	}
	if ended := r.s.Status().LastScan.Epoch; ended != reply.Epoch {
		t.Errorf("last scan epoch %d, want the verification's %d", ended, reply.Epoch)
	}

	for _, rq := range []schemas.VerifyRequest{
		{Host: "node1", Paths: []string{"a/**"}}, // not absolute
		{Host: "node2"},
	} {
		if reply := verify(rq); reply.Error == "" {
			t.Errorf("verify %+v: %+v, want refused", rq, reply)
		}
	}
	if queued := testutil.ToFloat64(r.s.m.controlReqs.WithLabelValues(schemas.VerbVerify, "ok")); queued != 1 {
		t.Errorf("verify requests answered ok: %v, want 1", queued)
	}
}

// TestVerifyHashingOff: a sensor that does not hash refuses a verification, and its scans queue nothing.
func TestVerifyHashingOff(t *testing.T) {
	root := t.TempDir()
	tree(t, filepath.Join(root, "a"), 2)
	cfg := testConfig(t, root+"/**")
	cfg.Hash.Algorithm = HashNone
	r := startSensor(t, cfg, Deps{Publisher: &capture{}})
	if _, _, err := r.s.Verify(context.Background(), nil); !errors.Is(err, ErrHashingOff) {
		t.Errorf("Verify with hashing off: %v, want %v", err, ErrHashingOff)
	}
	if h := r.s.Status().Hash; h != nil {
		t.Errorf("status hash with hashing off: %+v, want none", h)
	}
}

// TestBaselineQueue: jobs wait in order; a full one (every file of every filesystem) replaces those still
// waiting, not the one being submitted.
func TestBaselineQueue(t *testing.T) {
	b := newBaseline()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.add(&baselineJob{epoch: 1, full: true})
	if job := b.next(ctx); job.epoch != 1 {
		t.Fatalf("next: epoch %d, want 1", job.epoch)
	}
	b.add(&baselineJob{epoch: 2})
	b.add(&baselineJob{epoch: 3})
	b.add(&baselineJob{epoch: 4, full: true})
	b.add(&baselineJob{epoch: 5})
	for _, want := range []uint64{4, 5} {
		if job := b.next(ctx); job.epoch != want {
			t.Fatalf("next: epoch %d, want %d (2 and 3 replaced by the full 4)", job.epoch, want)
		}
	}
	cancel()
	if job := b.next(ctx); job != nil {
		t.Fatalf("next after ctx ended: epoch %d, want none", job.epoch)
	}
}

// TestHashUnder: a verification's globs select the files they match and every file below a directory
// they match.
func TestHashUnder(t *testing.T) {
	want, err := hashUnder([]string{"/etc/ssh", "/etc/*.conf"})
	if err != nil {
		t.Fatal(err)
	}
	for p, selected := range map[string]bool{
		"/etc/ssh/sshd_config": true, "/etc/ssh/keys/host": true, "/etc/ssh": true, "/etc/a.conf": true,
		"/etc/passwd": false, "/etc/sub/a.conf": false, "/etc/sshd": false, "/": false,
	} {
		if got := want(p); got != selected {
			t.Errorf("%s selected %v, want %v", p, got, selected)
		}
	}
	if _, err := hashUnder([]string{"etc/**"}); err == nil {
		t.Error("a relative glob compiled")
	}
}
