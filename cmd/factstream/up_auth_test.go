package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/internal/testtime"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// nobodyEnv makes the test binary run nobodyChecks (as the unprivileged user the parent started it as)
// with the JSON nobodyPlan in the variable, instead of the tests.
const nobodyEnv = "FACTSTREAM_TEST_NOBODY_PLAN"

// nobody is the uid and gid the checks run as.
const nobody = 65534

// nobodyPlan is what the unprivileged child is given: where the server is, the credentials copied for
// it, and the data directory it must not be able to read.
type nobodyPlan struct {
	URL         string `json:"url"`
	Host        string `json:"host"`
	ReaderCreds string `json:"reader_creds"`
	SensorCreds string `json:"sensor_creds"`
	CredsDir    string `json:"creds_dir"`
}

// nobodyResult is one check of the child: what it tried and what came of it.
type nobodyResult struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
}

// TestUpLockedDown starts up as root and checks, from a process running as uid 65534, that nobody gets
// in without credentials, that the reader's credentials read FACT_ACTIVITY and nothing more, that a
// sensor's credentials publish for its own host only, and that the credentials directory is closed;
// then, as root with the admin's credentials, that the streams refuse purges and deletions.
func TestUpLockedDown(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading probes and switching to uid 65534 need root")
	}
	if testing.Short() {
		t.Skip("starts the whole pipeline against the kernel")
	}
	root, data := t.TempDir(), t.TempDir()
	mon := filepath.Join(root, "mon")
	if err := os.Mkdir(mon, 0o755); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("nats://127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), testtime.Scaled(90*time.Second))
	defer cancel()
	_, upOut, upErr, _ := startUp(t, ctx, cmp.Or(os.Getenv(envE2EProbes), "auto"), "--json", "--host", "node-a",
		"--path", mon, "--path", mon+"/**", "--data-dir", data, "--ready-file", filepath.Join(root, "ready"),
		"--listen", strings.TrimPrefix(url, "nats://"), "--log-level", "warn")
	if err := os.WriteFile(filepath.Join(mon, "evidence.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	created := want{find: map[string]string{"type": "creation", "path": filepath.Join(mon, "evidence.txt")}}
	if i, _ := waitFor(t, upOut, 0, created, testtime.Scaled(30*time.Second)); i < 0 {
		t.Fatalf("up printed no creation of evidence.txt within %s\n%s", testtime.Scaled(30*time.Second), upErr.String())
	}
	if !strings.Contains(upErr.String(), "--nkey "+natsauth.CredsFile(data, natsauth.RoleReader)) {
		t.Errorf("the banner does not show how to use the nats CLI with the reader's credentials:\n%s", upErr.String())
	}

	// The data directory may be entered by anyone: only the credentials directory's own mode keeps them.
	if err := os.Chmod(data, 0o755); err != nil {
		t.Fatal(err)
	}
	plan := nobodyPlan{URL: url, Host: "node-a", CredsDir: filepath.Join(data, natsauth.CredsDir)}
	work := nobodyDir(t)
	plan.ReaderCreds = giveNobody(t, natsauth.CredsFile(data, natsauth.RoleReader), work)
	plan.SensorCreds = giveNobody(t, natsauth.CredsFile(data, natsauth.RoleSensor), work)
	for _, r := range runAsNobody(t, ctx, work, plan) {
		if !r.OK {
			t.Errorf("as uid %d: %s: %s", nobody, r.Check, r.Detail)
		} else {
			t.Logf("as uid %d: %s: %s", nobody, r.Check, r.Detail)
		}
	}

	// As root, `tail` finds the reader's credentials in the data directory by itself.
	tail, tailOut, tailErr := startFactstream(t, ctx, "tail", "--json", "--nats", url, "--data-dir", data, "--since", "all")
	if i, _ := waitFor(t, tailOut, 0, created, testtime.Scaled(30*time.Second)); i < 0 {
		t.Errorf("tail as root printed no creation of evidence.txt within %s\n%s", testtime.Scaled(30*time.Second), tailErr.String())
	}
	_ = tail.Process.Kill()

	// The nats CLI works with the reader's credentials, as the banner and the README show.
	natsCLI := buildNatsCLI(t)
	reader := []string{"--server", url, "--nkey", natsauth.CredsFile(data, natsauth.RoleReader)}
	for _, args := range [][]string{
		{"stream", "info", schemas.ActivityStream},
		{"sub", schemas.ActivityPrefix + ".>", "--all", "--count", "1"},
	} {
		out, err := exec.CommandContext(ctx, natsCLI, append(reader, args...)...).CombinedOutput()
		if err != nil {
			t.Errorf("nats %s as reader: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	if out, err := exec.CommandContext(ctx, natsCLI, append(reader, "stream", "purge", schemas.ActivityStream, "--force")...).CombinedOutput(); err == nil {
		t.Errorf("nats stream purge as reader succeeded:\n%s", out)
	}

	// The admin may manage streams, but the record streams refuse its purges and deletions.
	opt, err := natsauth.FileOption(natsauth.CredsFile(data, natsauth.RoleAdmin), natsauth.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, opt)
	if err != nil {
		t.Fatalf("connecting as admin: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range natsauth.RecordStreams() {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("admin looking up %s: %v", name, err)
		}
		before := s.CachedInfo().State.Msgs
		if err := s.Purge(ctx); err == nil || !strings.Contains(err.Error(), "not permitted") {
			t.Errorf("admin purging %s: %v, want the stream's refusal", name, err)
		}
		if err := s.DeleteMsg(ctx, s.CachedInfo().State.FirstSeq); err == nil || !strings.Contains(err.Error(), "not permitted") {
			t.Errorf("admin deleting the first message of %s: %v, want the stream's refusal", name, err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs < before || before == 0 {
			t.Errorf("%s held %d messages before the attempts, %d after", name, before, info.State.Msgs)
		}
	}
}

// buildNatsCLI builds the nats CLI of the tool dependency and returns its path.
func buildNatsCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nats")
	ctx, cancel := context.WithTimeout(context.Background(), testtime.Scaled(15*time.Minute))
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/nats-io/natscli/nats").CombinedOutput(); err != nil {
		t.Fatalf("building the nats CLI: %v\n%s", err, out)
	}
	return bin
}

// nobodyDir is a directory uid 65534 may use, holding a copy of the test binary it can execute (the
// go command's build directory is closed to it).
func nobodyDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(dir, "factstream.test"), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// giveNobody copies a credentials file into dir for uid 65534 alone.
func giveNobody(t *testing.T, path, dir string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(to, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	return to
}

// runAsNobody runs the checks of plan in the copied test binary as uid 65534 and returns their results.
func runAsNobody(t *testing.T, ctx context.Context, dir string, plan nobodyPlan) []nobodyResult {
	t.Helper()
	spec, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "factstream.test"))
	cmd.Dir = dir
	cmd.Env = []string{nobodyEnv + "=" + string(spec), "HOME=" + dir, "PATH=/usr/bin:/bin", testtime.Env + "=" + os.Getenv(testtime.Env)}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("the checks as uid %d failed: %v\nthey printed:\n%s%s", nobody, err, stdout.String(), stderr.String())
	}
	var results []nobodyResult
	for line := range strings.Lines(stdout.String()) {
		var r nobodyResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("the checks as uid %d printed %q: %v", nobody, line, err)
		}
		results = append(results, r)
	}
	if len(results) == 0 {
		t.Fatalf("the checks as uid %d printed nothing\n%s", nobody, stderr.String())
	}
	return results
}

// nobodyChecks runs in the child as uid 65534 and prints one nobodyResult per line.
func nobodyChecks(spec string) error {
	os.Unsetenv(nobodyEnv) // what this starts must not run the checks again
	var plan nobodyPlan
	if err := json.Unmarshal([]byte(spec), &plan); err != nil {
		return err
	}
	if os.Geteuid() != nobody {
		return fmt.Errorf("running as uid %d, not %d", os.Geteuid(), nobody)
	}
	enc := json.NewEncoder(os.Stdout)
	report := func(check string, ok bool, format string, args ...any) {
		_ = enc.Encode(nobodyResult{Check: check, OK: ok, Detail: fmt.Sprintf(format, args...)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), testtime.Scaled(2*time.Minute))
	defer cancel()

	_, err := nats.Connect(plan.URL)
	report("connect without credentials", errors.Is(err, nats.ErrAuthorization), "err = %v", err)
	_, err = os.ReadDir(plan.CredsDir)
	report("list the credentials directory", errors.Is(err, os.ErrPermission), "err = %v", err)
	_, err = os.ReadFile(filepath.Join(plan.CredsDir, "admin.nk"))
	report("read the admin's credentials", errors.Is(err, os.ErrPermission), "err = %v", err)
	tailWithoutCreds(plan, report)

	reader, errs, err := connectAs(plan.URL, plan.ReaderCreds, natsauth.RoleReader, "")
	if err != nil {
		report("connect with the reader's credentials", false, "%v", err)
		return nil
	}
	defer reader.Close()
	js, _ := jetstream.New(reader)
	cons, err := js.OrderedConsumer(ctx, schemas.ActivityStream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{schemas.ActivityPrefix + ".>"}})
	if err == nil {
		var m jetstream.Msg
		m, err = cons.Next(jetstream.FetchMaxWait(testtime.Scaled(30 * time.Second)))
		if err == nil {
			report("reader reads FACT_ACTIVITY", true, "first message on %s", m.Subject())
		}
	}
	if err != nil {
		report("reader reads FACT_ACTIVITY", false, "%v", err)
	}
	for _, subject := range []string{
		schemas.IngestSubject(plan.Host, 1),
		"$JS.API.STREAM.PURGE." + schemas.ActivityStream, "$JS.API.STREAM.PURGE." + schemas.RawStream,
		"$JS.API.STREAM.MSG.DELETE." + schemas.ActivityStream, "$JS.API.STREAM.DELETE." + schemas.RawStream,
		"$JS.API.STREAM.UPDATE." + schemas.ActivityStream,
	} {
		d := refusal(ctx, reader, errs, subject)
		report("reader may not publish on "+subject, d == "", "%s", cmp.Or(d, "refused"))
	}

	sensor, serrs, err := connectAs(plan.URL, plan.SensorCreds, natsauth.RoleSensor, plan.Host)
	if err != nil {
		report("connect with the sensor's credentials", false, "%v", err)
		return nil
	}
	defer sensor.Close()
	d := refusal(ctx, sensor, serrs, schemas.IngestSubject("node-b", 1))
	report("sensor of "+plan.Host+" may not publish for node-b", d == "", "%s", cmp.Or(d, "refused"))
	sjs, _ := jetstream.New(sensor)
	_, err = sjs.Publish(ctx, schemas.IngestSubject(plan.Host, 1), []byte("not a batch"))
	report("sensor of "+plan.Host+" publishes for itself", err == nil, "err = %v", err)
	return nil
}

// connectAs connects with a credentials file and returns the connection and the server's refusals.
func connectAs(url, creds string, role natsauth.Role, host string) (*nats.Conn, <-chan error, error) {
	opt, err := natsauth.FileOption(creds, role, host)
	if err != nil {
		return nil, nil, err
	}
	errs := make(chan error, 16)
	nc, err := nats.Connect(url, opt, nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	return nc, errs, err
}

// refusal publishes on subject and returns "" when the server refused it, else what happened instead.
func refusal(ctx context.Context, nc *nats.Conn, errs <-chan error, subject string) string {
	if err := nc.Publish(subject, []byte("{}")); err != nil {
		return err.Error()
	}
	if err := nc.Flush(); err != nil {
		return err.Error()
	}
	for {
		select {
		case err := <-errs:
			if errors.Is(err, nats.ErrPermissionViolation) && strings.Contains(err.Error(), `"`+subject+`"`) {
				return ""
			}
		case <-ctx.Done():
			return "the server did not refuse it"
		}
	}
}

// tailWithoutCreds runs `factstream tail` as this user with no credentials and checks that its refusal
// says what to pass.
func tailWithoutCreds(plan nobodyPlan, report func(string, bool, string, ...any)) {
	self, err := os.Executable()
	if err != nil {
		report("tail without credentials", false, "%v", err)
		return
	}
	cmd := exec.Command(self, "tail", "--nats", plan.URL, "--data-dir", filepath.Dir(plan.CredsDir))
	cmd.Env = []string{execEnv + "=1", "HOME=" + os.Getenv("HOME")}
	out, err := cmd.CombinedOutput()
	msg := strings.TrimSpace(string(out))
	ok := err != nil && strings.Contains(msg, "not authorized to connect") && strings.Contains(msg, "pass --creds") &&
		strings.Count(msg, "\n") == 0
	report("tail without credentials", ok, "%q", msg)
}
