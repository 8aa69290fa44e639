package sensor

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/schemas"
)

// loadProbes loads the real probes, or skips saying why they cannot run here.
func loadProbes(t *testing.T) *bpf.Probes {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("loading probes needs root")
	}
	p, err := bpf.Load(bpf.Options{})
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
