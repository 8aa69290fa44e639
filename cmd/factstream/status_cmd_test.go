package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/pipeline"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor"
	"github.com/nats-io/nats.go"
)

// TestStatusCommand: two hosts in FACT_RAW, a resolver worker owning every partition, the sensor of one
// host answering status requests: status lists the streams, the partitions of the hosts with their
// owner and no lag once the worker caught up, the answering sensor with its probe set and losses, and the
// other as not answering.
func TestStatusCommand(t *testing.T) {
	env := newForensicEnv(t)
	for _, host := range []string{"node-1", "node-2"} {
		h := newSimHost(t, env.js, host)
		h.session(schemas.RawEvent{Ino: 10, ParentIno: simRoot, Name: []byte("a.txt"), Mode: fileMode})
		h.command(5001, "/usr/bin/touch", fileEv(schemas.KindCreation, 30, simRoot, "x", fileMode))
		h.wait()
	}
	sub, err := env.nc.Subscribe(schemas.ControlSubject("node-1", schemas.VerbStatus), func(m *nats.Msg) {
		b, _ := json.Marshal(sensor.Status{Host: "node-1", BootID: simBoot, ProbeSet: "lsm", Ready: true, LastSeq: 9,
			Counters: bpf.Counters{"file_open": {Total: 100, RingbufferFull: 7}, "path_mkdir": {RingbufferFull: 2}},
			Hash:     &schemas.HashStatus{BaselineEpoch: 3, BaselineFiles: 50, BaselineDone: 40, Queued: 10, HashedTotal: 44}})
		_ = m.Respond(b)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	live := readLive(t, env.js, false, nil)
	startLiveResolver(t, env, "w1")
	live.waitFor(t, 2, 30*time.Second)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status := func(args ...string) string {
		t.Helper()
		var out strings.Builder
		if errOut, err := runCmd(ctx, &out, append([]string{"status", "--nats", env.url, "--log-level", "error", "--timeout", "300ms"}, args...)...); err != nil {
			t.Fatalf("status: %v\n%s", err, errOut)
		}
		return out.String()
	}
	var r statusReport
	deadline := time.Now().Add(20 * time.Second)
	for {
		r = statusReport{}
		if err := json.Unmarshal([]byte(status("--json")), &r); err != nil {
			t.Fatal(err)
		}
		if caughtUp(r) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkStatusReport(t, r)
	text := status()
	for _, want := range []string{"FACT_RAW", "FACT_ACTIVITY", "RESOLVER WORKERS: 1", "w1", "node-1", "answering", "lsm",
		"node-2", "not answering (no sensor subscribed)", "baseline of epoch 3: 40/50 files, 10 queued, 44 hashed"} {
		if !strings.Contains(text, want) {
			t.Errorf("the table lacks %q:\n%s", want, text)
		}
	}
	t.Logf("status:\n%s", text)
}

// caughtUp says whether every partition with hosts has a checkpoint covering them.
func caughtUp(r statusReport) bool {
	n := 0
	for _, p := range r.Partitions {
		if len(p.Hosts) > 0 {
			n++
			if p.Lag != 0 || p.Owner == "" {
				return false
			}
		}
	}
	return n > 0
}

func checkStatusReport(t *testing.T, r statusReport) {
	t.Helper()
	if len(r.Streams) != 2 || r.Streams[0].Name != schemas.RawStream || !r.Streams[0].Exists || r.Streams[0].Messages != 10 ||
		r.Streams[1].Name != schemas.ActivityStream || !r.Streams[1].Exists {
		t.Errorf("streams: %+v, want FACT_RAW with 10 messages and FACT_ACTIVITY", r.Streams)
	}
	if len(r.Workers) != 1 || r.Workers[0].Worker != "w1" {
		t.Errorf("workers: %+v, want w1", r.Workers)
	}
	for _, host := range []string{"node-1", "node-2"} {
		p := pipeline.PartitionOf(host, simDev, schemas.DefaultPartitions)
		var ps *partitionStatus
		for i := range r.Partitions {
			if r.Partitions[i].Partition == p {
				ps = &r.Partitions[i]
			}
		}
		switch {
		case ps == nil:
			t.Errorf("partition %d of %s not listed: %+v", p, host, r.Partitions)
		case ps.Owner != "w1" || !strings.Contains(strings.Join(ps.Hosts, ","), host) || ps.Worker != "w1" || ps.Epoch == 0:
			t.Errorf("partition %d: %+v, want owner and checkpoint of w1, host %s", p, *ps, host)
		case ps.Lag != 0 || ps.CoveredSeq == 0 || ps.CoveredSeq != ps.RawLastSeq:
			t.Errorf("partition %d: lag %d, covered %d of %d; want caught up", p, ps.Lag, ps.CoveredSeq, ps.RawLastSeq)
		}
	}
	if len(r.Sensors) != 2 {
		t.Fatalf("sensors: %+v, want node-1 and node-2", r.Sensors)
	}
	s1, s2 := r.Sensors[0], r.Sensors[1]
	if s1.Status != nil && (s1.Status.Hash == nil || s1.Status.Hash.BaselineDone != 40) {
		t.Errorf("sensor node-1's hashing: %+v, want the baseline's progress it answered", s1.Status.Hash)
	}
	if s1.Host != "node-1" || !s1.Answering || s1.Status == nil || s1.Status.ProbeSet != "lsm" || s1.Lost != 9 {
		t.Errorf("sensor node-1: %+v, want answering with probe set lsm and 9 lost", s1)
	}
	if s2.Host != "node-2" || s2.Answering || s2.Error == "" {
		t.Errorf("sensor node-2: %+v, want not answering", s2)
	}
}

// TestStatusWithoutStreams: against a bare server, status says what is missing instead of failing.
func TestStatusWithoutStreams(t *testing.T) {
	env := newForensicEnv(t)
	if err := env.js.DeleteStream(context.Background(), schemas.RawStream); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if _, err := runCmd(context.Background(), &out, "status", "--nats", env.url, "--log-level", "error"); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^FACT_RAW +\(none\)`).MatchString(out.String()) {
		t.Errorf("status does not say FACT_RAW is missing:\n%s", out.String())
	}
	for _, want := range []string{"RESOLVER WORKERS: 0", "PARTITIONS: none", "SENSORS: no host"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}

// TestReplayProgressLines: without a terminal, progress is a line at most every few seconds and one at
// the end; with --no-progress nothing.
func TestReplayProgressLines(t *testing.T) {
	var out strings.Builder
	clock := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
	p := newProgress(&out, false, false, "replaying web-1")
	p.now, p.start, p.last = func() time.Time { return clock }, clock, clock
	for i := uint64(1); i <= 100; i++ {
		clock = clock.Add(100 * time.Millisecond)
		p.update(i*1000, 100_000)
	}
	p.finish()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"replaying web-1: 50% (50000 of 100000 messages), 10000 messages/s, ETA 5s",
		"replaying web-1: 100% (100000 of 100000 messages), 10000 messages/s",
		"replaying web-1: read 100000 messages in 10s (10000 messages/s)",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("progress:\n%s\nwant\n%s", out.String(), strings.Join(want, "\n"))
	}
	out.Reset()
	q := newProgress(&out, false, true, "replaying web-1")
	q.update(1, 2)
	q.finish()
	if out.Len() != 0 {
		t.Errorf("--no-progress wrote %q", out.String())
	}
}
