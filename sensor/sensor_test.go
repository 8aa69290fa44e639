package sensor

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/accounting"
)

func statIno(t *testing.T, p string) (dev, ino uint64) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Dev, st.Ino
}

// TestScanEpochAndEvents checks the first scan epoch (begin, entries, end, tracked inodes, readiness)
// and that kernel records come out as raw events after it.
func TestScanEpochAndEvents(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"app/conf.d", "app/data"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "app/a.conf"), "x")
	writeFile(t, filepath.Join(root, "app/data/b"), "x")
	pub := &capture{}
	cfg := testConfig(t, root+"/app/*.conf", root+"/app/data/**")
	cfg.Hash.Algorithm = HashNone // the baseline's content events are TestBaselineInBackground's
	r := startSensor(t, cfg, Deps{Publisher: pub})

	dev, appIno := statIno(t, root+"/app")
	_, confIno := statIno(t, root+"/app/a.conf")
	_, subIno := statIno(t, root+"/app/conf.d")
	for _, ino := range []uint64{appIno, confIno} {
		if !r.probes.isTracked(dev, ino) {
			t.Errorf("inode %d not tracked", ino)
		}
	}
	if r.probes.isTracked(dev, subIno) {
		t.Errorf("app/conf.d is tracked, but no pattern reaches inside it")
	}
	r.probes.events <- openEvent(1, dev, confIno)
	r.probes.events <- openEvent(2, dev, confIno)
	waitFor(t, 5*time.Second, "two kernel events", func() bool { return countKind(pub, schemas.KindOpen) == 2 })
	r.stop(t)

	evs := pub.events(t)
	var kinds []string
	var epoch uint64
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind.String())
		if ev.Kind == schemas.KindScanBegin {
			epoch = ev.ScanEpoch
			if string(ev.Path) != root+"/app" || ev.Ino != appIno {
				t.Errorf("scan_begin names %q ino %d", ev.Path, ev.Ino)
			}
		}
		if ev.Kind.File() && ev.Seq == 0 {
			t.Errorf("event without a sequence")
		}
	}
	want := "scan_begin scan_entry scan_entry scan_entry scan_entry scan_end open open"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("events:\n%s\nwant\n%s", got, want)
	}
	if epoch == 0 {
		t.Error("no epoch")
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].Seq != evs[i-1].Seq+1 {
			t.Errorf("sequence not contiguous at %d: %d after %d", i, evs[i].Seq, evs[i-1].Seq)
		}
	}
}

func countKind(c *capture, k schemas.Kind) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	var b schemas.Batch
	for _, m := range c.msgs {
		if schemas.DecodeBatch(m.Data, &b) == nil {
			for _, ev := range b.Events {
				if ev.Kind == k {
					n++
				}
			}
		}
	}
	return n
}

func lossEvents(t *testing.T, c *capture) map[string]uint64 {
	out := map[string]uint64{}
	for _, ev := range c.events(t) {
		if ev.Kind == schemas.KindLoss && ev.Dev == 0 {
			out[ev.Hook] += ev.Lost
		}
	}
	return out
}

// TestKernelSequenceGaps checks that holes in the kernel's sequence become loss events, attributed to
// the hooks whose ringbuffer_full counters rose, each lost record once; and that records arriving
// slightly out of order are not loss.
func TestKernelSequenceGaps(t *testing.T) {
	root := t.TempDir()
	pub := &capture{}
	r := startSensor(t, testConfig(t, root+"/**"), Deps{Publisher: pub})
	dev, ino := statIno(t, root)
	// 3 and 2 swapped: not a loss. 5..7 lost because the ring was full at file_open (2) and
	// path_mkdir (1). 11 lost with no counter: ring_sequence.
	r.probes.addRingFull("file_open", 2)
	r.probes.addRingFull("path_mkdir", 1)
	for _, seq := range []uint64{1, 3, 2, 4, 8, 9, 10, 12} {
		r.probes.events <- openEvent(seq, dev, ino)
	}
	waitFor(t, 5*time.Second, "loss events", func() bool {
		l := lossEvents(t, pub)
		return l["file_open"]+l["path_mkdir"]+l[accounting.HookRingSequence] == 4
	})
	// A ring-full rise whose hole never shows (nothing read after it) is reported after a grace
	// period, and not again when the hole shows.
	r.probes.addRingFull("file_open", 1)
	waitFor(t, 10*time.Second, "the late ring-full loss", func() bool { return lossEvents(t, pub)["file_open"] == 3 })
	r.probes.events <- openEvent(14, dev, ino)
	time.Sleep(1500 * time.Millisecond)
	r.stop(t)
	got := lossEvents(t, pub)
	want := map[string]uint64{"file_open": 3, "path_mkdir": 1, accounting.HookRingSequence: 1}
	for h, n := range want {
		if got[h] != n {
			t.Errorf("lost at %s: %d, want %d (all: %v)", h, got[h], n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("loss hooks %v, want %v", got, want)
	}
	// Every loss goes to every filesystem seen, and to dev 0.
	var onDev int
	for _, ev := range pub.events(t) {
		if ev.Kind == schemas.KindLoss && ev.Dev == dev && ev.Hook == "path_mkdir" {
			onDev++
		}
	}
	if onDev != 1 {
		t.Errorf("path_mkdir loss on dev %d: %d events, want 1", dev, onDev)
	}
}

func TestHandlerHealth(t *testing.T) {
	pub := &capture{}
	r := startSensor(t, testConfig(t, t.TempDir()+"/**"), Deps{Publisher: pub})
	srv := httptest.NewServer(r.s.Handler())
	defer srv.Close()
	for path, want := range map[string]string{"/healthz": "ok", "/readyz": "ok", "/metrics": "factstream_sensor_scans_total 1"} {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %q, want %q", path, resp.StatusCode, b, want)
		}
	}
	r.probes.addRingFull("file_open", 0)
	r.s.poll(time.Now())
	resp, _ := srv.Client().Get(srv.URL + "/metrics")
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `factstream_kernel_file_open_events_total{label="ringbuffer_full"} 0`) {
		t.Errorf("kernel counters missing from /metrics:\n%s", b)
	}
	r.stop(t)
	resp, _ = srv.Client().Get(srv.URL + "/readyz")
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("/readyz after stop: %d", resp.StatusCode)
	}
}

// TestReload adds and removes patterns at run time: new roots are scanned and tracked, inodes only
// the removed pattern needed are untracked, prefixes follow.
func TestReload(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/x", "b/y"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "a/x/f"), "")
	writeFile(t, filepath.Join(root, "b/y/g"), "")
	pub := &capture{}
	r := startSensor(t, testConfig(t, root+"/a/**", root+"/missing/**"), Deps{Publisher: pub})
	dev, af := statIno(t, root+"/a/x/f")
	_, bg := statIno(t, root+"/b/y/g")
	if !r.probes.isTracked(dev, af) || r.probes.isTracked(dev, bg) || !r.probes.prefixList()[root+"/missing"] {
		t.Fatalf("before reload: a tracked %v, b tracked %v, prefixes %v", r.probes.isTracked(dev, af), r.probes.isTracked(dev, bg), r.probes.prefixList())
	}
	if err := r.s.Reload(context.Background(), []string{root + "/b/**"}); err != nil {
		t.Fatal(err)
	}
	if r.probes.isTracked(dev, af) || !r.probes.isTracked(dev, bg) || len(r.probes.prefixList()) != 0 {
		t.Errorf("after reload: a tracked %v, b tracked %v, prefixes %v", r.probes.isTracked(dev, af), r.probes.isTracked(dev, bg), r.probes.prefixList())
	}
	if st := r.s.Status(); len(st.Paths) != 1 || st.LastScan == nil || st.LastScan.Entries != 3 {
		t.Errorf("status after reload: %+v", st)
	}
	if err := r.s.Reload(context.Background(), []string{"relative"}); err == nil || !strings.Contains(err.Error(), "paths[0]") {
		t.Errorf("a bad reload: %v", err)
	}
}

func TestRescanRefusesUnmonitored(t *testing.T) {
	root := t.TempDir()
	r := startSensor(t, testConfig(t, root+"/**"), Deps{Publisher: &capture{}})
	if _, err := r.s.Rescan(context.Background(), "/proc"); !errors.Is(err, ErrNotMonitored) {
		t.Errorf("rescan of /proc: %v", err)
	}
	epoch, err := r.s.Rescan(context.Background(), root)
	if err != nil || epoch < 2 {
		t.Errorf("rescan of the root: epoch %d, %v", epoch, err)
	}
}

// TestMissingBaseAppears: a pattern whose base does not exist gets a kernel prefix; when the kernel
// reports the base's creation by path, the sensor rescans: the base is tracked and the prefix goes.
func TestMissingBaseAppears(t *testing.T) {
	root := t.TempDir()
	pub := &capture{}
	r := startSensor(t, testConfig(t, root+"/later/**"), Deps{Publisher: pub})
	if !r.probes.prefixList()[root+"/later"] {
		t.Fatalf("prefixes %v, want %s/later", r.probes.prefixList(), root)
	}
	if err := os.MkdirAll(filepath.Join(root, "later/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	dev, ino := statIno(t, filepath.Join(root, "later"))
	ev := openEvent(1, dev, ino)
	ev.Kind, ev.Monitored, ev.Path = uint8(bpf.KindMkdir), uint8(bpf.MonitoredByPath), []byte(root+"/later")
	r.probes.events <- ev
	waitFor(t, 5*time.Second, "the base to be tracked", func() bool { return r.probes.isTracked(dev, ino) })
	_, sub := statIno(t, filepath.Join(root, "later/sub"))
	waitFor(t, 5*time.Second, "the prefix to go", func() bool {
		r.s.scanMu.Lock()
		defer r.s.scanMu.Unlock()
		return len(r.s.prefixes) == 0
	})
	if !r.probes.isTracked(dev, sub) {
		t.Error("what was created in the base before the rescan is not tracked")
	}
}

// TestHostRoot runs as in a container with the host's root mounted at hostRoot: the scan reads under
// it, reports host paths, and kernel prefixes are the paths as the sensor sees them.
func TestHostRoot(t *testing.T) {
	hostRoot := t.TempDir()
	if err := os.MkdirAll(filepath.Join(hostRoot, "srv/app"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(hostRoot, "srv/app/a.conf"), "")
	cfg := testConfig(t, "/srv/app/*.conf", "/etc/factstream-missing/**")
	cfg.HostRoot = hostRoot
	pub := &capture{}
	r := startSensor(t, cfg, Deps{Publisher: pub})
	r.stop(t)
	if p := r.probes.prefixList(); len(p) != 1 || !p[hostRoot+"/etc/factstream-missing"] {
		t.Errorf("kernel prefixes %v, want the missing base under the host root", p)
	}
	var roots []string
	for _, ev := range pub.events(t) {
		if ev.Kind == schemas.KindScanEntry && ev.Flags&schemas.FlagScanRoot != 0 {
			roots = append(roots, string(ev.Path))
		}
	}
	if len(roots) != 1 || roots[0] != "/srv/app" {
		t.Errorf("scan roots %q, want the host path /srv/app", roots)
	}
}
