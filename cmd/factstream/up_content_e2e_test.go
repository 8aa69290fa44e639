package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/testtime"
	"golang.org/x/sys/unix"
)

// contentStyle is one way of writing a file that issue 14 names: a first version (setup) and, for the
// styles that change a file, a second one (change). want is each file's content once its style is done.
type contentStyle struct {
	name   string
	setup  string // shell script run in the monitored tree; $N is the number of files
	change string // the second version, after every first version's hash came; empty for none
	want   func(i int) string
	// old says the change keeps the inode, so its content event carries the first version's hash.
	old func(i int) string
}

// contentStyles write each of their $N files differently. Every script runs in the monitored tree.
func contentStyles(other string) []contentStyle {
	// line formats one version of file i; every verb of format is i.
	line := func(format string) func(int) string {
		return func(i int) string { return strings.ReplaceAll(format, "%d", strconv.Itoa(i)) }
	}
	return []contentStyle{
		{name: "write", setup: `for i in $(seq $N); do echo "write $i" > write/f$i; done`, want: line("write %d\n")},
		{name: "exit", setup: `for i in $(seq $N); do sh -c "exec 3>exit/f$i; echo exit $i >&3"; done`, want: line("exit %d\n")},
		{name: "trunc", setup: `for i in $(seq $N); do echo "old $i" > trunc/f$i; done`,
			change: `for i in $(seq $N); do echo "new $i" > trunc/f$i; done`, want: line("new %d\n"), old: line("old %d\n")},
		{name: "append", setup: `for i in $(seq $N); do echo "a $i" > append/f$i; done`,
			change: `for i in $(seq $N); do echo "b $i" >> append/f$i; done`, want: line("a %d\nb %d\n"), old: line("a %d\n")},
		{name: "cp", setup: `for i in $(seq $N); do echo "copied $i" > ` + other + `/c$i; cp ` + other + `/c$i cp/f$i; done`,
			want: line("copied %d\n")},
		{name: "sed", setup: `for i in $(seq $N); do echo "before $i" > sed/f$i; done`,
			change: `for i in $(seq $N); do sed -i s/before/after/ sed/f$i; done`, want: line("after %d\n")},
		{name: "vim", setup: `for i in $(seq $N); do echo "v1 $i" > vim/f$i; done`,
			change: `for i in $(seq $N); do echo "v2 $i" > vim/.f$i.swp && mv vim/.f$i.swp vim/f$i; done`, want: line("v2 %d\n")},
		{name: "newdir", setup: `mkdir -p newdir/sub && for i in $(seq $N); do echo "new dir $i" > newdir/sub/f$i; done`,
			want: line("new dir %d\n")},
		{name: "renamed-open", setup: `for i in $(seq $N); do sh -c "exec 3>renamed-open/a$i; echo r1 $i >&3; mv renamed-open/a$i renamed-open/f$i; echo r2 $i >&3; exec 3>&-"; done`,
			want: line("r1 %d\nr2 %d\n")},
	}
}

// fileOf is where style s leaves file i.
func (s contentStyle) fileOf(mon string, i int) string {
	if s.name == "newdir" {
		return filepath.Join(mon, "newdir", "sub", "f"+strconv.Itoa(i))
	}
	return filepath.Join(mon, s.name, "f"+strconv.Itoa(i))
}

// TestUpContentEndToEnd runs `factstream up --json` and writes 1,008 monitored files in the ways issue 14
// names (write and close; exit without close; an O_TRUNC rewrite; an append; cp; sed -i, which replaces the
// file by a new inode; a vim-style save through a new file renamed over it; a directory made after start;
// a file renamed while still open). Each file gives exactly one content event after its last close, whose
// hash is the SHA-256 of what it holds, and a rewrite keeping the inode carries the first version's hash as
// old_hash.
func TestUpContentEndToEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading probes needs root")
	}
	if testing.Short() {
		t.Skip("starts the whole pipeline against the kernel")
	}
	const perStyle = 112 // 9 styles: 1,008 files
	root, data := t.TempDir(), t.TempDir()
	mon, other := filepath.Join(root, "mon"), filepath.Join(root, "other")
	styles := contentStyles(other)
	for _, d := range []string{mon, other} {
		must(t, os.Mkdir(d, 0o755))
	}
	for _, s := range styles {
		if s.name != "newdir" {
			must(t, os.Mkdir(filepath.Join(mon, s.name), 0o755))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), testtime.Scaled(5*time.Minute))
	defer cancel()
	probes := os.Getenv(envE2EProbes)
	if probes == "" {
		probes = "auto"
	}
	ready := filepath.Join(data, "ready")
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	up, out, upErr, exited := startUp(t, ctx, probes, "--json", "--path", mon, "--path", mon+"/**", "--data-dir", data,
		"--ready-file", ready, "--listen", listen, "--log-level", "warn")

	sh := func(script string) {
		t.Helper()
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir, cmd.Env = mon, append(os.Environ(), "N="+strconv.Itoa(perStyle))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, b)
		}
	}
	// phase runs one script per style, then checks one content event per file of the styles it concerns.
	phase := func(name string, script func(contentStyle) string, final func(contentStyle) bool) {
		t.Helper()
		evs, _, _ := out.snapshot()
		from := len(evs)
		for _, s := range styles {
			if sc := script(s); sc != "" {
				sh(sc)
			}
		}
		expect := map[uint64]expected{}
		for _, s := range styles {
			if script(s) == "" {
				continue
			}
			for i := 1; i <= perStyle; i++ {
				name := s.fileOf(mon, i)
				content, err := os.ReadFile(name)
				must(t, err)
				e := expected{file: name, hash: sha256Of(string(content))}
				if final(s) {
					if want := s.want(i); string(content) != want {
						t.Fatalf("%s holds %q, want %q: the style's script is wrong", name, content, want)
					}
					if s.old != nil && s.change != "" {
						e.old = sha256Of(s.old(i))
					}
				}
				var st unix.Stat_t
				must(t, unix.Stat(name, &st))
				expect[st.Ino] = e
			}
		}
		checkContents(t, name, out, from, expect, upErr)
	}
	phase("first versions", func(s contentStyle) string { return s.setup }, func(s contentStyle) bool { return s.change == "" })
	phase("second versions", func(s contentStyle) string { return s.change }, func(contentStyle) bool { return true })

	stopUp(t, up, exited, upErr)
}

// expected is the content event one inode must give.
type expected struct {
	file string
	hash string
	old  string // old_hash; empty for a new inode
}

// checkContents waits until every inode of expect has a content event after line from, gives stragglers a
// moment, and then requires exactly one per inode, with the hash and old hash expected.
func checkContents(t *testing.T, phase string, out *lines, from int, expect map[uint64]expected, upErr *lockedBuffer) {
	t.Helper()
	byIno := func() map[uint64][]map[string]any {
		evs, _, _ := out.snapshot()
		m := map[uint64][]map[string]any{}
		for _, ev := range evs[from:] {
			if field(ev, "type") != "content" {
				continue
			}
			ino, _ := strconv.ParseUint(field(ev, "inode.ino"), 10, 64)
			if _, ok := expect[ino]; ok {
				m[ino] = append(m[ino], ev)
			}
		}
		return m
	}
	limit := testtime.Scaled(2 * time.Minute)
	deadline := time.Now().Add(limit)
	for len(byIno()) < len(expect) {
		if time.Now().After(deadline) {
			got := byIno()
			var missing []string
			for ino, e := range expect {
				if len(got[ino]) == 0 && len(missing) < 10 {
					missing = append(missing, e.file)
				}
			}
			t.Fatalf("%s: content events for %d of %d files within %v; none for %s ...\nstderr:\n%s", phase, len(got), len(expect),
				limit, strings.Join(missing, ", "), upErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(testtime.Scaled(2 * time.Second)) // a second event of a file would come within the hasher's quiet window
	bad := 0
	for ino, evs := range byIno() {
		e := expect[ino]
		ev := evs[0]
		ok := len(evs) == 1 && field(ev, "hash") == e.hash && field(ev, "old_hash") == e.old && field(ev, "hash_state") == "ok"
		if !ok && bad < 10 {
			t.Errorf("%s: %s: %d content events, the first with hash %s old_hash %q state %s; want one with hash %s old_hash %q",
				phase, e.file, len(evs), field(ev, "hash"), field(ev, "old_hash"), field(ev, "hash_state"), e.hash, e.old)
		}
		if !ok {
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d files without exactly one right content event", phase, bad, len(expect))
	}
	t.Logf("%s: %d files, one content event each with the right hash", phase, len(expect))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestUpDriftEndToEnd: a file changed while `factstream up` was stopped (no pinned probes, so nothing saw
// it) is reported by the next start's scan as one drift event with the hash from before and the hash it
// has now, and the files already there when up first started print nothing.
func TestUpDriftEndToEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading probes needs root")
	}
	if testing.Short() {
		t.Skip("starts the whole pipeline against the kernel")
	}
	root, data := t.TempDir(), t.TempDir()
	mon := filepath.Join(root, "mon")
	must(t, os.Mkdir(mon, 0o755))
	keep, other := filepath.Join(mon, "keep.txt"), filepath.Join(mon, "other.txt")
	must(t, os.WriteFile(keep, []byte("before\n"), 0o644))
	must(t, os.WriteFile(other, []byte("unchanged\n"), 0o644))
	probes := os.Getenv(envE2EProbes)
	if probes == "" {
		probes = "auto"
	}
	run := func(what string) (*lines, func()) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), testtime.Scaled(2*time.Minute))
		ready, metrics := filepath.Join(data, "ready-"+what), fmt.Sprintf("127.0.0.1:%d", freePort(t))
		up, out, upErr, exited := startUp(t, ctx, probes, "--json", "--path", mon, "--path", mon+"/**", "--data-dir", data,
			"--ready-file", ready, "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--log-level", "warn", "--metrics-listen", metrics)
		// The scan's hashes come in the background, after ready.
		waitMetricAbove(t, metrics, "factstream_sensor_hash_hashed_total", 1, testtime.Scaled(30*time.Second))
		return out, func() { stopUp(t, up, exited, upErr); cancel() }
	}
	out, stop := run("first")
	time.Sleep(testtime.Scaled(2 * time.Second)) // the resolver's lateness: what it would print, it has
	stop()
	if evs, raw, _ := out.snapshot(); len(evs) != 0 {
		t.Fatalf("the first start printed %d lines for files already there, want none:\n%s", len(evs), strings.Join(raw, "\n"))
	}
	must(t, os.WriteFile(keep, []byte("changed while nothing watched\n"), 0o644))
	out, stop = run("second")
	defer stop()
	i, _ := waitFor(t, out, 0, want{find: map[string]string{"type": "drift", "path": keep}}, testtime.Scaled(30*time.Second))
	if i < 0 {
		_, raw, _ := out.snapshot()
		t.Fatalf("no drift of %s after the restart; up printed:\n%s", keep, strings.Join(raw, "\n"))
	}
	evs, raw, _ := out.snapshot()
	ev := evs[i]
	for k, v := range map[string]string{"host_path": keep, "hash": sha256Of("changed while nothing watched\n"), "old_hash": sha256Of("before\n"),
		"size": "30", "old_size": "7", "hash_state": "ok"} {
		if got := get(ev, k); got != v {
			t.Errorf("drift %s = %q, want %q: %s", k, got, v, raw[i])
		}
	}
	time.Sleep(testtime.Scaled(2 * time.Second))
	evs, raw, _ = out.snapshot()
	for j := range evs {
		if j != i { // a gap would mean the clean restart skipped sequence numbers
			t.Errorf("unexpected line after the restart: %s", raw[j])
		}
	}
}
