package pipeline

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// Benchmarks against an embedded JetStream server with file storage. The stream's size comes from
// FACTSTREAM_BENCH_EVENTS and FACTSTREAM_BENCH_INODES (defaults 300,000 and 60,000, small enough for a
// test run); the target is
//
//	FACTSTREAM_BENCH_EVENTS=5000000 FACTSTREAM_BENCH_INODES=1000000 go test ./pipeline -run '^$' \
//	    -bench 'FromStream' -benchtime 1x -timeout 30m

const benchHost = "node-1"

func benchStreamSize(b *testing.B) (events, inodes int) {
	events, inodes = 300_000, 60_000
	if v, err := strconv.Atoi(os.Getenv("FACTSTREAM_BENCH_EVENTS")); err == nil && v > 0 {
		events = v
	}
	if v, err := strconv.Atoi(os.Getenv("FACTSTREAM_BENCH_INODES")); err == nil && v > 0 {
		inodes = v
	}
	if events < inodes {
		b.Fatalf("FACTSTREAM_BENCH_EVENTS %d below FACTSTREAM_BENCH_INODES %d", events, inodes)
	}
	return events, inodes
}

// streamLoader publishes a synthetic host to FACT_RAW as a sensor does: 2048 events a message.
type streamLoader struct {
	js    jetstream.JetStream
	batch uint64
	seq   uint64
	buf   []schemas.RawEvent
	acks  []jetstream.PubAckFuture
}

func (l *streamLoader) add(b *testing.B, ev *schemas.RawEvent) {
	l.seq++
	e := *ev
	e.Seq, e.Time, e.Dev = l.seq, int64(l.seq), testDev
	l.buf = append(l.buf, e)
	if len(l.buf) == 2048 {
		l.flush(b)
	}
}

func (l *streamLoader) flush(b *testing.B) {
	if len(l.buf) == 0 {
		return
	}
	l.batch++
	data, err := schemas.EncodeBatch(nil, &schemas.Batch{Host: benchHost, BootID: "boot", BatchSeq: l.batch, Dev: testDev, Events: l.buf})
	if err != nil {
		b.Fatal(err)
	}
	l.buf = l.buf[:0]
	f, err := l.js.PublishMsgAsync(&nats.Msg{Subject: schemas.IngestSubject(benchHost, testDev), Data: data})
	if err != nil {
		b.Fatal(err)
	}
	if l.acks = append(l.acks, f); len(l.acks) >= 256 {
		l.wait(b)
	}
}

func (l *streamLoader) wait(b *testing.B) {
	for _, f := range l.acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}
	l.acks = l.acks[:0]
}

// scan publishes a scan epoch of the synthetic filesystem of n inodes.
func (l *streamLoader) scan(b *testing.B, n int) {
	l.add(b, eventtest.Ptr(eventtest.ScanBegin(1)))
	l.add(b, eventtest.Ptr(eventtest.ScanRoot(1, eventtest.SynthIno(0), "/srv/mon")))
	var ev schemas.RawEvent
	var name []byte
	for i := 1; i < n; i++ {
		name = eventtest.SynthEntry(&ev, name, n, i)
		ev.Name = bytes.Clone(name)
		l.add(b, &ev)
	}
	l.add(b, eventtest.Ptr(eventtest.ScanEnd(1)))
}

// work publishes count events of the synthetic workload.
func (l *streamLoader) work(b *testing.B, evs []schemas.RawEvent, count int) {
	for i := range count {
		l.add(b, &evs[i%len(evs)])
	}
}

func (l *streamLoader) done(b *testing.B) {
	l.flush(b)
	l.wait(b)
}

func benchServer(b *testing.B) jetstream.JetStream {
	s := runServer(b)
	js, err := jetstream.New(connect(b, s))
	if err != nil {
		b.Fatal(err)
	}
	createRawStream(b, js, schemas.DefaultPartitions)
	return js
}

// BenchmarkRebuildFromStream measures rebuilding a host's index from FACT_RAW: reading the messages from
// the server, decoding and applying them (scan entries and file events), as a forensic replay or a
// partition starting without a snapshot does. It reports the memory the index keeps per inode.
func BenchmarkRebuildFromStream(b *testing.B) {
	events, inodes := benchStreamSize(b)
	js := benchServer(b)
	l := &streamLoader{js: js}
	start := time.Now()
	l.scan(b, inodes)
	l.work(b, eventtest.SynthWorkload(inodes, 100_000), events-inodes-1)
	l.done(b)
	b.Logf("published %d events over %d inodes in %d messages in %s", l.seq, inodes, l.batch, time.Since(start).Round(time.Millisecond))
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		st, err := Rebuild(context.Background(), js, ReplayOptions{Host: benchHost})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if x := st.Index(testDev); x == nil || x.Len() < inodes/2 {
			b.Fatalf("rebuilt index too small")
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(inodes), "heap-bytes/inode")
		runtime.KeepAlive(st)
	}
	b.ReportMetric(float64(l.seq)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkResumeFromStream measures what a worker taking over a partition does: load the partition's
// snapshot from FACT_SNAPSHOTS and read a tail of 100,000 events from FACT_RAW.
func BenchmarkResumeFromStream(b *testing.B) {
	const tail = 100_000
	events, inodes := benchStreamSize(b)
	js := benchServer(b)
	ctx := context.Background()
	if err := EnsureStreams(ctx, js, StreamsConfig{}); err != nil {
		b.Fatal(err)
	}
	obs, err := js.ObjectStore(ctx, schemas.SnapshotBucket)
	if err != nil {
		b.Fatal(err)
	}
	raw, err := js.Stream(ctx, schemas.RawStream)
	if err != nil {
		b.Fatal(err)
	}
	work := eventtest.SynthWorkload(inodes, 100_000)
	l := &streamLoader{js: js}
	l.scan(b, inodes)
	l.work(b, work, max(events-inodes-1-tail, 0))
	l.done(b)
	cfg := &viewConfig{partition: PartitionOf(benchHost, testDev, schemas.DefaultPartitions), partitions: schemas.DefaultPartitions,
		lateness: int64(DefaultLateness), maxHeld: DefaultMaxHeld}
	v := newHostView(cfg, benchHost, discard{}, &viewStats{})
	if err := readHost(ctx, raw, ReplayOptions{Host: benchHost}, 1, 0, v); err != nil {
		b.Fatal(err)
	}
	var snap bytes.Buffer
	if err := writePartitionSnapshot(&snap, cfg.partition, cfg.partitions, []*hostView{v}); err != nil {
		b.Fatal(err)
	}
	if _, err := obs.PutBytes(ctx, snapshotName(cfg.partition), snap.Bytes()); err != nil {
		b.Fatal(err)
	}
	l.work(b, work, tail)
	l.done(b)
	b.Logf("snapshot of %d inodes: %d bytes", v.idx.Index(Key{Host: benchHost, Dev: testDev}).Len(), snap.Len())
	for b.Loop() {
		data, err := obs.GetBytes(ctx, snapshotName(cfg.partition))
		if err != nil {
			b.Fatal(err)
		}
		views, err := readPartitionSnapshot(bytes.NewReader(data), cfg, discard{}, &viewStats{})
		if err != nil {
			b.Fatal(err)
		}
		r := views[0]
		from := r.next()
		if err := readHost(ctx, raw, ReplayOptions{Host: benchHost}, from, 0, r); err != nil {
			b.Fatal(err)
		}
		r.release(true)
		if r.received <= from {
			b.Fatal("no tail read")
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "resume-s")
}

func connect(b *testing.B, s interface {
	Connect(...nats.Option) (*nats.Conn, error)
}) *nats.Conn {
	nc, err := s.Connect()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	return nc
}

// BenchmarkResolverFromStream measures one Resolver worker end to end: reading a host from FACT_RAW,
// rebuilding its index, enriching every file event and publishing it to FACT_ACTIVITY in atomic commits.
func BenchmarkResolverFromStream(b *testing.B) {
	events, inodes := benchStreamSize(b)
	js := benchServer(b)
	nc := js.Conn()
	ctx := context.Background()
	l := &streamLoader{js: js}
	l.scan(b, inodes)
	work := events - inodes - 1
	l.work(b, eventtest.SynthWorkload(inodes, 100_000), work)
	l.done(b)
	for b.Loop() {
		b.StopTimer()
		dropResolverState(b, js)
		if err := EnsureStreams(ctx, js, StreamsConfig{}); err != nil {
			b.Fatal(err)
		}
		act, err := js.Stream(ctx, schemas.ActivityStream)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		reg := prometheus.NewRegistry()
		r, err := New(Config{Conn: nc, WorkerID: "bench", LeaseTTL: time.Second, Registry: reg})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		if n := countActivities(b, act, work); n != work {
			b.Fatalf("%d events published, want %d", n, work)
		}
		b.StopTimer()
		if mfs, err := reg.Gather(); err == nil {
			for _, mf := range mfs {
				if mf.GetName() == "factstream_resolver_commit_seconds" {
					h := mf.GetMetric()[0].GetHistogram()
					b.Logf("%d commits, %.3fs in all", h.GetSampleCount(), h.GetSampleSum())
				}
			}
		}
		if err := r.Close(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(l.seq)*float64(b.N)/b.Elapsed().Seconds(), "raw-events/s")
	b.ReportMetric(float64(work)*float64(b.N)/b.Elapsed().Seconds(), "published/s")
}

// countActivities reads FACT_ACTIVITY until want events have come.
func countActivities(b *testing.B, act jetstream.Stream, want int) int {
	cons, err := act.OrderedConsumer(context.Background(), jetstream.OrderedConsumerConfig{FilterSubjects: []string{schemas.ActivityPrefix + ".>"}})
	if err != nil {
		b.Fatal(err)
	}
	iter, err := cons.Messages()
	if err != nil {
		b.Fatal(err)
	}
	defer iter.Stop()
	n := 0
	for n < want {
		m, err := iter.Next()
		if err != nil {
			b.Fatal(err)
		}
		h, err := schemas.DecodeActivityHeader(m.Data())
		if err != nil {
			b.Fatal(err)
		}
		n += h.Events
	}
	return n
}
