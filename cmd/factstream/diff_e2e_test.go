package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/testtime"
)

// envDiffFull makes TestDiffEndToEnd run issue 14's full size: 10,000 files and 1,000 changes. By
// default it runs 2,000 files and 200 changes, to keep CI fast.
const envDiffFull = "FACTSTREAM_DIFF_FULL"

// walked is what a walk of the tree found of one file or directory.
type walked struct {
	path     string
	hash     string // "" for a directory
	mode     uint32 // st_mode
	uid, gid uint32
}

// walkTree walks root and hashes every regular file, by inode.
func walkTree(t *testing.T, root string) map[uint64]walked {
	t.Helper()
	out := map[uint64]walked{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		w := walked{path: p, mode: st.Mode, uid: st.Uid, gid: st.Gid}
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			w.hash = "sha256:" + hex.EncodeToString(sum[:])
		}
		out[st.Ino] = w
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	return out
}

// truthLines is the change set between two walks, by inode, as diffLine writes diff's JSON lines; with
// all, the files written in between (written) that kept their hash are listed too.
func truthLines(before, after map[uint64]walked, written map[string]bool, all bool) []string {
	var out []string
	for ino, b := range before {
		a, ok := after[ino]
		if !ok {
			out = append(out, "removed "+b.path)
			continue
		}
		if a.path != b.path {
			out = append(out, fmt.Sprintf("renamed %s old=%s", a.path, b.path))
		}
		if a.hash != b.hash {
			out = append(out, fmt.Sprintf("content %s %s → %s", a.path, b.hash, a.hash))
		} else if all && written[a.path] {
			out = append(out, fmt.Sprintf("written %s %s", a.path, a.hash))
		}
		if a.mode != b.mode {
			out = append(out, fmt.Sprintf("mode %s 0%o → 0%o", a.path, b.mode, a.mode))
		}
		if a.uid != b.uid || a.gid != b.gid {
			out = append(out, fmt.Sprintf("owner %s %d:%d → %d:%d", a.path, b.uid, b.gid, a.uid, a.gid))
		}
	}
	for ino, a := range after {
		if _, ok := before[ino]; !ok {
			out = append(out, fmt.Sprintf("added %s %s 0%o %d:%d", a.path, a.hash, a.mode, a.uid, a.gid))
		}
	}
	slices.Sort(out)
	return out
}

// diffLine is one of diff's JSON lines in truthLines' form.
func diffLine(ev map[string]any) string {
	p := field(ev, "path")
	switch k := field(ev, "change"); k {
	case "removed":
		return "removed " + p
	case "renamed":
		return fmt.Sprintf("renamed %s old=%s", p, field(ev, "old_path"))
	case "content":
		return fmt.Sprintf("content %s %s → %s%s", p, field(ev, "old_hash"), field(ev, "hash"), field(ev, "hash_state"))
	case "written":
		return fmt.Sprintf("written %s %s", p, field(ev, "hash"))
	case "mode":
		return fmt.Sprintf("mode %s %s → %s", p, field(ev, "old_mode"), field(ev, "mode"))
	case "owner":
		return fmt.Sprintf("owner %s %s:%s → %s:%s", p, field(ev, "old_uid"), field(ev, "old_gid"), field(ev, "uid"), field(ev, "gid"))
	case "added":
		return fmt.Sprintf("added %s %s%s %s %s:%s", p, field(ev, "hash"), field(ev, "hash_state"), field(ev, "mode"), field(ev, "uid"), field(ev, "gid"))
	default:
		b, _ := json.Marshal(ev)
		return "unexpected " + string(b)
	}
}

// waitEvents waits until up has printed, at or after line from, an event "type host_path" for each key
// of want, and returns the index after the last line it read.
func waitEvents(t *testing.T, up *lines, from int, want map[string]bool, what string, timeout time.Duration) int {
	t.Helper()
	missing := maps.Clone(want)
	deadline := time.Now().Add(timeout)
	for {
		evs, _, _ := up.snapshot()
		for ; from < len(evs); from++ {
			delete(missing, field(evs[from], "type")+" "+field(evs[from], "host_path"))
		}
		if len(missing) == 0 {
			return from
		}
		if time.Now().After(deadline) {
			var some []string
			for k := range missing {
				if some = append(some, k); len(some) == 5 {
					break
				}
			}
			t.Fatalf("%s: after %v, %d of %d events still missing from up's output, e.g. %q", what, timeout, len(missing), len(want), some)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDiffEndToEnd (issue 14): `up` watches a tree of files it saw written; a period then adds, removes,
// rewrites with new and with the same content, chmods, chowns, renames and renames into a new directory
// a share of them; `diff --json` of the period must give exactly the change set found by walking and
// hashing the tree at both moments, with --all the rewrites that kept their content too, and from the
// baseline every file there is at the end as added.
func TestDiffEndToEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading probes (and chown) needs root")
	}
	if testing.Short() {
		t.Skip("starts the whole pipeline against the kernel")
	}
	files, changes := 2000, 200
	if os.Getenv(envDiffFull) == "1" {
		files, changes = 10_000, 1_000
	}
	root, data := t.TempDir(), t.TempDir()
	mon := filepath.Join(root, "mon")
	if err := os.Mkdir(mon, 0o755); err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(data, "ready")
	url := fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), testtime.Scaled(15*time.Minute))
	defer cancel()
	probes := e2eProbes()
	up, upOut, upErr, _ := startUp(t, ctx, probes, "--json", "--path", mon, "--path", mon+"/**", "--data-dir", data,
		"--ready-file", ready, "--listen", strings.TrimPrefix(url, "nats://"), "--log-level", "warn")
	defer func() { _ = up.Process.Signal(os.Interrupt) }()

	// The files, written while up watches, so that the index knows each one's hash before T1.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const dirs = 20
	path := func(i int) string { return filepath.Join(mon, fmt.Sprintf("d%02d", i%dirs), fmt.Sprintf("f%05d", i)) }
	for d := range dirs {
		must(os.Mkdir(filepath.Join(mon, fmt.Sprintf("d%02d", d)), 0o755))
	}
	want := map[string]bool{}
	for i := range files {
		must(os.WriteFile(path(i), fmt.Appendf(nil, "file %d\n", i), 0o644))
		want["content "+path(i)] = true
	}
	started := time.Now()
	cursor := waitEvents(t, upOut, 0, want, "the files' hashes", testtime.Scaled(5*time.Minute))
	t.Logf("%d files hashed after %v", files, time.Since(started).Round(time.Millisecond))
	time.Sleep(100 * time.Millisecond)
	t1 := time.Now()
	before := walkTree(t, mon)
	time.Sleep(100 * time.Millisecond)

	// The changes, each kind on its own files. Removals come last so that no new file reuses a removed
	// inode (the walks compare by inode).
	per := changes / 8
	idx := func(kind, j int) int { return kind*per + j }
	want = map[string]bool{}
	written := map[string]bool{}
	newDir := filepath.Join(mon, "new")
	must(os.Mkdir(newDir, 0o750))
	want["mkdir "+newDir] = true
	for j := range per {
		added := filepath.Join(mon, fmt.Sprintf("d%02d", j%dirs), fmt.Sprintf("added%05d", j))
		must(os.WriteFile(added, fmt.Appendf(nil, "added %d\n", j), 0o640))
		want["content "+added] = true

		p := path(idx(1, j))
		must(os.WriteFile(p, fmt.Appendf(nil, "changed %d\n", j), 0o644))
		want["content "+p] = true

		p = path(idx(2, j))
		must(os.WriteFile(p, fmt.Appendf(nil, "file %d\n", idx(2, j)), 0o644)) // the same bytes again
		want["content "+p], written[p] = true, true

		p = path(idx(3, j))
		must(os.Chmod(p, 0o600))
		want["permission "+p] = true

		p = path(idx(4, j))
		must(os.Lchown(p, 1000, 1000))
		want["ownership "+p] = true

		p = path(idx(5, j))
		must(os.Rename(p, p+".moved"))
		want["rename "+p+".moved"] = true

		p = path(idx(6, j))
		to := filepath.Join(newDir, filepath.Base(p))
		must(os.Rename(p, to))
		want["rename "+to] = true
	}
	for j := range per {
		p := path(idx(7, j))
		must(os.Remove(p))
		want["unlink "+p] = true
	}
	started = time.Now()
	waitEvents(t, upOut, cursor, want, "the changes' events", testtime.Scaled(5*time.Minute))
	t.Logf("%d changes seen after %v", len(want), time.Since(started).Round(time.Millisecond))
	time.Sleep(100 * time.Millisecond)
	t2 := time.Now()
	after := walkTree(t, mon)

	diff := func(args ...string) []string {
		t.Helper()
		out := &lockedBuffer{}
		start, what := time.Now(), strings.Join(args, " ")
		args = append([]string{"diff", "--nats", url, "--data-dir", data, "--log-level", "error", "--host", shortHost(),
			"--json", "--no-progress", "--to", t2.Format(time.RFC3339Nano)}, args...)
		if _, err := runCmd(ctx, out, args...); err != nil {
			t.Fatalf("diff %q: %v\nup's stderr:\n%s", args, err, upErr.String())
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var ev map[string]any
			if err := json.Unmarshal([]byte(l), &ev); err != nil {
				t.Fatalf("diff printed a line that is not JSON: %q", l)
			}
			got = append(got, diffLine(ev))
		}
		slices.Sort(got)
		t.Logf("diff %s: %d lines in %v", what, len(got), time.Since(start).Round(time.Millisecond))
		return got
	}
	check := func(what string, got, want []string) {
		t.Helper()
		if slices.Equal(got, want) {
			return
		}
		var extra, missing []string
		for _, g := range got {
			if _, ok := slices.BinarySearch(want, g); !ok {
				extra = append(extra, g)
			}
		}
		for _, w := range want {
			if _, ok := slices.BinarySearch(got, w); !ok {
				missing = append(missing, w)
			}
		}
		t.Errorf("%s: %d lines, ground truth %d; not in the ground truth (%d):\n%s\nmissing (%d):\n%s", what, len(got), len(want),
			len(extra), strings.Join(extra[:min(len(extra), 20)], "\n"), len(missing), strings.Join(missing[:min(len(missing), 20)], "\n"))
	}
	truth := truthLines(before, after, written, false)
	if len(truth) != 1+changes/8*8-changes/8 { // the new directory, and one line a change but the same-content rewrites
		t.Errorf("ground truth has %d lines: the changes did not happen as planned", len(truth))
	}
	from := t1.Format(time.RFC3339Nano)
	check("diff of the period", diff("--from", from), truth)
	check("diff --all of the period", diff("--all", "--from", from), truthLines(before, after, written, true))
	check("diff from the baseline", diff("--from", "baseline"), truthLines(nil, after, nil, false))
}
