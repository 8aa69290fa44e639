package sensor

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/internal/bpffstest"
	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/accounting"
	"github.com/factstream/factstream/sensor/seqstore"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The environment of TestPinnedSensorChild: the bpffs directory it pins its probes in, and their ring size.
const (
	childPinEnv  = "FACTSTREAM_TEST_PIN_PATH"
	childRingEnv = "FACTSTREAM_TEST_RING_SIZE"
)

// TestPinnedSensorChild is the sensor process of TestKillPinnedProbes; it does nothing in a normal run.
// It loads real probes pinned in $FACTSTREAM_TEST_PIN_PATH (continuing them when an earlier child
// pinned them), monitors $FACTSTREAM_TEST_ROOT, writes "ready <first sequence>" once ready and stops
// cleanly on SIGTERM.
func TestPinnedSensorChild(t *testing.T) {
	if os.Getenv(childPinEnv) == "" {
		t.Skip("runs only as the child of TestKillPinnedProbes")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/mnt", &st); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t, os.Getenv(childRootEnv)+"/**")
	cfg.StateDir = os.Getenv(childStateEnv)
	ring, err := strconv.ParseUint(os.Getenv(childRingEnv), 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Probes.RingSize, cfg.Probes.WakeupBytes = ByteSize(ring), ByteSize(min(ring/4, DefaultWakeupBytes))
	// Long batches: the kill always finds records read from the kernel and not yet delivered.
	cfg.Batch.MaxEvents, cfg.Batch.MaxBytes, cfg.Batch.MaxDelay = 1<<16, 4<<20, time.Second
	probes, err := bpf.Load(bpf.Options{Set: bpf.ProbeSet(os.Getenv("FACTSTREAM_PROBE_SET")), PinPath: os.Getenv(childPinEnv),
		RingSize: uint32(ring), WakeupBytes: uint32(cfg.Probes.WakeupBytes), HostMountNS: uint32(st.Ino)})
	if err != nil {
		t.Fatal(err)
	}
	defer probes.Close()
	log, _ := zap.NewDevelopment(zap.AddStacktrace(zap.ErrorLevel))
	s, err := New(cfg, Deps{Probes: probes, Conn: tcpConn(t, os.Getenv(childNATSEnv)), Registry: prometheus.NewRegistry(),
		Logger: log.Named(fmt.Sprintf("child(reused=%v)", probes.Reused()))})
	if err != nil {
		t.Fatal(err)
	}
	first := s.seqs.Peek(seqstore.Events)
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, time.Minute, "ready", s.Ready)
	writeFile(t, os.Getenv(childOutEnv), fmt.Sprintf("ready %d\n", first))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// fileLoad creates, writes and removes files in dir until stopped: a steady stream of kernel records.
type fileLoad struct {
	stop chan struct{}
	wg   sync.WaitGroup
	ops  atomic.Uint64
}

func startFileLoad(t *testing.T, dir string) *fileLoad {
	l := &fileLoad{stop: make(chan struct{})}
	l.wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			default:
			}
			name := filepath.Join(dir, fmt.Sprintf("f-%07d", i))
			if err := os.WriteFile(name, []byte("x"), 0o644); err != nil {
				t.Errorf("load: %v", err)
				return
			}
			if err := os.Remove(name); err != nil {
				t.Errorf("load: %v", err)
				return
			}
			l.ops.Add(1)
			time.Sleep(200 * time.Microsecond)
		}
	})
	return l
}

func (l *fileLoad) halt() uint64 {
	close(l.stop)
	l.wg.Wait()
	return l.ops.Load()
}

// TestKillPinnedProbes kills a sensor whose probes are pinned with SIGKILL while files change under its
// monitored path, lets the kernel record on for a while with no sensor, then starts another sensor that
// continues the same probes, and stops it cleanly. Every kernel record numbered meanwhile must be
// accounted for exactly once in FACT_RAW: delivered as an event, or counted by a loss event. The counts
// come from the events themselves: delivered kernel events plus the loss events' counts equal the
// highest kernel sequence accounted for, and the batches' kernel sequence headers never name a record
// twice. Sensor sequences are never reused. It runs with a ring buffer that holds what the kernel
// records while no sensor runs, and with one too small for it, whose losses are then reported by hook.
func TestKillPinnedProbes(t *testing.T) {
	if testing.Short() && os.Getenv("FACTSTREAM_REQUIRE_LSM") == "" {
		t.Skip("starts processes")
	}
	t.Run("ring holds the downtime", func(t *testing.T) { killPinned(t, 32<<20, false) })
	t.Run("ring overflows", func(t *testing.T) { killPinned(t, 64<<10, true) })
}

// killPinned runs TestKillPinnedProbes with a ring of ringSize bytes; overflow says it must fill up while
// no sensor runs.
func killPinned(t *testing.T, ringSize int, overflow bool) {
	pins := bpffstest.Mount(t)
	srv := natsservertest.RunServer(t)
	nc := tcpConn(t, srv.ClientURL())
	state, root := t.TempDir(), t.TempDir()
	env := []string{childPinEnv + "=" + filepath.Join(pins, "factstream"), childRingEnv + "=" + strconv.Itoa(ringSize)}
	stored := storedCount(t, nc)

	c1 := startChildRun(t, "TestPinnedSensorChild", env, srv.ClientURL(), state, root, 1)
	load := startFileLoad(t, root)
	waitFor(t, time.Minute, "the first run to publish", func() bool { return stored() >= 3 })
	time.Sleep(2 * pollInterval) // past a checkpoint or two
	if err := c1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c1.cmd.Wait()
	opsAtKill := load.ops.Load()
	time.Sleep(time.Second) // the pinned probes record on; nobody reads
	opsDown := load.ops.Load() - opsAtKill

	c2 := startChildRun(t, "TestPinnedSensorChild", env, srv.ClientURL(), state, root, 2)
	first2, _ := c2.value("ready")
	at := stored()
	waitFor(t, time.Minute, "the second run to publish", func() bool { return stored() >= at+3 })
	time.Sleep(restartRetry) // the second run's restart check reads FACT_RAW back
	ops := load.halt()
	time.Sleep(500 * time.Millisecond)
	if err := c2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c2.cmd.Wait(); err != nil {
		t.Fatalf("second run: %v", err)
	}

	a := accountKernel(t, streamMessages(t, nc))
	t.Logf("%d file operations, %d of them while no sensor ran; second run's first sensor sequence %d", ops, opsDown, first2)
	t.Logf("kernel records 1..%d: %d delivered, %d reported lost (%v); %d accounted twice", a.max, a.delivered, a.lost, a.lostBy, a.twice)
	if a.max == 0 || a.delivered == 0 {
		t.Fatal("no kernel records in FACT_RAW")
	}
	if a.twice != 0 {
		t.Errorf("%d kernel records are accounted for by two batches", a.twice)
	}
	if a.delivered+a.lost != a.max {
		t.Errorf("delivered %d + reported lost %d = %d, want every kernel record 1..%d accounted for once",
			a.delivered, a.lost, a.delivered+a.lost, a.max)
	}
	if a.lostBy[accounting.HookRestart] == 0 {
		// Not wrong (the kill came when everything read was stored; the sum above still holds), but
		// then this run did not exercise the count of what a killed run loses.
		t.Logf("the killed run had delivered everything it read")
	}
	if ringFull := a.lost - a.lostBy[accounting.HookRestart] - a.lostBy[accounting.HookRingSequence]; overflow && ringFull == 0 {
		t.Errorf("the ring buffer overflowed while no sensor ran, and no loss names the hooks that lost records: %v", a.lostBy)
	}
	if a.reusedSensorSeqs != 0 {
		t.Errorf("%d sensor sequences stored twice", a.reusedSensorSeqs)
	}
}

// kernelAccount is what FACT_RAW says about the kernel's records.
type kernelAccount struct {
	max              uint64            // the highest kernel sequence a batch accounts for
	delivered        uint64            // kernel events stored
	lost             uint64            // records reported lost (loss events on dev 0, with a kernel hook)
	lostBy           map[string]uint64 // lost, by hook
	twice            uint64            // kernel sequences two batches account for
	reusedSensorSeqs int
}

func accountKernel(t *testing.T, msgs []storedBatch) kernelAccount {
	t.Helper()
	a := kernelAccount{lostBy: map[string]uint64{}}
	var all []schemas.SeqRange
	var total uint64
	seqs := map[uint64]bool{}
	for _, m := range msgs {
		for _, ev := range m.batch.Events {
			if seqs[ev.Seq] {
				a.reusedSensorSeqs++
			}
			seqs[ev.Seq] = true
			switch {
			case ev.Kind == schemas.KindLoss && m.batch.Dev == 0:
				a.lost += ev.Lost
				a.lostBy[ev.Hook] += ev.Lost
			case ev.Probe == schemas.ProbeLSM || ev.Probe == schemas.ProbeTracepoint:
				a.delivered++
			}
		}
		v := m.header.Get(schemas.KernelSeqsHeader)
		if v == "" {
			continue
		}
		k, err := schemas.ParseKernelSeqs(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range k.Ranges {
			total += r.Len()
			a.max = max(a.max, r.Hi)
		}
		all = append(all, k.Ranges...)
	}
	union := schemas.SortRanges(all)
	var covered uint64
	for _, r := range union {
		covered += r.Len()
	}
	a.twice = total - covered
	if len(union) != 1 || union[0].Lo != 1 {
		t.Errorf("the batches account for kernel records %v, not one run from 1", union[:min(len(union), 10)])
	}
	return a
}
