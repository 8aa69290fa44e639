package sensor

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/factstream/factstream/glob"
	"github.com/factstream/factstream/sensor/scan"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// diskPath is where a host path is in the sensor's own mount namespace: under HostRoot.
func (s *Sensor) diskPath(host string) string {
	if s.cfg.HostRoot == "/" || s.cfg.HostRoot == "" {
		return host
	}
	return filepath.Join(s.cfg.HostRoot, host)
}

// kernelPrefix is the path prefix the kernel matches for a host path: the path as the sensor's own
// mount namespace sees it (the probes match prefixes only for tasks in that namespace).
func (s *Sensor) kernelPrefix(host string) string { return s.diskPath(host) }

// kindOnDisk says whether a host path is a directory, something else, or missing.
func (s *Sensor) kindOnDisk(host string) glob.Kind {
	var st unix.Stat_t
	if err := unix.Lstat(s.diskPath(host), &st); err != nil {
		return glob.Missing
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return glob.Dir
	}
	return glob.NotDir
}

// applyPrefixes makes the kernel's path prefixes those set needs (glob.Set.Plan). Callers hold scanMu.
func (s *Sensor) applyPrefixes(set *glob.Set) {
	s.dropStalePrefixes(set)
	want := set.Plan(s.kindOnDisk)
	for _, p := range s.prefixes {
		if !slices.Contains(want, p) {
			if err := s.kernel.RemovePrefix(s.kernelPrefix(p)); err != nil {
				s.log.Warn("removing a kernel path prefix", zap.String("prefix", p), zap.Error(err))
			}
		}
	}
	var have []string
	for _, p := range want {
		if err := s.kernel.AddPrefix(s.kernelPrefix(p)); err != nil {
			s.log.Error("adding a kernel path prefix; events below it are seen only through tracked inodes",
				zap.String("prefix", p), zap.Error(err))
			continue
		}
		have = append(have, p)
	}
	s.prefixes = have
	var watch []string
	for _, p := range have {
		if s.kindOnDisk(p) == glob.Missing {
			watch = append(watch, s.kernelPrefix(p))
		}
	}
	s.missing.Store(&watch)
	s.applyMounts(set)
}

// dropStalePrefixes removes the kernel prefixes that probes continued from an earlier run (pinned) still
// match and set does not want: the paths that run monitored and this one does not. Probes that cannot
// list their prefixes (tests' fakes) have none from before.
func (s *Sensor) dropStalePrefixes(set *glob.Set) {
	lister, ok := s.kernel.(interface{ Prefixes() []string })
	if !ok {
		return
	}
	want := map[string]bool{}
	for _, p := range set.Plan(s.kindOnDisk) {
		want[filepath.Clean(s.kernelPrefix(p))] = true
	}
	for _, p := range lister.Prefixes() {
		if want[p] {
			continue
		}
		if err := s.kernel.RemovePrefix(p); err != nil {
			s.log.Warn("removing a path prefix an earlier run left in the pinned probes", zap.String("prefix", p), zap.Error(err))
			continue
		}
		s.log.Info("removed a path prefix an earlier run left in the pinned probes", zap.String("prefix", p))
	}
}

// checkAppeared is called by the drain loop for a directory created and matched by path: when it is at
// or below a pattern base that was missing, the base exists now, so a rescan can track it.
func (s *Sensor) checkAppeared(p []byte) {
	watch := s.missing.Load()
	if watch == nil {
		return
	}
	for _, w := range *watch {
		if glob.Under(string(p), w) {
			select {
			case s.appeared <- struct{}{}:
			default:
			}
			return
		}
	}
}

// rescanLoop publishes new scan epochs until ctx ends: of every filesystem, with the kernel prefixes
// applied again, each time a missing base appeared (its prefix goes, its inode is tracked instead, and
// what was created in it so far is in the epoch); of the filesystems resolvers asked for, once the
// sensor is ready, each time some are queued.
func (s *Sensor) rescanLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.appeared:
			s.rescan(ctx, true, allDevs, "a monitored base appeared; rescanned")
		case <-s.requestKick:
			if !s.waitReady(ctx) {
				return
			}
			s.rescan(ctx, false, s.takeRequested, "rescanned as asked (by a resolver, or for a directory moved in)")
		}
	}
}

// allDevs selects every filesystem for rescan.
func allDevs() (func(uint64) bool, bool) { return nil, true }

// rescan runs one scan epoch, after applying the kernel prefixes again when prefixes is set, of the
// filesystems which selects (a nil filter: all); which is asked under the scan lock, so that what is
// queued while another scan runs goes into this one, and ok false skips the epoch. done goes to the log.
func (s *Sensor) rescan(ctx context.Context, prefixes bool, which func() (devs func(uint64) bool, ok bool), done string) {
	s.scanMu.Lock()
	devs, ok := which()
	if !ok {
		s.scanMu.Unlock()
		return
	}
	set := s.set.Load()
	if prefixes {
		s.applyPrefixes(set)
	}
	res, err := s.runScan(ctx, set, devs)
	applied := s.prefixes
	s.scanMu.Unlock()
	if err != nil {
		s.log.Warn("rescan failed", zap.String("why", done), zap.Error(err))
		return
	}
	s.batch.flush()
	s.log.Info(done, zap.Uint64("epoch", res.Epoch), zap.Uint64s("devs", res.Devs), zap.Strings("kernel_prefixes", applied))
}

// waitReady waits until the sensor is ready; false when ctx ended first.
func (s *Sensor) waitReady(ctx context.Context) bool {
	for !s.ready.Load() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(100 * time.Millisecond):
		}
	}
	return true
}

// Reload makes paths the monitored patterns without a restart: the kernel's prefixes are updated, a new
// scan epoch covering every pattern is published (tracking what the new patterns need), and then
// inodes only the removed patterns needed are dropped from the tracked set. Unchanged paths do nothing.
func (s *Sensor) Reload(ctx context.Context, paths []string) error {
	set, err := glob.NewSet("paths", paths)
	if err != nil {
		return fmt.Errorf("reloading paths: %w", err)
	}
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	old := s.set.Load()
	if slices.Equal(old.Strings(), set.Strings()) {
		return nil
	}
	s.applyPrefixes(set)
	s.set.Store(set)
	if _, err := s.runScan(ctx, set, nil); err != nil {
		return fmt.Errorf("reloading paths: %w", err)
	}
	removed := removedPatterns(old, set)
	n, err := s.untrack(ctx, removed, set)
	s.log.Info("paths reloaded", zap.Strings("paths", set.Strings()), zap.Strings("removed", removed),
		zap.Int("untracked", n), zap.Strings("kernel_prefixes", s.prefixes))
	return err
}

// removedPatterns are the patterns of old that new lacks.
func removedPatterns(old, new *glob.Set) []string {
	var out []string
	for _, p := range old.Strings() {
		if !slices.Contains(new.Strings(), p) {
			out = append(out, p)
		}
	}
	return out
}

// untrack walks everything below the bases of the removed patterns and drops from the tracked set what
// keep does not track. Inodes the kernel added on its own (directories created later) go too, as long
// as they still exist.
func (s *Sensor) untrack(ctx context.Context, removed []string, keep *glob.Set) (int, error) {
	if len(removed) == 0 {
		return 0, nil
	}
	var all []string
	for _, p := range removed {
		pat, err := glob.Compile(p)
		if err != nil {
			return 0, err
		}
		all = append(all, path.Join(pat.Base(), "**"))
	}
	everything, err := glob.NewSet("removed", all)
	if err != nil {
		return 0, err
	}
	n := 0
	_, err = scan.Walk(ctx, everything, scan.Options{HostRoot: s.cfg.HostRoot}, func(es []scan.Entry) error {
		for i := range es {
			e := &es[i]
			p := e.Path
			if !e.Root {
				p = path.Join(e.Dir, string(e.Name))
			}
			if keep.Cursor(p).Tracked() {
				continue
			}
			if err := s.kernel.Untrack(e.Dev, e.Ino); err != nil {
				s.log.Warn("untracking an inode", zap.String("path", p), zap.Error(err))
				continue
			}
			n++
		}
		return nil
	})
	s.m.untracked.Add(float64(n))
	if err != nil {
		return n, fmt.Errorf("untracking removed paths: %w", err)
	}
	return n, nil
}

// Rescan publishes a new scan epoch of the filesystem holding the host path subtree and re-seeds the
// kernel's tracked set there; it returns the epoch. An epoch always covers a whole filesystem, because a
// resolver replaces its view of (host, dev) at scan_end; subtree chooses which filesystem. It fails with
// ErrNotMonitored for a path no pattern reaches.
func (s *Sensor) Rescan(ctx context.Context, subtree string) (uint64, error) {
	if !s.ready.Load() {
		return 0, ErrNotReady
	}
	if !path.IsAbs(subtree) {
		return 0, fmt.Errorf("rescanning %q: %w: not absolute", subtree, ErrNotMonitored)
	}
	subtree = path.Clean(subtree)
	s.scanMu.Lock()
	defer s.scanMu.Unlock()
	set := s.set.Load()
	if !reaches(set, subtree) {
		return 0, fmt.Errorf("rescanning %q: %w", subtree, ErrNotMonitored)
	}
	var st unix.Stat_t
	if err := unix.Lstat(s.diskPath(subtree), &st); err != nil {
		return 0, fmt.Errorf("rescanning %q: %w", subtree, err)
	}
	dev := st.Dev
	res, err := s.runScan(ctx, set, func(d uint64) bool { return d == dev })
	if err != nil {
		return 0, err
	}
	s.batch.flush()
	return res.Epoch, nil
}

// reaches reports whether some pattern of set covers a path at, above or below p.
func reaches(set *glob.Set, p string) bool {
	for _, pat := range set.Patterns() {
		if glob.Under(p, pat.Base()) || glob.Under(pat.Base(), p) {
			return true
		}
	}
	return false
}

// queueRescan asks the sensor's rescan goroutine to publish a new epoch of filesystem dev (0: every
// monitored filesystem). Requests queued before that goroutine gets to them coalesce into one epoch.
func (s *Sensor) queueRescan(dev uint64) {
	s.requestMu.Lock()
	s.requested[dev] = true
	s.requestMu.Unlock()
	select {
	case s.requestKick <- struct{}{}:
	default:
	}
}

// takeRequested empties the queue of requested filesystems and returns which filesystems to scan: nil
// (all of them) when dev 0 was asked for. ok is false when none was.
func (s *Sensor) takeRequested() (devs func(uint64) bool, ok bool) {
	s.requestMu.Lock()
	defer s.requestMu.Unlock()
	queued := s.requested
	if len(queued) == 0 {
		return nil, false
	}
	s.requested = map[uint64]bool{}
	if queued[0] {
		return nil, true
	}
	return func(dev uint64) bool { return queued[dev] }, true
}
