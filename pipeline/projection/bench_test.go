package projection

import (
	"bytes"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"

	"github.com/factstream/factstream/schemas"
)

// A synthetic filesystem of n inodes: inode 1000+i, one directory for every 11 inodes, each directory
// holding 11 entries (depth about 6 for a million), names like those of a source tree.
const (
	fanout  = 11
	inoBase = 1000
)

func synthIno(i int) uint64 { return uint64(inoBase + i) }

func synthDirs(n int) int { return n / fanout }

// synthEntry fills ev with the scan entry of inode i (i > 0); buf holds its name.
func synthEntry(ev *schemas.RawEvent, buf []byte, n, i int) []byte {
	buf = buf[:0]
	mode := uint32(fileMode)
	if i < synthDirs(n) {
		mode = dirMode
		buf = append(buf, "dir-"...)
		buf = strconv.AppendInt(buf, int64(i), 10)
	} else {
		buf = append(buf, "file-"...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, ".txt"...)
	}
	*ev = schemas.RawEvent{Kind: schemas.KindScanEntry, ScanEpoch: 1, Ino: synthIno(i),
		ParentIno: synthIno((i - 1) / fanout), Name: buf, Mode: mode, Nlink: 1}
	return buf
}

// synthIndex scans the synthetic filesystem of n inodes into a new index.
func synthIndex(n int) *Index {
	x := NewIndex()
	x.Apply(ptr(scanBegin(1)))
	x.Apply(ptr(scanRoot(1, synthIno(0), "/srv/mon")))
	var ev schemas.RawEvent
	var buf []byte
	for i := 1; i < n; i++ {
		buf = synthEntry(&ev, buf, n, i)
		x.Apply(&ev)
	}
	x.Apply(ptr(scanEnd(1)))
	return x
}

// synthWorkload returns a cycle of events over the synthetic filesystem that leaves it as it found it:
// files created, written, chmodded, moved to another directory and removed, and now and then a directory
// renamed and renamed back, which invalidates every cached path.
func synthWorkload(n, size int) []schemas.RawEvent {
	rng := rand.New(rand.NewPCG(1, 2))
	dirs := synthDirs(n)
	evs := make([]schemas.RawEvent, 0, size+10)
	for k := 0; len(evs) < size; k++ {
		ino := uint64(100_000_000 + k)
		a, b := synthIno(rng.IntN(dirs)), synthIno(rng.IntN(dirs))
		name := []byte("new-" + strconv.Itoa(k) + ".tmp")
		moved := []byte("moved-" + strconv.Itoa(k) + ".conf")
		chmod := fileEvent(schemas.KindPermission, ino, a, string(name))
		chmod.Mode, chmod.OldMode = 0o100600, fileMode
		evs = append(evs,
			create(ino, a, string(name)),
			open(ino, a, string(name)),
			chmod,
			rename(ino, a, string(name), b, string(moved), fileMode),
			unlink(ino, b, string(moved), 1),
		)
		if k%200 == 0 { // one directory rename (and back) per 1000 file events
			d := 1 + rng.IntN(dirs-1)
			p, old := synthIno((d-1)/fanout), "dir-"+strconv.Itoa(d)
			evs = append(evs,
				rename(synthIno(d), p, old, p, old+".bak", dirMode),
				rename(synthIno(d), p, old+".bak", p, old, dirMode))
		}
	}
	return evs
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
	evs := synthWorkload(n, 100_000)
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
	tail := synthWorkload(n, 100_000)
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
	evs := synthWorkload(n, 100_000)
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
