package pipeline

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
	for b.Loop() {
		c := x.Apply(&evs[i])
		sink += len(c.Path) + len(c.OldPath)
		if i++; i == len(evs) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if sink == 0 {
		b.Fatal("no paths")
	}
}

// BenchmarkIndexScan measures scan entries applied per second and the memory the index holds per inode.
func BenchmarkIndexScan(b *testing.B) {
	n := benchInodes(b)
	var before, after runtime.MemStats
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
}

// BenchmarkSnapshot measures writing and reading the snapshot of an index of a million inodes, and
// resuming from it with a tail of 100,000 events.
func BenchmarkSnapshot(b *testing.B) {
	n := benchInodes(b)
	x := synthIndex(n)
	tail := synthWorkload(n, 100_000)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := x.WriteSnapshot(&buf, 1); err != nil {
			b.Fatal(err)
		}
		y, _, err := ReadSnapshot(bytes.NewReader(buf.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		for i := range tail {
			y.Apply(&tail[i])
		}
	}
	b.ReportMetric(float64(buf.Len())/float64(n), "snapshot-bytes/inode")
}
