package pipeline

import (
	"math/rand/v2"
	"strconv"

	"github.com/factstream/factstream/schemas"
)

// The synthetic filesystem of the benchmarks of package projection (its bench_test.go), for the stream
// benchmarks.

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
