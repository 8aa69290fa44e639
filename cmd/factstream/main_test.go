package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/internal/natsauth"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// execute runs the command line args in-process and returns its error and output.
func execute(ctx context.Context, args ...string) (string, error) {
	cmd := newRootCmd()
	var out strings.Builder
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

func TestSensorHelpShowsDefaults(t *testing.T) {
	out, err := execute(context.Background(), "sensor", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--paths globs", `--state-dir string`, `(default "/var/lib/factstream")`, "(default 5ms)", "FACTSTREAM_NATS_URL", "--ready-file"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestSensorBadConfig(t *testing.T) {
	t.Setenv("FACTSTREAM_BATCH_MAX_DELAY", "never")
	_, err := execute(context.Background(), "sensor", "--paths=etc/**", "--state-dir", t.TempDir())
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`paths[0]: "etc/**": not absolute`, "FACTSTREAM_BATCH_MAX_DELAY"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSensorWithProbes runs `factstream sensor` with the real probes and the embedded server, waits for
// the ready file, creates files in the monitored tree, and finds them in FACT_RAW. It skips where the
// probes cannot load.
func TestSensorWithProbes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("loading probes needs root")
	}
	root, state := t.TempDir(), t.TempDir()
	ready := filepath.Join(state, "ready")
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := execute(ctx, "sensor", "--paths", root+"/**", "--state-dir", state, "--ready-file", ready,
			"--nats-embedded-listen", fmt.Sprintf("127.0.0.1:%d", port), "--metrics-listen", "", "--log-format", "json", "--log-level", "warn")
		done <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		select {
		case err := <-done:
			if errors.Is(err, bpf.ErrUnavailable) {
				t.Skipf("no probe set runs on this kernel: %v", err)
			}
			t.Fatalf("sensor exited before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("sensor not ready")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.MkdirAll(filepath.Join(root, "new/dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "new/dir/file\xff\n"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The sensor's embedded server admits only the identities it wrote to its state directory.
	if _, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", port)); !errors.Is(err, nats.ErrAuthorization) {
		t.Fatalf("connecting without credentials: %v, want an authorization violation", err)
	}
	reader, err := natsauth.FileOption(natsauth.CredsFile(state, natsauth.RoleReader), natsauth.RoleReader, "")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", port), reader)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	want := map[string]bool{"mkdir new": false, "mkdir dir": false, "creation file\xff\n": false}
	deadline = time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !all(want) {
		for _, ev := range storedEvents(t, nc) {
			if k := ev.Kind.String() + " " + string(ev.Name); ev.Kind.File() {
				if _, ok := want[k]; ok {
					want[k] = true
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !all(want) {
		t.Errorf("FACT_RAW lacks some events: %v", want)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("sensor: %v", err)
	}
}

func all(m map[string]bool) bool {
	for _, v := range m {
		if !v {
			return false
		}
	}
	return true
}

func storedEvents(t *testing.T, nc *nats.Conn) []schemas.RawEvent {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, schemas.RawStream)
	if err != nil {
		return nil
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil
	}
	var out []schemas.RawEvent
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		var b schemas.Batch
		if schemas.DecodeBatch(m.Data, &b) == nil {
			for _, ev := range b.Events {
				ev.Name = append([]byte(nil), ev.Name...)
				out = append(out, ev)
			}
		}
	}
	return out
}

func TestTailCommandNamesDataDirOnlyWhenNotDefault(t *testing.T) {
	if got := tailCommand(defaultDataDir()); got != "factstream tail" {
		t.Errorf("tailCommand(default) = %q, want plain factstream tail", got)
	}
	if got, want := tailCommand("/tmp/fs"), "factstream tail --data-dir /tmp/fs"; got != want {
		t.Errorf("tailCommand(/tmp/fs) = %q, want %q", got, want)
	}
}
