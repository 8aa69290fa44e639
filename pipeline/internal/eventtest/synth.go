package eventtest

import (
	"math/rand/v2"
	"strconv"

	"github.com/factstream/factstream/schemas"
)

// A synthetic filesystem of n inodes: inode 1000+i, one directory for every 11 inodes, each directory
// holding 11 entries (depth about 6 for a million), names like those of a source tree.
const (
	fanout  = 11
	inoBase = 1000
)

// SynthIno is the inode number of the i-th inode of the synthetic filesystem, the root for 0.
func SynthIno(i int) uint64 { return uint64(inoBase + i) }

// SynthDirs is the number of directories of a synthetic filesystem of n inodes: the first ones.
func SynthDirs(n int) int { return n / fanout }

// SynthEntry fills ev with the scan entry (of epoch 1) of inode i (i > 0) of the synthetic filesystem of
// n inodes and returns buf holding its name, which ev.Name shares.
func SynthEntry(ev *schemas.RawEvent, buf []byte, n, i int) []byte {
	buf = buf[:0]
	mode := uint32(FileMode)
	if i < SynthDirs(n) {
		mode = DirMode
		buf = append(buf, "dir-"...)
		buf = strconv.AppendInt(buf, int64(i), 10)
	} else {
		buf = append(buf, "file-"...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, ".txt"...)
	}
	*ev = schemas.RawEvent{Kind: schemas.KindScanEntry, ScanEpoch: 1, Ino: SynthIno(i),
		ParentIno: SynthIno((i - 1) / fanout), Name: buf, Mode: mode, Nlink: 1}
	return buf
}

// SynthWorkload returns a cycle of at least size events over the synthetic filesystem of n inodes that
// leaves it as it found it: files created, written, chmodded, moved to another directory and removed,
// and now and then a directory renamed and renamed back, which invalidates every cached path. The same
// n and size give the same events.
func SynthWorkload(n, size int) []schemas.RawEvent {
	rng := rand.New(rand.NewPCG(1, 2))
	dirs := SynthDirs(n)
	evs := make([]schemas.RawEvent, 0, size+10)
	for k := 0; len(evs) < size; k++ {
		ino := uint64(100_000_000 + k)
		a, b := SynthIno(rng.IntN(dirs)), SynthIno(rng.IntN(dirs))
		name := []byte("new-" + strconv.Itoa(k) + ".tmp")
		moved := []byte("moved-" + strconv.Itoa(k) + ".conf")
		chmod := FileEvent(schemas.KindPermission, ino, a, string(name))
		chmod.Mode, chmod.OldMode = 0o100600, FileMode
		evs = append(evs,
			Create(ino, a, string(name)),
			Open(ino, a, string(name)),
			chmod,
			Rename(ino, a, string(name), b, string(moved), FileMode),
			Unlink(ino, b, string(moved), 1),
		)
		if k%200 == 0 { // one directory rename (and back) per 1000 file events
			d := 1 + rng.IntN(dirs-1)
			p, old := SynthIno((d-1)/fanout), "dir-"+strconv.Itoa(d)
			evs = append(evs,
				Rename(SynthIno(d), p, old, p, old+".bak", DirMode),
				Rename(SynthIno(d), p, old+".bak", p, old, DirMode))
		}
	}
	return evs
}
