package sensor

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/seqstore"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// The child process's environment.
const (
	childEnv      = "FACTSTREAM_TEST_SENSOR_CHILD"
	childNATSEnv  = "FACTSTREAM_TEST_NATS_URL"
	childStateEnv = "FACTSTREAM_TEST_STATE_DIR"
	childRootEnv  = "FACTSTREAM_TEST_ROOT"
	childOutEnv   = "FACTSTREAM_TEST_OUT"
)

// TestSensorChild is the sensor process of TestKillNeverReusesSequences; it does nothing in a normal
// run. It writes "ready <first sequence>" to the out file once ready, feeds itself kernel records as
// fast as it can, and on SIGTERM stops cleanly and appends "stopped <next sequence>".
func TestSensorChild(t *testing.T) {
	if os.Getenv(childEnv) != "1" {
		t.Skip("runs only as the child of TestKillNeverReusesSequences")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	cfg := testConfig(t, os.Getenv(childRootEnv)+"/**")
	cfg.StateDir = os.Getenv(childStateEnv)
	probes := newFakeProbes()
	s, err := New(cfg, Deps{Probes: probes, Conn: tcpConn(t, os.Getenv(childNATSEnv)), Registry: prometheus.NewRegistry(),
		Logger: zap.NewNop(), Clock: FixedBootClock(0)})
	if err != nil {
		t.Fatal(err)
	}
	first := s.seqs.Peek(seqstore.Events)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, 10*time.Second, "ready", s.Ready)
	out := os.Getenv(childOutEnv)
	writeFile(t, out, fmt.Sprintf("ready %d\n", first))
	go func() {
		for seq := uint64(1); ctx.Err() == nil; seq++ {
			select {
			case probes.events <- openEvent(seq, 7, seq):
			case <-ctx.Done():
			}
		}
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(out, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "stopped %d\n", s.seqs.Peek(seqstore.Events))
	f.Close()
}

// child is a running sensor process.
type child struct {
	cmd *exec.Cmd
	out string
}

func startChild(t *testing.T, url, state, root string, n int) *child {
	t.Helper()
	return startChildRun(t, "TestSensorChild", []string{childEnv + "=1"}, url, state, root, n)
}

// startChildRun runs test (a child sensor) of this binary as process n, with env added, and waits until
// it is ready.
func startChildRun(t *testing.T, test string, env []string, url, state, root string, n int) *child {
	t.Helper()
	out := filepath.Join(t.TempDir(), fmt.Sprintf("child%d.out", n))
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	cmd.Env = append(append(os.Environ(), env...), childNATSEnv+"="+url, childStateEnv+"="+state, childRootEnv+"="+root, childOutEnv+"="+out)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, out: out}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, time.Minute, "the child to be ready", func() bool { _, ok := c.value("ready"); return ok })
	return c
}

// storedCount returns a function that counts FACT_RAW's messages (0 before the stream exists).
func storedCount(t *testing.T, nc *nats.Conn) func() uint64 {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return func() uint64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		s, err := js.Stream(ctx, schemas.RawStream)
		if err != nil {
			return 0
		}
		return s.CachedInfo().State.Msgs
	}
}

// value reads "<word> <n>" from the child's out file.
func (c *child) value(word string) (uint64, bool) {
	b, _ := os.ReadFile(c.out)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, word+" "); ok {
			n, err := strconv.ParseUint(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// TestKillNeverReusesSequences kills a sensor under load with SIGKILL, starts another on the same state
// directory, stops that one cleanly, and checks FACT_RAW: no sensor sequence (and so no batch id) is
// used twice, the second run starts above every number the first could have used, and everything the
// second run handed out is stored.
func TestKillNeverReusesSequences(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	srv := natsservertest.RunServer(t)
	nc := tcpConn(t, srv.ClientURL())
	state, root := t.TempDir(), t.TempDir()
	storedMsgs := storedCount(t, nc)

	c1 := startChild(t, srv.ClientURL(), state, root, 1)
	waitFor(t, 30*time.Second, "the first run to publish", func() bool { return storedMsgs() >= 200 })
	if err := c1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c1.cmd.Wait()
	before := storedMsgs()
	t.Logf("first run killed after %d batches were stored", before)

	c2 := startChild(t, srv.ClientURL(), state, root, 2)
	first2, _ := c2.value("ready")
	waitFor(t, 30*time.Second, "the second run to publish", func() bool { return storedMsgs() >= before+200 })
	if err := c2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c2.cmd.Wait(); err != nil {
		t.Fatalf("second run: %v", err)
	}
	next2, ok := c2.value("stopped")
	if !ok {
		t.Fatal("second run did not stop cleanly")
	}

	seen := map[uint64]int{}
	var max1 uint64
	for _, b := range streamBatches(t, nc) {
		for _, ev := range b.Events {
			seen[ev.Seq]++
			if ev.Seq < first2 {
				max1 = max(max1, ev.Seq)
			}
		}
	}
	for seq, n := range seen {
		if n != 1 {
			t.Errorf("sensor sequence %d stored %d times", seq, n)
		}
	}
	for seq := first2; seq < next2; seq++ {
		if seen[seq] != 1 {
			t.Fatalf("sequence %d of the second run is not stored (a reused batch id would be dropped as a duplicate)", seq)
		}
	}
	if max1 == 0 || first2 <= max1 {
		t.Errorf("second run started at %d, the first stored up to %d", first2, max1)
	}
	t.Logf("first run stored up to sequence %d; second run used %d..%d, all stored once", max1, first2, next2-1)
}
