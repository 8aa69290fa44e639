package pipeline

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap/zaptest"

	"github.com/factstream/factstream/internal/testtime"
)

// createRawStream provisions FACT_RAW as a sensor does (the pipeline does not import the sensor).
func createRawStream(t testing.TB, js jetstream.JetStream, partitions int) jetstream.Stream {
	t.Helper()
	src, dest := schemas.RawTransform(partitions)
	s, err := js.CreateStream(context.Background(), jetstream.StreamConfig{
		Name: schemas.RawStream, Subjects: []string{src}, Storage: jetstream.FileStorage,
		SubjectTransform: &jetstream.SubjectTransformConfig{Source: src, Destination: dest},
		Retention:        jetstream.LimitsPolicy, Discard: jetstream.DiscardOld, Duplicates: 2 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pubMsg is a message as a sensor publishes it.
type pubMsg struct {
	subject, id string
	data        []byte
}

// toPub turns the messages of simulated sensors into publishes, interleaving the hosts.
func toPub(sims ...*sensorSim) []pubMsg {
	var out []pubMsg
	for i := 0; ; i++ {
		more := false
		for _, s := range sims {
			if i >= len(s.msgs) {
				continue
			}
			more = true
			m := s.msgs[i]
			_, host, dev, _ := schemas.ParseRawSubject(m.subject)
			id := host + ":" + s.boot + ":m" + strconv.Itoa(i)
			out = append(out, pubMsg{subject: schemas.IngestSubject(host, dev), id: id, data: m.data})
		}
		if !more {
			return out
		}
	}
}

func publish(t testing.TB, js jetstream.JetStream, msgs []pubMsg) {
	t.Helper()
	for _, m := range msgs {
		if _, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: m.subject, Data: m.data,
			Header: nats.Header{jetstream.MsgIDHeader: []string{m.id}}}); err != nil {
			t.Fatal(err)
		}
	}
}

// fleet simulates hosts with two monitored filesystems each, doing shell work on both, with a loss
// event, a lost batch and an unreadable message among them.
func fleet(hosts int, partitions int) []*sensorSim {
	var sims []*sensorSim
	for h := range hosts {
		s := newSensorSim(fmt.Sprintf("node-%d", h), partitions)
		devs := []uint64{0x800 + uint64(h), 0x10300 + uint64(h)}
		session(s)
		for _, dev := range devs {
			s.dev = dev
			s.emitAll(eventtest.ScanBegin(1), eventtest.ScanRoot(1, srvMon, "/srv/mon"),
				eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode), eventtest.ScanEnd(1))
		}
		pid := uint32(5000)
		for i := range 40 {
			s.dev = devs[i%2]
			pid++
			ino := uint64(100 + i)
			name := "f" + strconv.Itoa(i)
			command(s, pid, "/usr/bin/touch", []string{"touch", name}, eventtest.Create(ino, srvMon, name),
				eventtest.Content(ino, srvMon, name, schemas.HashOK, eventtest.Digest(byte(i)), uint64(i)))
			pid++
			command(s, pid, "/usr/bin/mv", []string{"mv", name}, eventtest.Rename(ino, srvMon, name, srvMon, name+".x", eventtest.FileMode))
			if i%3 == 0 {
				pid++
				command(s, pid, "/usr/bin/rm", []string{"rm", name}, eventtest.Unlink(ino, srvMon, name+".x", 1))
			}
			if i == 20 { // the process message stored after the file message it serves
				n := len(s.msgs)
				s.msgs[n-3].data, s.msgs[n-2].data = s.msgs[n-2].data, s.msgs[n-3].data
				s.msgs[n-3].subject, s.msgs[n-2].subject = s.msgs[n-2].subject, s.msgs[n-3].subject
			}
		}
		switch h % 3 {
		case 0:
			s.emitAll(schemas.RawEvent{Kind: schemas.KindLoss, Lost: 3, Hook: "file_open"})
		case 1:
			s.batch++
		case 2:
			s.stream++
			s.msgs = append(s.msgs, rawMsg{subject: rawSubject(s.host, s.dev, partitions), seq: s.stream, data: []byte("garbage")})
		}
		// Hashed again at the end, after the failover: the old hash comes through the snapshots.
		command(s, pid+1, "/usr/bin/touch", []string{"touch", "last"}, eventtest.Create(999, srvMon, "last"),
			eventtest.Content(101, srvMon, "f1.x", schemas.HashOK, eventtest.Digest(201), 2),
			eventtest.Content(105, srvMon, "f5.x", schemas.HashTooLarge, nil, 1<<40))
		sims = append(sims, s)
	}
	return sims
}

// activityLog reads FACT_ACTIVITY.
type activityLog struct {
	mu     sync.Mutex
	events map[string]int // JSON line → how many times
	dead   int
	n      int
}

func readActivity(t testing.TB, js jetstream.JetStream) *activityLog {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, schemas.ActivityStream)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{schemas.ActivityPrefix + ".>", schemas.DeadLetterPrefix + ".>"}})
	if err != nil {
		t.Fatal(err)
	}
	l := &activityLog{events: map[string]int{}}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if strings.HasPrefix(m.Subject(), schemas.DeadLetterPrefix) {
			l.dead++
			return
		}
		var b schemas.ActivityBatch
		if err := schemas.DecodeActivityBatch(m.Data(), &b); err != nil {
			t.Errorf("undecodable output: %v", err)
			return
		}
		for i := range b.Events {
			l.events[string(schemas.AppendActivityJSON(nil, &b.Events[i]))]++
			l.n++
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return l
}

func (l *activityLog) count() (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n, l.dead
}

// waitStable waits until the output has stopped growing for quiet, and at least want events came.
func (l *activityLog) waitStable(t testing.TB, want int, quiet, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	last, since := -1, time.Now()
	for time.Now().Before(deadline) {
		n, _ := l.count()
		if n != last {
			last, since = n, time.Now()
		}
		if n >= want && time.Since(since) >= quiet {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("output not stable after %s: %d events, want %d", within, last, want)
}

func testConfig(t testing.TB, nc *nats.Conn, worker string) Config {
	return Config{Conn: nc, WorkerID: worker, Patterns: []string{"/srv/mon/**"},
		LeaseTTL: time.Second, Lateness: 200 * time.Millisecond, IdleMargin: 100 * time.Millisecond,
		SnapshotInterval: 300 * time.Millisecond, CheckpointInterval: 100 * time.Millisecond,
		DiscoveryInterval: 100 * time.Millisecond, Logger: zaptest.NewLogger(t).Named(worker)}
}

type worker struct {
	r      *Resolver
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func startWorker(t testing.TB, cfg Config) *worker {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &worker{r: r, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.err = r.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-w.done
		if w.err != nil {
			t.Errorf("worker: %v", w.err)
		}
	})
	return w
}

// dropResolverState deletes what a resolver keeps, leaving FACT_RAW: the next run starts from nothing.
func dropResolverState(t testing.TB, js jetstream.JetStream) {
	t.Helper()
	ctx := context.Background()
	for _, s := range []string{schemas.ActivityStream, "KV_" + schemas.LeaseBucket, "OBJ_" + schemas.SnapshotBucket} {
		if err := js.DeleteStream(ctx, s); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Fatal(err)
		}
	}
}

// TestWorkersFailover: three workers over 64 partitions and six hosts, one killed mid-stream without
// releasing its leases: its partitions move once the leases expire, and the enriched events are exactly
// those of a single worker reading the same stream: no duplicate, none missing.
func TestWorkersFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs workers for seconds")
	}
	start := time.Now()
	ctx := context.Background()
	s := runServer(t)
	nc := natsservertest.Connect(t, s)
	js, _ := jetstream.New(nc)
	createRawStream(t, js, schemas.DefaultPartitions)
	msgs := toPub(fleet(6, schemas.DefaultPartitions)...)
	half := len(msgs) / 2
	publish(t, js, msgs[:half])
	ptrTB(t, EnsureStreams(ctx, js, StreamsConfig{}))
	out := readActivity(t, js)

	// The fleet stores one process message after the file message it serves (i == 20); under load the
	// two can be stored more than testConfig's 200ms of stream time apart, and the file event would then
	// be released without its process, in both runs alike. A lateness above any such delay keeps the
	// check on enrichment meaningful.
	cfg := func(worker string) Config {
		c := testConfig(t, nc, worker)
		c.Lateness = 2 * time.Second
		return c
	}
	ws := []*worker{startWorker(t, cfg("w1")), startWorker(t, cfg("w2")), startWorker(t, cfg("w3"))}
	waitFor(t, 10*time.Second, "every worker owns partitions and output flows", func() bool {
		n, _ := out.count()
		return n > 0 && len(ws[0].r.Owned()) > 0 && len(ws[1].r.Owned()) > 0 && len(ws[2].r.Owned()) > 0
	})
	rest := msgs[half:]
	publish(t, js, rest[:len(rest)/4])
	killed := ws[0].r.Owned()
	ws[0].cancel() // a crash: the leases are not released
	<-ws[0].done
	publish(t, js, rest[len(rest)/4:])
	waitFor(t, 10*time.Second, "the dead worker's partitions moved", func() bool {
		return len(ws[1].r.Owned())+len(ws[2].r.Owned()) == schemas.DefaultPartitions
	})
	// A hole's gap is released once stream time (or, the stream being quiet, the wall clock) passes it,
	// by whichever worker owns the partition then: on a loaded machine that can come seconds after the
	// last event, so the output must be quiet for longer than that before it is compared.
	out.waitStable(t, 1, 5*time.Second, 45*time.Second)
	three, dead3 := snapshotLog(out)
	ptrTB(t, ws[1].r.Close())
	ptrTB(t, ws[2].r.Close())
	t.Logf("three workers: %d events, %d dead letters; %d partitions moved from the killed worker (%s)",
		len(three), dead3, len(killed), time.Since(start).Round(time.Millisecond))

	dropResolverState(t, js)
	ptrTB(t, EnsureStreams(ctx, js, StreamsConfig{}))
	out1 := readActivity(t, js)
	// The reference run needs no failover: a long lease keeps a loaded machine's slow renewals from moving
	// its partitions, and it waits for as many events as the three workers gave (or times out, and the
	// comparison below names the difference).
	soloCfg := cfg("solo")
	soloCfg.LeaseTTL = 15 * time.Second
	solo := startWorker(t, soloCfg)
	out1.waitStable(t, len(three), 2*time.Second, 30*time.Second)
	one, dead1 := snapshotLog(out1)
	ptrTB(t, solo.r.Close())

	for line, n := range three {
		if n != 1 {
			t.Errorf("published %d times: %s", n, line)
		}
	}
	if !maps.Equal(one, three) || dead1 != dead3 {
		for line := range one {
			if three[line] == 0 {
				t.Errorf("missing with three workers: %s", line)
			}
		}
		for line := range three {
			if one[line] == 0 {
				t.Errorf("only with three workers: %s", line)
			}
		}
		t.Fatalf("one worker: %d events, %d dead letters; three: %d, %d", len(one), dead1, len(three), dead3)
	}
	gaps, rehashed := 0, 0
	for line := range one {
		if strings.Contains(line, `"type":"content"`) && strings.Contains(line, `"old_hash":"sha256:`) {
			rehashed++
		}
		switch {
		case strings.Contains(line, `"type":"gap"`):
			gaps++
		case !strings.Contains(line, `"exe":"/usr/bin/`) || !strings.Contains(line, `"exe":"/usr/bin/bash"`):
			// Every file event comes from a command of the shell: its process events, stored in the
			// partition of (host, 0), must have reached the partition of the file.
			t.Errorf("not enriched with its process and lineage: %s", line)
		}
	}
	apart := 0
	for h := range 6 {
		host := fmt.Sprintf("node-%d", h)
		if p := PartitionOf(host, 0, schemas.DefaultPartitions); p != PartitionOf(host, 0x800+uint64(h), schemas.DefaultPartitions) {
			apart++
		}
	}
	if apart == 0 {
		t.Fatal("no host has its process events in another partition than its files: the test proves nothing")
	}
	if gaps == 0 || dead1 == 0 {
		t.Fatalf("the stream's faults left no trace: %d gaps, %d dead letters", gaps, dead1)
	}
	if rehashed != 2*6 {
		t.Fatalf("%d content events with an old hash, want 2 per host", rehashed)
	}
	t.Logf("one worker: same %d events (%d gaps), %d dead letters; %s in all", len(one), gaps, dead1,
		time.Since(start).Round(time.Millisecond))
}

func snapshotLog(l *activityLog) (map[string]int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.events), l.dead
}

// waitFor polls ok until it holds, for within stretched by the machine's time scale (package testtime).
func waitFor(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	within = testtime.Scaled(within)
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting: %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
