package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// TestFencing: once a new owner has claimed a partition, a commit of the former owner is refused whole,
// and an owner with an older epoch cannot claim.
func TestFencing(t *testing.T) {
	ctx := context.Background()
	s := runServer(t)
	js, _ := jetstream.New(natsservertest.Connect(t, s))
	ptrTB(t, EnsureStreams(ctx, js, StreamsConfig{}))
	act, err := js.Stream(ctx, schemas.ActivityStream)
	ptrTB(t, err)
	msg := func() []*nats.Msg {
		return []*nats.Msg{{Subject: schemas.ActivitySubject("h", "open"), Data: []byte("x")}}
	}
	a := chain{js: js, stream: act, partition: 3, epoch: 10, worker: "a"}
	ptrTB(t, a.claim(ctx))
	ptrTB(t, a.commit(ctx, msg(), map[string]ViewMark{"h": {Emitted: 1}}))
	b := chain{js: js, stream: act, partition: 3, epoch: 11, worker: "b"}
	ptrTB(t, b.claim(ctx))
	if b.last.Hosts["h"].Emitted != 1 {
		t.Fatalf("the claim lost the counts: %+v", b.last)
	}
	if err := a.commit(ctx, msg(), map[string]ViewMark{"h": {Emitted: 2}}); !errors.Is(err, ErrFenced) {
		t.Fatalf("a stale owner committed: %v", err)
	}
	info, err := act.Info(ctx, jetstream.WithSubjectFilter(schemas.ActivityPrefix+".>"))
	ptrTB(t, err)
	if info.State.Subjects[schemas.ActivitySubject("h", "open")] != 1 {
		t.Fatalf("messages of a refused commit landed: %v", info.State.Subjects)
	}
	old := chain{js: js, stream: act, partition: 3, epoch: 9, worker: "c"}
	if err := old.claim(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("an older epoch claimed: %v", err)
	}
	ptrTB(t, b.commit(ctx, msg(), map[string]ViewMark{"h": {Emitted: 2}}))
}

// TestFaultsOverNATS: a resolver dead-letters unreadable messages with the reason in a header, reports
// a lost batch (seen only once the stream has been quiet), a loss event and the dead letter as gaps, asks
// the sensor to rescan, counts it all, and keeps going.
func TestFaultsOverNATS(t *testing.T) {
	ctx := context.Background()
	s := runServer(t)
	nc := natsservertest.Connect(t, s)
	js, _ := jetstream.New(nc)
	createRawStream(t, js, schemas.DefaultPartitions)
	ptrTB(t, EnsureStreams(ctx, js, StreamsConfig{}))

	var mu sync.Mutex
	var rescans []schemas.RescanRequest
	sub, err := nc.Subscribe(schemas.ControlSubject("node-1", schemas.VerbRescan), func(m *nats.Msg) {
		var r schemas.RescanRequest
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Error(err)
		}
		mu.Lock()
		rescans = append(rescans, r)
		mu.Unlock()
	})
	ptrTB(t, err)
	defer sub.Unsubscribe()

	sim := newSensorSim("node-1", schemas.DefaultPartitions)
	session(sim, eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode))
	sim.emitAll(by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash"))
	sim.emitAll(schemas.RawEvent{Kind: schemas.KindLoss, Lost: 7, Hook: "inode_unlink"})
	v2 := append([]byte(nil), sim.msgs[len(sim.msgs)-1].data...)
	v2[1] = 2 // a newer schema version
	sim.stream++
	sim.msgs = append(sim.msgs, rawMsg{subject: sim.msgs[len(sim.msgs)-1].subject, seq: sim.stream, data: v2})
	sim.batch++ // a batch that never arrives
	sim.emitAll(by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash"))
	publish(t, js, toPub(sim))

	out := readActivity(t, js)
	dlq := deadLetters(t, js)
	reg := prometheus.NewRegistry()
	cfg := testConfig(t, nc, "w")
	cfg.Registry = reg
	w := startWorker(t, cfg)
	waitFor(t, 10*time.Second, "three gaps, two opens and a dead letter", func() bool {
		lines, _ := snapshotLog(out)
		gaps, opens := 0, 0
		for l := range lines {
			gaps += strings.Count(l, `"type":"gap"`)
			opens += strings.Count(l, `"type":"open"`)
		}
		mu.Lock()
		defer mu.Unlock()
		return gaps == 3 && opens == 2 && len(dlq.msgs()) == 1 && len(rescans) == 3
	})
	ptrTB(t, w.r.Close())
	d := dlq.msgs()[0]
	if r := d.Headers().Get(schemas.HeaderDLQReason); !strings.Contains(r, "unknown schema version") ||
		d.Headers().Get(schemas.HeaderDLQSequence) == "" || string(d.Data()) != string(v2) {
		t.Fatalf("dead letter %q %v", r, d.Headers())
	}
	for name, want := range map[string]float64{"factstream_resolver_dead_letters_total": 1, "factstream_resolver_gaps_total": 3} {
		if got := gathered(t, reg, name); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	reasons := ""
	for _, r := range rescans {
		reasons += r.Reason + "; "
	}
	for _, want := range []string{"7 records lost at inode_unlink", "unreadable raw message", "sensor sequence hole"} {
		if !strings.Contains(reasons, want) {
			t.Errorf("no rescan for %q in %s", want, reasons)
		}
	}
}

type dlqLog struct {
	mu sync.Mutex
	m  []jetstream.Msg
}

func (d *dlqLog) msgs() []jetstream.Msg {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m
}

func deadLetters(t *testing.T, js jetstream.JetStream) *dlqLog {
	s, err := js.Stream(context.Background(), schemas.ActivityStream)
	ptrTB(t, err)
	cons, err := s.OrderedConsumer(context.Background(), jetstream.OrderedConsumerConfig{FilterSubjects: []string{schemas.DeadLetterRawSubject}})
	ptrTB(t, err)
	d := &dlqLog{}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		d.mu.Lock()
		d.m = append(d.m, m)
		d.mu.Unlock()
	})
	ptrTB(t, err)
	t.Cleanup(cc.Stop)
	return d
}

func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	ptrTB(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return -1
}

// TestTailLost: when FACT_RAW no longer holds what a partition's snapshot needs, the worker taking the
// partition says so, reports a gap, asks for a rescan, and goes on from what the stream has.
func TestTailLost(t *testing.T) {
	ctx := context.Background()
	s := runServer(t)
	nc := natsservertest.Connect(t, s)
	js, _ := jetstream.New(nc)
	raw := createRawStream(t, js, schemas.DefaultPartitions)
	ptrTB(t, EnsureStreams(ctx, js, StreamsConfig{}))
	sim := newSensorSim("node-1", schemas.DefaultPartitions)
	session(sim, eventtest.ScanEntry(1, aTxt, srvMon, "a.txt", eventtest.FileMode))
	sim.emitAll(by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash"))
	publish(t, js, toPub(sim))
	sent := len(sim.msgs)

	out := readActivity(t, js)
	w := startWorker(t, testConfig(t, nc, "w"))
	obs, err := js.ObjectStore(ctx, schemas.SnapshotBucket)
	ptrTB(t, err)
	waitFor(t, 10*time.Second, "a snapshot", func() bool {
		_, err := obs.GetInfo(ctx, snapshotName(PartitionOf("node-1", testDev, schemas.DefaultPartitions)))
		return err == nil
	})
	ptrTB(t, w.r.Close())

	sim.emitAll(by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash"))
	sim.emitAll(by(eventtest.Open(aTxt, srvMon, "a.txt"), shellPid, shellSt, "bash"))
	publish(t, js, toPub(sim)[sent:])
	ptrTB(t, raw.Purge(ctx, jetstream.WithPurgeSequence(uint64(sent+2)))) // retention took the tail's start

	var rescans []schemas.RescanRequest
	var mu sync.Mutex
	sub, err := nc.Subscribe(schemas.ControlSubject("node-1", schemas.VerbRescan), func(m *nats.Msg) {
		var r schemas.RescanRequest
		_ = json.Unmarshal(m.Data, &r)
		mu.Lock()
		rescans = append(rescans, r)
		mu.Unlock()
	})
	ptrTB(t, err)
	defer sub.Unsubscribe()
	reg := prometheus.NewRegistry()
	cfg := testConfig(t, nc, "w2")
	cfg.Registry = reg
	w2 := startWorker(t, cfg)
	waitFor(t, 10*time.Second, "a gap for the lost tail and a rescan", func() bool {
		lines, _ := snapshotLog(out)
		mu.Lock()
		defer mu.Unlock()
		for l := range lines {
			if strings.Contains(l, "raw stream no longer holds sequences") {
				return len(rescans) == 1
			}
		}
		return false
	})
	ptrTB(t, w2.r.Close())
	if got := gathered(t, reg, "factstream_resolver_tail_lost_total"); got != 1 {
		t.Fatalf("tail_lost_total = %v", got)
	}
}
