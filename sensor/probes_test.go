package sensor

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/schemas"
)

// loadProbes loads the real probes, or skips saying why they cannot run here.
func loadProbes(t testing.TB) *bpf.Probes { return loadProbesWith(t, bpf.Options{}) }

// loadProbesWith loads the real probes with opts, or skips saying why they cannot run here.
func loadProbesWith(t testing.TB, opts bpf.Options) *bpf.Probes {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading probes needs root")
	}
	p, err := bpf.Load(opts)
	if errors.Is(err, bpf.ErrUnavailable) {
		t.Skipf("no probe set runs on this kernel: %v", err)
	}
	if err != nil {
		t.Fatalf("loading probes: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestRealProbes runs the sensor on the real probes: the scan seeds the kernel's tracked set with the
// inodes as stat(2) names them, and a file created in a tracked directory comes out as a creation event
// monitored through its parent.
func TestRealProbes(t *testing.T) {
	probes := loadProbes(t)
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	pub := &capture{}
	startSensor(t, testConfig(t, root+"/app/*.conf"), Deps{Probes: probes, Publisher: pub})
	dev, ino := statIno(t, filepath.Join(root, "app"))
	if ok, err := probes.Tracked(dev, ino); err != nil || !ok {
		t.Fatalf("the pattern's base is not tracked in the kernel: %v %v", ok, err)
	}
	writeFile(t, filepath.Join(root, "app/new.conf"), "x")
	_, fino := statIno(t, filepath.Join(root, "app/new.conf"))
	waitFor(t, 10*time.Second, "the creation event", func() bool {
		for _, ev := range pub.events(t) {
			if ev.Kind == schemas.KindCreation && ev.Ino == fino && ev.ParentIno == ino && ev.Monitored == schemas.MonitoredByParent {
				return true
			}
		}
		return false
	})
}

// TestRealProbesHash: with the probes reporting releases, a file written in a monitored directory gives one
// content event after its last close, whose digest is the SHA-256 of what was written, and whose inode is
// the file's.
func TestRealProbesHash(t *testing.T) {
	probes := loadProbesWith(t, bpf.Options{ReportCloses: true})
	root := t.TempDir()
	pub := &capture{}
	startSensor(t, testConfig(t, root, root+"/**"), Deps{Probes: probes, Publisher: pub})
	name := filepath.Join(root, "hashed.txt")
	writeFile(t, name, "what the last writer left")
	_, ino := statIno(t, name)
	want := sha256.Sum256([]byte("what the last writer left"))
	var got []schemas.RawEvent
	waitFor(t, 10*time.Second, "the content event of "+name, func() bool {
		got = got[:0]
		for _, ev := range pub.events(t) {
			if ev.Kind == schemas.KindContent && ev.Ino == ino {
				ev.Digest = append([]byte(nil), ev.Digest...)
				got = append(got, ev)
			}
		}
		return len(got) > 0
	})
	ev := got[0]
	if len(got) != 1 || ev.HashState != schemas.HashOK || ev.HashAlg != schemas.HashSHA256 || !bytes.Equal(ev.Digest, want[:]) || ev.Size != 25 {
		t.Fatalf("content events %+v, want one ok sha256 %x of 25 bytes", got, want)
	}
}
