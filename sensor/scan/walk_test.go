package scan

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/factstream/factstream/glob"
)

// collected is what a sink saw, in order.
type collected struct {
	mu      sync.Mutex
	entries []Entry
}

func (c *collected) sink(es []Entry) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range es {
		e.Name = bytes.Clone(e.Name)
		c.entries = append(c.entries, e)
	}
	return nil
}

func walkT(t testing.TB, pats []string, opts Options) (*collected, Stats) {
	t.Helper()
	set, err := glob.NewSet("paths", pats)
	if err != nil {
		t.Fatal(err)
	}
	c := &collected{}
	st, err := Walk(context.Background(), set, opts, c.sink)
	if err != nil {
		t.Fatal(err)
	}
	return c, st
}

func mustDo(t testing.TB, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func ino(t testing.TB, path string) uint64 {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// tree makes a test tree under root and returns every path in it (root included) relative to root.
func tree(t testing.TB, root string) []string {
	t.Helper()
	weird := "bad\xff\xfename\nwith newline"
	dirs := []string{"app", "app/conf.d", "app/data", "app/data/deep", "app/data/deep/er", "app/" + weird, "other"}
	for _, d := range dirs {
		mustDo(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	files := []string{"app/a.conf", "app/b.txt", "app/conf.d/x.conf", "app/data/deep/er/f", "app/" + weird + "/" + weird, "other/o.conf", "top.conf"}
	for _, f := range files {
		mustDo(t, os.WriteFile(filepath.Join(root, f), []byte("x"), 0o644))
	}
	mustDo(t,
		os.Link(filepath.Join(root, "app/a.conf"), filepath.Join(root, "app/data/hard.conf")),
		os.Symlink("/etc/passwd", filepath.Join(root, "app/link.conf")),
		os.Symlink("../other", filepath.Join(root, "app/dirlink")),
	)
	out := []string{"."}
	out = append(out, dirs...)
	out = append(out, files...)
	return append(out, "app/data/hard.conf", "app/link.conf", "app/dirlink")
}

// checkLinks checks that every entry is reported once per name, that each non-root entry's parent was
// reported before it with the inode ParentIno names, and that roots carry their paths.
func checkLinks(t *testing.T, c *collected) map[string]Entry {
	t.Helper()
	byPath := map[string]Entry{}
	dirIno := map[string]uint64{}
	for _, e := range c.entries {
		p := e.Path
		if !e.Root {
			p = join(e.Dir, e.Name)
			if want, ok := dirIno[e.Dir]; !ok || want != e.ParentIno {
				t.Errorf("%q: parent %q not reported before it (or ino %d != %d)", p, e.Dir, e.ParentIno, want)
			}
		}
		if _, dup := byPath[p]; dup {
			t.Errorf("%q reported twice", p)
		}
		byPath[p] = e
		if e.IsDir() {
			dirIno[p] = e.Ino
		}
	}
	return byPath
}

func TestWalkEverything(t *testing.T) {
	root := t.TempDir()
	all := tree(t, root)
	c, st := walkT(t, []string{root + "/**"}, Options{Workers: 3})
	byPath := checkLinks(t, c)
	if len(byPath) != len(all) || st.Entries != int64(len(all)) {
		t.Errorf("reported %d entries (stats %d), want %d", len(byPath), st.Entries, len(all))
	}
	for _, rel := range all {
		p := filepath.Join(root, rel)
		e, ok := byPath[p]
		if !ok {
			t.Errorf("%q not reported", p)
			continue
		}
		if e.Ino != ino(t, p) {
			t.Errorf("%q: ino %d, want %d", p, e.Ino, ino(t, p))
		}
	}
	if r := byPath[root]; !r.Root || r.Path != root {
		t.Errorf("the root entry is %+v, want a root with its path", r)
	}
	if e := byPath[root+"/app/link.conf"]; e.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		t.Errorf("symlink reported with mode %o", e.Mode)
	}
	if a, h := byPath[root+"/app/a.conf"], byPath[root+"/app/data/hard.conf"]; a.Ino != h.Ino || a.Nlink != 2 {
		t.Errorf("hard links: %d/%d nlink %d", a.Ino, h.Ino, a.Nlink)
	}
}

func TestWalkWildcardParents(t *testing.T) {
	root := t.TempDir()
	tree(t, root)
	c, _ := walkT(t, []string{root + "/app/*.conf", root + "/*/conf.d/**"}, Options{})
	byPath := checkLinks(t, c)
	var got []string
	for p := range byPath {
		got = append(got, strings.TrimPrefix(p, root))
	}
	slices.Sort(got)
	// app is the base of the first pattern and could hold matches of the second: tracked, a root.
	// Its children other than *.conf and conf.d are not reported; other/ could hold other/conf.d.
	// The root is the second pattern's base; app is the first's and could hold matches of the
	// second; other could hold other/conf.d. Files that match neither are not reported.
	want := []string{"", "/app", "/app/a.conf", "/app/conf.d", "/app/conf.d/x.conf", "/app/link.conf", "/other"}
	if !slices.Equal(got, want) {
		t.Errorf("reported %q\nwant %q", got, want)
	}
	if !byPath[root].Root || byPath[root+"/app"].Root {
		t.Errorf("want the base %q as the only root", root)
	}
}

func TestWalkHostRoot(t *testing.T) {
	hostRoot := t.TempDir()
	mustDo(t, os.MkdirAll(filepath.Join(hostRoot, "srv/app/sub"), 0o755),
		os.WriteFile(filepath.Join(hostRoot, "srv/app/sub/f"), nil, 0o644))
	c, st := walkT(t, []string{"/srv/app/**", "/missing/**"}, Options{HostRoot: hostRoot})
	byPath := checkLinks(t, c)
	for _, p := range []string{"/srv/app", "/srv/app/sub", "/srv/app/sub/f"} {
		if _, ok := byPath[p]; !ok {
			t.Errorf("%q not reported as a host path (have %v)", p, byPath)
		}
	}
	if r := byPath["/srv/app"]; !r.Root || r.Path != "/srv/app" {
		t.Errorf("root %+v", r)
	}
	if !slices.Equal(st.Missing, []string{"/missing"}) {
		t.Errorf("missing roots %q", st.Missing)
	}
}

func TestWalkDevFilter(t *testing.T) {
	root := t.TempDir()
	tree(t, root)
	c, _ := walkT(t, []string{root + "/**"}, Options{Devs: func(uint64) bool { return false }})
	if len(c.entries) != 0 {
		t.Errorf("a filter refusing every filesystem let %d entries through", len(c.entries))
	}
}

func TestWalkLiteralFile(t *testing.T) {
	root := t.TempDir()
	tree(t, root)
	c, _ := walkT(t, []string{root + "/top.conf"}, Options{})
	if len(c.entries) != 1 || !c.entries[0].Root || c.entries[0].Path != root+"/top.conf" {
		t.Fatalf("entries %+v, want only the file as a root", c.entries)
	}
}

// BenchmarkWalk walks a tree of 1,000 directories of 50 files each (on the default temporary
// directory's filesystem, ext4 here) and reports entries per second. Creating files is slow on this
// machine (about 1 ms each), so the tree is built once and kept in os.TempDir() for later runs; one
// warm-up walk runs before the timed ones so that every run measures the same warm caches.
func BenchmarkWalk(b *testing.B) {
	root := benchTree(b, 1000, 50)
	set, err := glob.NewSet("paths", []string{root + "/**"})
	mustDo(b, err)
	walk := func() int64 {
		st, err := Walk(context.Background(), set, Options{}, func([]Entry) error { return nil })
		mustDo(b, err)
		return st.Entries
	}
	walk()
	var entries int64
	b.ResetTimer()
	for b.Loop() {
		for range 3 {
			entries += walk()
		}
	}
	b.ReportMetric(float64(entries)/b.Elapsed().Seconds(), "entries/s")
}

// benchTree returns a tree of dirs directories of files files each, building it on first use.
func benchTree(b *testing.B, dirs, files int) string {
	root := filepath.Join(os.TempDir(), fmt.Sprintf("factstream-scan-bench-%dx%d", dirs, files))
	done := filepath.Join(root, ".complete")
	if _, err := os.Stat(done); err == nil {
		return root
	}
	b.Logf("building the benchmark tree in %s (once)", root)
	mustDo(b, os.RemoveAll(root))
	for d := range dirs {
		dir := filepath.Join(root, fmt.Sprintf("d%02d/e%03d", d%20, d))
		mustDo(b, os.MkdirAll(dir, 0o755))
		for f := range files {
			fd, err := os.Create(filepath.Join(dir, fmt.Sprintf("file-%03d.conf", f)))
			mustDo(b, err, fd.Close())
		}
	}
	mustDo(b, os.WriteFile(done, nil, 0o644))
	return root
}
