package projection

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
)

// synthIndex scans the synthetic filesystem of n inodes into a new index.
func synthIndex(n int) *Index {
	x := NewIndex()
	x.Apply(eventtest.Ptr(eventtest.ScanBegin(1)))
	x.Apply(eventtest.Ptr(eventtest.ScanRoot(1, eventtest.SynthIno(0), "/srv/mon")))
	var ev schemas.RawEvent
	var buf []byte
	for i := 1; i < n; i++ {
		buf = eventtest.SynthEntry(&ev, buf, n, i)
		x.Apply(&ev)
	}
	x.Apply(eventtest.Ptr(eventtest.ScanEnd(1)))
	return x
}

func benchInodes(b *testing.B) int {
	if testing.Short() {
		return 100_000
	}
	return 1_000_000
}

// BenchmarkIndexApply measures file events applied per second to an index of a million inodes, with the
// paths the enricher needs computed for each.
func BenchmarkIndexApply(b *testing.B) {
	n := benchInodes(b)
	x := synthIndex(n)
	evs := eventtest.SynthWorkload(n, 100_000)
	var sink int
	b.ReportAllocs()
	i := 0
	cpu := startCPU(b)
	for b.Loop() {
		c := x.Apply(&evs[i])
		sink += len(c.Path) + len(c.OldPath)
		if i++; i == len(evs) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	cpu.report(b, b.N, "events/cpu-s")
	if sink == 0 {
		b.Fatal("no paths")
	}
}

// BenchmarkIndexScan measures scan entries applied per second and the memory the index holds per inode.
func BenchmarkIndexScan(b *testing.B) {
	n := benchInodes(b)
	var before, after runtime.MemStats
	cpu := startCPU(b)
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		x := synthIndex(n)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "bytes/inode")
		runtime.KeepAlive(x)
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "entries/s")
	cpu.report(b, b.N*n, "entries/cpu-s")
}

// BenchmarkSnapshotWrite measures writing the snapshot of an index of a million inodes.
func BenchmarkSnapshotWrite(b *testing.B) {
	n := benchInodes(b)
	x := synthIndex(n)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := x.WriteSnapshot(&buf, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len())/float64(n), "bytes/inode")
}

// BenchmarkResume measures what a worker taking over a partition does: read the snapshot of an index of
// a million inodes and apply a tail of 100,000 events.
func BenchmarkResume(b *testing.B) {
	n := benchInodes(b)
	var buf bytes.Buffer
	if err := synthIndex(n).WriteSnapshot(&buf, 1); err != nil {
		b.Fatal(err)
	}
	tail := eventtest.SynthWorkload(n, 100_000)
	for b.Loop() {
		y, _, err := ReadSnapshot(bytes.NewReader(buf.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		for i := range tail {
			y.Apply(&tail[i])
		}
	}
}

// BenchmarkRebuild measures rebuilding from raw batches in memory: decoding 256-event batches and
// applying them, which is what a worker does per message when replaying FACT_RAW, without NATS.
func BenchmarkRebuild(b *testing.B) {
	n := benchInodes(b)
	s := NewIndexes()
	s.m[Key{"node-1", 0}] = synthIndex(n)
	evs := eventtest.SynthWorkload(n, 100_000)
	var msgs [][]byte
	for i := 0; i < len(evs); i += 256 {
		batch := schemas.Batch{Host: "node-1", BootID: "boot", BatchSeq: uint64(i), Events: evs[i:min(i+256, len(evs))]}
		data, err := schemas.EncodeBatch(nil, &batch)
		if err != nil {
			b.Fatal(err)
		}
		msgs = append(msgs, data)
	}
	var batch schemas.Batch
	events := 0
	i := 0
	cpu := startCPU(b)
	for b.Loop() {
		if err := schemas.DecodeBatch(msgs[i], &batch); err != nil {
			b.Fatal(err)
		}
		s.ApplyBatch(&batch, nil)
		events += len(batch.Events)
		if i++; i == len(msgs) {
			i = 0
		}
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	cpu.report(b, events, "events/cpu-s")
}
