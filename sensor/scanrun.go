package sensor

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/factstream/factstream/glob"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/scan"
	"github.com/factstream/factstream/sensor/seqstore"
	"go.uber.org/zap"
)

// ScanResult describes one scan epoch; the status reply carries the last one.
type ScanResult = schemas.ScanResult

// scanEpoch turns the entries of one walk into scan records of one epoch, tracking each inode in the
// kernel. A filesystem's scan_begin goes out before its first entry; scan_end after the walk.
type scanEpoch struct {
	s     *Sensor
	epoch uint64

	mu     sync.Mutex
	begun  map[uint64]bool
	evs    []schemas.RawEvent
	warned bool
	hash   bool                   // regular files are hashed for the baseline
	want   func(host string) bool // which of them; nil: all
	files  []baselineFile
}

// runScan walks set (only the filesystems devs accepts, when set) as a new epoch, and queues every
// regular file it found for the baseline. Callers hold scanMu.
func (s *Sensor) runScan(ctx context.Context, set *glob.Set, devs func(uint64) bool) (ScanResult, error) {
	res, _, err := s.runHashedScan(ctx, set, devs, nil)
	return res, err
}

// runHashedScan is runScan hashing only the regular files want selects by host path (nil: all); it also
// returns how many were queued (none when hashing is off). Callers hold scanMu.
func (s *Sensor) runHashedScan(ctx context.Context, set *glob.Set, devs func(uint64) bool, want func(string) bool) (ScanResult, int, error) {
	epoch, err := s.seqs.Next(seqstore.Epochs, 1)
	if err != nil {
		return ScanResult{}, 0, fmt.Errorf("numbering a scan epoch: %w", err)
	}
	sc := &scanEpoch{s: s, epoch: epoch, begun: map[uint64]bool{}, hash: s.hasher != nil, want: want}
	st, err := scan.Walk(ctx, set, scan.Options{HostRoot: s.cfg.HostRoot, Devs: devs}, sc.sink)
	s.m.scanErrors.Add(float64(st.Errors))
	for _, e := range st.Samples {
		s.log.Warn("scan could not read an entry", zap.Error(e))
	}
	if err != nil {
		return ScanResult{}, 0, fmt.Errorf("scanning epoch %d: %w", epoch, err)
	}
	res := ScanResult{Epoch: epoch, Entries: st.Entries, Devs: sc.end(), Missing: st.Missing, Errors: st.Errors, Duration: st.Duration}
	s.m.scans.Inc()
	s.m.scanEntries.Add(float64(st.Entries))
	s.m.scanDuration.Observe(st.Duration.Seconds())
	s.lastScan.Store(&res)
	s.log.Info("scan epoch published", zap.Uint64("epoch", epoch), zap.Int64("entries", st.Entries),
		zap.Uint64s("devs", res.Devs), zap.Strings("missing_roots", st.Missing), zap.Int64("errors", st.Errors),
		zap.Duration("took", st.Duration), zap.Float64("entries_per_second", float64(st.Entries)/max(st.Duration.Seconds(), 1e-9)),
		zap.Int("files_to_hash", len(sc.files)))
	if sc.hash {
		s.base.add(&baselineJob{epoch: epoch, files: sc.files, full: devs == nil && want == nil})
	}
	return res, len(sc.files), nil
}

// sink publishes a chunk of entries and tracks their inodes.
func (sc *scanEpoch) sink(entries []scan.Entry) error {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	now := time.Now().UnixNano()
	sc.evs = sc.evs[:0]
	for i := range entries {
		e := &entries[i]
		if !sc.begun[e.Dev] {
			sc.begun[e.Dev] = true
			sc.evs = append(sc.evs, schemas.RawEvent{Kind: schemas.KindScanBegin, Probe: schemas.ProbeScan, Time: now,
				Dev: e.Dev, ScanEpoch: sc.epoch, Ino: e.Ino, Path: []byte(e.Path)})
		}
		ev := schemas.RawEvent{Kind: schemas.KindScanEntry, Probe: schemas.ProbeScan, Time: now, Dev: e.Dev,
			ScanEpoch: sc.epoch, Ino: e.Ino, ParentIno: e.ParentIno, Name: e.Name, Mode: e.Mode, Nlink: e.Nlink, UID: e.UID, GID: e.GID}
		if e.Root {
			ev.Flags, ev.Path = schemas.FlagScanRoot, []byte(e.Path)
		}
		sc.evs = append(sc.evs, ev)
		sc.track(e)
		sc.collect(e)
	}
	return sc.s.batch.addAll(sc.evs, fromScan)
}

// track adds an entry's inode to the kernel's tracked set; failures (a full set) are counted and logged
// once per epoch.
func (sc *scanEpoch) track(e *scan.Entry) {
	if err := sc.s.kernel.Track(e.Dev, e.Ino); err != nil {
		sc.s.m.trackErrors.Inc()
		if !sc.warned {
			sc.warned = true
			sc.s.log.Warn("kernel refused to track an inode; events on it are seen only through its directory or by path",
				zap.Uint64("dev", e.Dev), zap.Uint64("ino", e.Ino), zap.Error(err))
		}
	}
}

// end publishes scan_end for every filesystem of the epoch and returns them.
func (sc *scanEpoch) end() []uint64 {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	devs := make([]uint64, 0, len(sc.begun))
	for dev := range sc.begun {
		devs = append(devs, dev)
	}
	slices.Sort(devs)
	now := time.Now().UnixNano()
	sc.evs = sc.evs[:0]
	for _, dev := range devs {
		sc.evs = append(sc.evs, schemas.RawEvent{Kind: schemas.KindScanEnd, Probe: schemas.ProbeScan, Time: now, Dev: dev, ScanEpoch: sc.epoch})
	}
	if err := sc.s.batch.addAll(sc.evs, fromScan); err != nil {
		sc.s.log.Error("cannot end scan epoch", zap.Uint64("epoch", sc.epoch), zap.Error(err))
	}
	return devs
}
