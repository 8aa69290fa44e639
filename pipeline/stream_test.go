package pipeline

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/factstream/factstream/internal/natsserver"
	"github.com/factstream/factstream/internal/natsserver/natsservertest"
	"github.com/factstream/factstream/schemas"
)

// A synthetic sensor for tests: it numbers events and batches like a real one and turns them into
// FACT_RAW messages of one host, process events on dev 0, the others on their filesystem.

const (
	testDev  = 0x10303
	testBoot = "boot-1"
	msPerMsg = int64(1_000_000) // stream time between messages, 1 ms
)

type sensorSim struct {
	host       string
	boot       string
	dev        uint64 // the filesystem of file events
	partitions int
	seq        uint64 // sensor event sequence
	batch      uint64 // sensor batch sequence
	stream     uint64 // FACT_RAW sequence
	ts         int64  // FACT_RAW time
	msgs       []rawMsg
}

func newSensorSim(host string, partitions int) *sensorSim {
	return &sensorSim{host: host, boot: testBoot, dev: testDev, partitions: partitions, ts: 1_764_000_000_000_000_000}
}

// number gives events their sequence numbers and times.
func (s *sensorSim) number(evs []schemas.RawEvent) {
	for i := range evs {
		s.seq++
		evs[i].Seq = s.seq
		if evs[i].Time == 0 {
			evs[i].Time = s.ts + int64(s.seq)
		}
		if evs[i].Probe == 0 {
			evs[i].Probe = schemas.ProbeLSM
		}
	}
}

// publish makes one message of evs, all of filesystem dev (0 for process events).
func (s *sensorSim) publish(dev uint64, evs []schemas.RawEvent) rawMsg {
	s.batch++
	for i := range evs {
		if !evs[i].Kind.Process() {
			evs[i].Dev = dev
		}
	}
	data, err := schemas.EncodeBatch(nil, &schemas.Batch{Host: s.host, BootID: s.boot, BatchSeq: s.batch, Dev: dev, Events: evs})
	if err != nil {
		panic(err)
	}
	s.stream++
	s.ts += msPerMsg
	m := rawMsg{subject: rawSubject(s.host, dev, s.partitions), seq: s.stream, ts: s.ts, data: data}
	s.msgs = append(s.msgs, m)
	return m
}

func rawSubject(host string, dev uint64, n int) string {
	return schemas.RawPrefix + "." + strconv.Itoa(PartitionOf(host, dev, n)) + "." + host + "." + strconv.FormatUint(dev, 10)
}

// emitAll sends file events and process events as a sensor would: numbered in order, one message per
// kind of subject and run of events.
func (s *sensorSim) emitAll(evs ...schemas.RawEvent) {
	s.number(evs)
	for start := 0; start < len(evs); {
		proc := evs[start].Kind.Process()
		end := start + 1
		for end < len(evs) && evs[end].Kind.Process() == proc {
			end++
		}
		dev := uint64(0)
		if !proc {
			dev = s.dev
		}
		s.publish(dev, evs[start:end])
		start = end
	}
}

// collector is a sink that keeps copies.
type collector struct {
	acts    []schemas.Activity
	dead    []deadLetter
	rescans []schemas.RescanRequest
}

func (c *collector) activity(a *schemas.Activity) { c.acts = append(c.acts, cloneActivity(a)) }
func (c *collector) deadLetter(d *deadLetter)     { c.dead = append(c.dead, *d) }
func (c *collector) rescan(r schemas.RescanRequest) {
	c.rescans = append(c.rescans, r)
}

func cloneActivity(a *schemas.Activity) schemas.Activity {
	var b schemas.ActivityBatch
	if err := schemas.DecodeActivityBatch(schemas.EncodeActivityBatch(nil, &schemas.ActivityBatch{Host: a.Host, Type: a.Type,
		Events: []schemas.Activity{*a}}), &b); err != nil {
		panic(err)
	}
	return b.Events[0]
}

func (c *collector) lines() []string {
	var out []string
	for i := range c.acts {
		out = append(out, string(schemas.AppendActivityJSON(nil, &c.acts[i])))
	}
	return out
}

// by sets the acting process of a file event.
func by(ev schemas.RawEvent, tgid uint32, start uint64, comm string) schemas.RawEvent {
	ev.Proc = schemas.Process{Pid: tgid, Tgid: tgid, UID: 1000, GID: 1000, LoginUID: 1000, Comm: []byte(comm), Start: start}
	return ev
}

func ptrTB(tb interface {
	Helper()
	Fatal(...any)
}, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// runServer starts a JetStream server for a test. Its store is removed with retries: nats-server's
// atomic-batch stores of a file stream may still be flushing for a moment after shutdown.
func runServer(t testing.TB) *natsserver.Server {
	t.Helper()
	dir, err := os.MkdirTemp("", "factstream-pipeline-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if err := os.RemoveAll(dir); err == nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("cannot remove %s", dir)
	})
	return natsservertest.RunServerWith(t, natsserver.Config{StoreDir: dir, Port: natsserver.RandomPort})
}
