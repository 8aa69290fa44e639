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

// TestBindMountView: a host process writes a tracked file through a bind mount of its directory. With the
// monitored directory's mount named (SetMounts), the record carries the path the process used, flagged as
// its view; through the monitored mount itself it carries none. With no mounts named, neither does.
func TestBindMountView(t *testing.T) {
	p := loadForTest(t, Options{})
	c := collect(t, p)
	base, other := t.TempDir(), t.TempDir()
	file := filepath.Join(base, "a.txt")
	must(t, os.WriteFile(file, nil, 0o644))
	must(t, p.TrackPath(base))
	must(t, p.TrackPath(file))
	bind := filepath.Join(other, "bind")
	must(t, os.Mkdir(bind, 0o755))
	must(t, unix.Mount(base, bind, "", unix.MS_BIND, ""))
	t.Cleanup(func() { _ = unix.Unmount(bind, unix.MNT_DETACH) })
	var st unix.Statx_t
	must(t, unix.Statx(unix.AT_FDCWD, base, 0, unix.STATX_MNT_ID, &st))
	appendTo := func(path string) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		must(t, err)
		must(t, f.Close())
	}
	ino := stat(t, file).Ino

	c.marker(t, base)
	appendTo(filepath.Join(bind, "a.txt")) // no mounts named yet: every mount is a monitored one
	must(t, p.SetMounts([]uint32{uint32(st.Mnt_id)}))
	appendTo(filepath.Join(bind, "a.txt"))
	appendTo(file)
	must(t, p.SetMounts(nil))
	appendTo(filepath.Join(bind, "a.txt"))
	got := fileEvents(c.marker(t, base))
	if len(got) != 4 {
		t.Fatalf("got %d records, want 4 opens: %s", len(got), describe(got))
	}
	for i, w := range []struct{ path string }{{""}, {filepath.Join(bind, "a.txt")}, {""}, {""}} {
		flags := Flags(0)
		if w.path != "" {
			flags = FlagPathProcessView
		}
		want{kind: KindOpen, name: "a.txt", ino: ino, why: MonitoredByInode, flags: flags, check: paths(w.path, "")}.match(t, got[i])
	}
}
