package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/containertest"
	"github.com/factstream/factstream/internal/testtime"
	"golang.org/x/sys/unix"
)

// execEnv makes the test binary run as factstream: the end-to-end test starts it as a subprocess with
// the command line after the binary's name.
const execEnv = "FACTSTREAM_TEST_EXEC"

// The end-to-end test's environment, set by the VM harness (integration/vm): envE2EProbes names the
// probe set up must run (then the test fails rather than skips where it cannot load, and every event
// must name it). Every wait is stretched by package testtime's scale, which the harness sets for kernels
// under software emulation.
const envE2EProbes = "FACTSTREAM_E2E_PROBES"

func TestMain(m *testing.M) {
	if spec := os.Getenv(nobodyEnv); spec != "" {
		if err := nobodyChecks(spec); err != nil {
			fmt.Fprintln(os.Stderr, "checks as nobody:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(execEnv) == "1" {
		if err := run(); err != nil {
			fmt.Fprintln(os.Stderr, "factstream:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// lines collects the JSON lines a process prints, with when each arrived.
type lines struct {
	mu     sync.Mutex
	events []map[string]any
	raw    []string
	at     []time.Time
	bad    []string
}

func (l *lines) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		now := time.Now()
		var ev map[string]any
		err := json.Unmarshal(sc.Bytes(), &ev)
		l.mu.Lock()
		if err != nil {
			l.bad = append(l.bad, sc.Text())
		} else {
			l.events, l.raw, l.at = append(l.events, ev), append(l.raw, sc.Text()), append(l.at, now)
		}
		l.mu.Unlock()
	}
}

func (l *lines) snapshot() ([]map[string]any, []string, []time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events), slices.Clone(l.raw), slices.Clone(l.at)
}

// field returns a dotted field of an event as text; "bytes" of a path field decodes its _b64 twin
// when there is one, so the comparison is on the exact bytes.
func field(ev map[string]any, key string) string {
	var cur any = ev
	parts := strings.Split(key, ".")
	for i, p := range parts {
		m, ok := cur.(map[string]any)
		if !ok {
			return "<missing>"
		}
		if i == len(parts)-1 {
			if b64, ok := m[p+"_b64"].(string); ok {
				b, err := base64.StdEncoding.DecodeString(b64)
				if err != nil {
					return "<bad base64>"
				}
				return string(b)
			}
		}
		if cur, ok = m[p]; !ok {
			return "<missing>"
		}
	}
	switch v := cur.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(cur)
}

// want is one expected event: the first event after the previous match whose find fields all equal
// is the one; then every check field must equal too. "perm" is the permission bits of mode.
type want struct {
	find  map[string]string
	check map[string]string
}

func permOf(ev map[string]any) string {
	m, err := strconv.ParseUint(field(ev, "mode"), 8, 32)
	if err != nil {
		return "<bad mode>"
	}
	return fmt.Sprintf("%04o", m&0o7777)
}

func get(ev map[string]any, key string) string {
	if key == "perm" {
		return permOf(ev)
	}
	return field(ev, key)
}

// TestUpEndToEnd runs `factstream up --json` on this machine's kernel, performs the rows of
// BEHAVIOUR.md's example table in a temporary tree, and compares the JSON lines field by field; then
// `factstream tail --json` on the same server must print the same lines. It skips where the probes
// cannot load.
func TestUpEndToEnd(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading probes needs root")
	}
	if testing.Short() {
		t.Skip("starts the whole pipeline against the kernel")
	}
	root, data := t.TempDir(), t.TempDir()
	mon, other := filepath.Join(root, "mon"), filepath.Join(root, "other")
	for _, d := range []string{mon, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ready := filepath.Join(data, "ready")
	url := fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), testtime.Scaled(90*time.Second))
	defer cancel()
	probes := e2eProbes()
	ctr := filepath.Join(root, "ctr") // a container's root, with mon bind-mounted at /data
	if err := os.MkdirAll(filepath.Join(ctr, "data"), 0o755); err != nil {
		t.Fatal(err)
	}

	bind := filepath.Join(root, "bind") // mon bind-mounted again in the host's own mount namespace
	if err := os.Mkdir(bind, 0o755); err != nil {
		t.Fatal(err)
	}
	metrics := fmt.Sprintf("127.0.0.1:%d", freePort(t))

	start := time.Now()
	up, upOut, upErr, exited := startUp(t, ctx, probes, "--json", "--path", mon, "--path", mon+"/**", "--data-dir", data,
		"--ready-file", ready, "--listen", strings.TrimPrefix(url, "nats://"), "--log-level", "warn", "--metrics-listen", metrics)
	t.Logf("up ready after %v", time.Since(start).Round(time.Millisecond))

	tail, tailOut, tailErr := startFactstream(t, ctx, "tail", "--json", "--nats", url, "--data-dir", data, "--since", "all",
		"--path", mon+"/**", "--path", mon, "--path", other+"/**")

	sh := func(script string) {
		t.Helper()
		cmd := exec.Command("sh", "-c", script)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	p := func(rel string) string { return filepath.Join(root, rel) }
	odd := "mon/n\xff\nl.txt" // invalid UTF-8 and a newline
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		do   func()
		what string
		want []want
	}{
		{func() { sh("echo hi > mon/a.txt") }, "echo hi > mon/a.txt", []want{
			{find: map[string]string{"type": "creation", "path": p("mon/a.txt")}, check: map[string]string{"host_path": p("mon/a.txt"), "perm": "0644", "process.comm": "sh"}},
			// Once the last writer has closed it, the sensor hashes what it left.
			{find: map[string]string{"type": "content", "path": p("mon/a.txt")}, check: map[string]string{"host_path": p("mon/a.txt"),
				"hash": sha256Of("hi\n"), "old_hash": "", "hash_state": "ok", "size": "3", "process.comm": "sh"}}}},
		{func() { sh("echo more >> mon/a.txt") }, "echo more >> mon/a.txt", []want{
			{find: map[string]string{"type": "open", "path": p("mon/a.txt")}, check: map[string]string{"host_path": p("mon/a.txt")}},
			{find: map[string]string{"type": "content", "path": p("mon/a.txt")}, check: map[string]string{"hash": sha256Of("hi\nmore\n"),
				"old_hash": sha256Of("hi\n"), "hash_state": "ok", "size": "8"}}}},
		{func() { sh("cat mon/a.txt >/dev/null") }, "cat mon/a.txt", nil},
		{func() { sh("mkdir -p mon/x/y/z && touch mon/x/y/z/f") }, "mkdir -p mon/x/y/z && touch mon/x/y/z/f", []want{
			{find: map[string]string{"type": "mkdir", "path": p("mon/x")}, check: map[string]string{"host_path": p("mon/x")}},
			{find: map[string]string{"type": "mkdir", "path": p("mon/x/y")}, check: map[string]string{"host_path": p("mon/x/y")}},
			{find: map[string]string{"type": "mkdir", "path": p("mon/x/y/z")}, check: map[string]string{"host_path": p("mon/x/y/z")}},
			{find: map[string]string{"type": "creation", "path": p("mon/x/y/z/f")}, check: map[string]string{"host_path": p("mon/x/y/z/f"), "process.comm": "touch"}}}},
		{func() { sh("mkdir other/d && touch other/d/f other/f") }, "mkdir other/d && touch other/d/f", nil},
		{func() { sh("mv other/f mon/f") }, "mv other/f mon/f", []want{
			{find: map[string]string{"type": "rename", "host_path": p("mon/f")}, check: map[string]string{"old.path": p("other/f"), "old.host_path": "", "process.comm": "mv"}}}},
		{func() { sh("mv mon/f other/f") }, "mv mon/f other/f", []want{
			{find: map[string]string{"type": "rename", "old.host_path": p("mon/f")}, check: map[string]string{"path": p("other/f"), "host_path": "", "old.path": p("mon/f")}}}},
		{func() {
			scans := scrape(t, metrics, "factstream_sensor_scans_total")
			sh("mkdir -p other/t/sub && mv other/t mon/t")
			// The sensor rescans what moved in; files below it are then tracked and named.
			waitMetricAbove(t, metrics, "factstream_sensor_scans_total", scans, testtime.Scaled(30*time.Second))
			sh("echo x > mon/t/sub/f")
		}, "mv other/t mon/t; echo x > mon/t/sub/f", []want{
			{find: map[string]string{"type": "rename", "host_path": p("mon/t")}, check: map[string]string{"old.path": p("other/t"), "old.host_path": ""}},
			{find: map[string]string{"type": "creation", "path": p("mon/t/sub/f")}, check: map[string]string{"host_path": p("mon/t/sub/f")}}}},
		{func() {
			sh("echo in > mon/xin && echo out > other/xout")
			if err := unix.Renameat2(unix.AT_FDCWD, p("mon/xin"), unix.AT_FDCWD, p("other/xout"), unix.RENAME_EXCHANGE); err != nil {
				t.Fatalf("exchanging mon/xin and other/xout: %v", err)
			}
		}, "exchange mon/xin and other/xout", []want{
			{find: map[string]string{"type": "creation", "path": p("mon/xin")}},
			{find: map[string]string{"type": "rename", "path": p("other/xout")}, check: map[string]string{"host_path": "", "old.path": p("mon/xin"), "old.host_path": p("mon/xin")}},
			{find: map[string]string{"type": "rename", "path": p("mon/xin")}, check: map[string]string{"host_path": p("mon/xin"), "old.path": p("other/xout"), "old.host_path": ""}}}},
		{func() { sh("echo h > other/h && ln other/h mon/h") }, "ln other/h mon/h", []want{
			{find: map[string]string{"type": "link", "path": p("mon/h")}, check: map[string]string{"host_path": p("mon/h"), "target": p("other/h")}}}},
		{func() { sh("chmod 600 mon/a.txt") }, "chmod 600 mon/a.txt", []want{
			{find: map[string]string{"type": "permission", "path": p("mon/a.txt")}, check: map[string]string{"host_path": p("mon/a.txt"), "perm": "0600"}}}},
		{func() {
			err := containertest.Run(ctr, mon, func() error {
				f, err := os.OpenFile("/data/a.txt", os.O_WRONLY|os.O_APPEND, 0)
				if err != nil {
					return err
				}
				_, err = f.WriteString("from a container\n")
				return errors.Join(err, f.Close())
			})
			if err != nil {
				t.Fatalf("writing /data/a.txt in a container: %v", err)
			}
		}, "a container with mon at /data writes /data/a.txt", []want{
			// The writer is this test process, older than up: the sensor's process scan names its exe.
			{find: map[string]string{"type": "open", "path": "/data/a.txt"}, check: map[string]string{"host_path": p("mon/a.txt"), "monitored": "inode",
				"process.exe": self}}}},
		{func() {
			if err := unix.Mount(mon, bind, "", unix.MS_BIND, ""); err != nil {
				t.Fatalf("bind-mounting mon at bind: %v", err)
			}
			t.Cleanup(func() { _ = unix.Unmount(bind, unix.MNT_DETACH) })
			sh("echo x >> bind/a.txt")
		}, "mon bind-mounted at bind; echo x >> bind/a.txt", []want{
			{find: map[string]string{"type": "open", "path": p("bind/a.txt")}, check: map[string]string{"host_path": p("mon/a.txt"), "monitored": "inode"}}}},
		{func() { sh("rm mon/a.txt") }, "rm mon/a.txt", []want{
			{find: map[string]string{"type": "unlink", "path": p("mon/a.txt")}, check: map[string]string{"host_path": p("mon/a.txt")}}}},
		{func() { sh("mkdir mon/d; mv mon/d mon/e; touch mon/e/f") }, "mkdir mon/d; mv mon/d mon/e; touch mon/e/f", []want{
			{find: map[string]string{"type": "mkdir", "path": p("mon/d")}, check: map[string]string{"host_path": p("mon/d")}},
			{find: map[string]string{"type": "rename", "host_path": p("mon/e")}, check: map[string]string{"old.host_path": p("mon/d")}},
			{find: map[string]string{"type": "creation", "path": p("mon/e/f")}, check: map[string]string{"host_path": p("mon/e/f")}}}},
		{func() {
			if err := os.WriteFile(p(odd), nil, 0o640); err != nil {
				t.Fatal(err)
			}
		}, "create a name with invalid UTF-8 and a newline", []want{
			{find: map[string]string{"type": "creation", "path": p(odd)}, check: map[string]string{"host_path": p(odd), "perm": "0640"}}}},
	}
	cursor := 0
	for _, row := range rows {
		did := time.Now()
		row.do()
		for _, w := range row.want {
			i, at := waitFor(t, upOut, cursor, w, testtime.Scaled(15*time.Second))
			if i < 0 {
				evs, raw, _ := upOut.snapshot()
				t.Fatalf("%s: no event %v after #%d in %d lines:\n%s\nstderr:\n%s", row.what, w.find, cursor, len(evs),
					strings.Join(raw, "\n"), upErr.String())
			}
			evs, _, _ := upOut.snapshot()
			for k, v := range w.check {
				if got := get(evs[i], k); got != v {
					t.Errorf("%s: %v: %s = %q, want %q", row.what, w.find, k, got, v)
				}
			}
			checkCommon(t, row.what, evs[i], start, probes)
			if w.find["type"] == "rename" {
				_, raw, _ := upOut.snapshot()
				t.Logf("%s", raw[i])
			}
			t.Logf("%-50s %-9s after %v", row.what, w.find["type"], at.Sub(did).Round(time.Millisecond))
			cursor = i + 1
		}
	}
	// Nothing for the read and for the unmonitored tree: give stragglers a moment, then look.
	time.Sleep(testtime.Scaled(1500 * time.Millisecond))
	evs, raw, _ := upOut.snapshot()
	for i, ev := range evs {
		if field(ev, "process.comm") == "cat" || strings.HasPrefix(field(ev, "path"), p("other/d")) {
			t.Errorf("unexpected event: %s", raw[i])
		}
	}
	if len(upOut.bad) > 0 {
		t.Errorf("up printed lines that are not JSON: %q", upOut.bad)
	}

	// tail sees the same lines.
	deadline := time.Now().Add(testtime.Scaled(10 * time.Second))
	for {
		_, traw, _ := tailOut.snapshot()
		if slices.Equal(traw, raw) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("tail --json printed\n%s\nup --json printed\n%s\ntail stderr:\n%s", strings.Join(traw, "\n"),
				strings.Join(raw, "\n"), tailErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = tail.Process.Signal(os.Interrupt)
	stopUp(t, up, exited, upErr)
	if err := tail.Wait(); err != nil {
		t.Errorf("tail after SIGINT: %v\n%s", err, tailErr.String())
	}
}

// e2eProbes is the probe set the end-to-end tests run up with: envE2EProbes's, or auto.
func e2eProbes() string {
	if p := os.Getenv(envE2EProbes); p != "" {
		return p
	}
	return "auto"
}

// checkCommon checks what every file event carries: the host, the probe (probes, unless "auto"), why it
// was monitored, the inode, the process, a time within the test.
func checkCommon(t *testing.T, what string, ev map[string]any, start time.Time, probes string) {
	t.Helper()
	bad := func(k, got string) { t.Errorf("%s: %s: %s = %q", what, field(ev, "type"), k, got) }
	if got := field(ev, "host"); got != shortHost() {
		bad("host", got)
	}
	if got := field(ev, "probe"); (got != "lsm" && got != "tracepoint") || (probes != "auto" && got != probes) {
		bad("probe", got)
	}
	// A rename out of the tree reports why the new name is monitored: "none" (schemas/README.md lists
	// only inode, parent and path; reported).
	if got := field(ev, "monitored"); got != "inode" && got != "parent" && got != "path" &&
		!(got == "none" && field(ev, "type") == "rename" && field(ev, "host_path") == "") {
		bad("monitored", got)
	}
	for _, k := range []string{"inode.dev", "inode.ino", "process.pid"} {
		if got := field(ev, k); got == "0" || got == "<missing>" {
			bad(k, got)
		}
	}
	if got := field(ev, "process.uid"); got != strconv.Itoa(os.Geteuid()) {
		bad("process.uid", got)
	}
	ts, err := time.Parse(time.RFC3339Nano, field(ev, "time"))
	if err != nil || ts.Before(start) || ts.After(time.Now()) {
		bad("time", field(ev, "time"))
	}
}

// lockedBuffer is a bytes buffer safe for a process to write while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startUp starts `up` with args and the probe set probes, and waits until it writes the file its
// --ready-file names; it skips when no probe set runs here and probes is auto. exited gets up's exit.
func startUp(t testing.TB, ctx context.Context, probes string, args ...string) (up *exec.Cmd, out *lines, stderr *lockedBuffer, exited <-chan error) {
	t.Helper()
	i := slices.Index(args, "--ready-file")
	if i < 0 || i+1 == len(args) {
		t.Fatal("startUp needs --ready-file")
	}
	ready := args[i+1]
	up, out, stderr = startFactstream(t, ctx, append([]string{"up", "--probes", probes}, args...)...)
	done := make(chan error, 1)
	go func() { done <- up.Wait() }()
	for {
		if _, err := os.Stat(ready); err == nil {
			return up, out, stderr, done
		}
		select {
		case err := <-done:
			if msg := stderr.String(); strings.Contains(msg, "probe set unavailable") && probes == "auto" {
				t.Skipf("no probe set runs on this kernel: %s", msg)
			}
			t.Fatalf("up exited before it was ready: %v\n%s", err, stderr.String())
		case <-ctx.Done():
			t.Fatalf("up not ready (no %s):\n%s", ready, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// startFactstream starts the test binary as factstream with args, collecting its JSON lines and its
// stderr; the process is killed at the end of the test if it still runs.
func startFactstream(t testing.TB, ctx context.Context, args ...string) (*exec.Cmd, *lines, *lockedBuffer) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), execEnv+"=1")
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	l := &lines{}
	go l.read(out)
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd, l, stderr
}

// scrape reads one unlabelled sample from the Prometheus text at addr's /metrics (0 when absent).
func scrape(t *testing.T, addr, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scraping %s: %v", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scraping %s: %v", addr, err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %q: %v", name, v, err)
			}
			return f
		}
	}
	return 0
}

// waitMetricAbove waits until metric name exceeds was.
func waitMetricAbove(t *testing.T, addr, name string, was float64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for scrape(t, addr, name) <= was {
		if time.Now().After(deadline) {
			t.Fatalf("%s stayed at %v for %v", name, was, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFor waits for the first event at or after from that has w's find fields, and returns its index
// and when it arrived; -1 when none came in time.
func waitFor(t *testing.T, l *lines, from int, w want, timeout time.Duration) (int, time.Time) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		evs, _, at := l.snapshot()
	next:
		for i := from; i < len(evs); i++ {
			for k, v := range w.find {
				if get(evs[i], k) != v {
					continue next
				}
			}
			return i, at[i]
		}
		time.Sleep(10 * time.Millisecond)
	}
	return -1, time.Time{}
}

// sha256Of is a content event's hash of data.
func sha256Of(data string) string {
	sum := sha256.Sum256([]byte(data))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// stopUp interrupts up and waits for it to exit cleanly.
func stopUp(t *testing.T, up *exec.Cmd, exited <-chan error, upErr *lockedBuffer) {
	t.Helper()
	_ = up.Process.Signal(os.Interrupt)
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("up after SIGINT: %v\n%s", err, upErr.String())
		}
	case <-time.After(testtime.Scaled(20 * time.Second)):
		t.Error("up did not stop in time after SIGINT")
	}
}
