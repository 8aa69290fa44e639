package bpf

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/factstream/factstream/internal/containertest"
	"golang.org/x/sys/unix"
)

// TestContainerView: a process in another mount namespace (a container with a monitored directory
// bind-mounted at /data) writes a tracked file. The record carries the path as that process named it,
// flagged as its view, because user space cannot rebuild it; the host's own processes get no path for
// the same file.
func TestContainerView(t *testing.T) {
	var ns unix.Stat_t
	must(t, unix.Stat("/proc/self/ns/mnt", &ns))
	p := loadForTest(t, Options{HostMountNS: uint32(ns.Ino)})
	c := collect(t, p)
	base, ctr := t.TempDir(), t.TempDir()
	file := filepath.Join(base, "a.txt")
	must(t, os.WriteFile(file, nil, 0o644))
	must(t, os.Mkdir(filepath.Join(ctr, "data"), 0o755))
	must(t, p.TrackPath(base))
	must(t, p.TrackPath(file))
	ino := stat(t, file).Ino

	c.marker(t, base)
	if err := containertest.Run(ctr, base, func() error {
		f, err := os.OpenFile("/data/a.txt", os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		return f.Close()
	}); err != nil {
		t.Fatalf("writing from the container: %v", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	must(t, err)
	must(t, f.Close())
	got := fileEvents(c.marker(t, base))
	if len(got) != 2 {
		t.Fatalf("got %d records, want the container's open and the host's: %s", len(got), describe(got))
	}
	want{kind: KindOpen, name: "a.txt", ino: ino, why: MonitoredByInode, flags: FlagPathProcessView}.match(t, got[0])
	if string(got[0].Path) != "/data/a.txt" || !got[0].Has(FlagPathProcessView) {
		t.Errorf("container's open: path %q, flags %#x; want /data/a.txt with FlagPathProcessView", got[0].Path, got[0].Flags)
	}
	want{kind: KindOpen, name: "a.txt", ino: ino, why: MonitoredByInode}.match(t, got[1])
	if len(got[1].Path) != 0 || got[1].Has(FlagPathProcessView) {
		t.Errorf("host's open: path %q, flags %#x; want neither", got[1].Path, got[1].Flags)
	}
}
