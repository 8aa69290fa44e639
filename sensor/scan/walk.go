package scan

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/factstream/factstream/glob"
	"golang.org/x/sys/unix"
)

// Entry is one reported directory entry.
type Entry struct {
	Dev, Ino  uint64
	ParentIno uint64 // the directory holding Name; 0 for a root
	Name      []byte // the dentry name; a root's last path component
	Mode      uint32 // st_mode: type and permissions
	Nlink     uint32
	UID, GID  uint32
	// Root marks an entry whose directory is not reported: a pattern's base, or the top of another
	// filesystem. Path is then its host path.
	Root bool
	Path string
	// Dir is the host path of the directory holding the entry ("/" for a child of the root).
	Dir string
}

// IsDir reports whether the entry is a directory.
func (e *Entry) IsDir() bool { return e.Mode&unix.S_IFMT == unix.S_IFDIR }

// Sink receives entries; it is called concurrently from the workers and must serialize itself. The
// slice and the names in it are valid only during the call. An error stops the walk.
type Sink func(entries []Entry) error

// Options tune a Walk. The zero value walks the host's own root with GOMAXPROCS workers (at most 4).
type Options struct {
	// HostRoot is where the host's root is mounted ("" or "/" when the sensor runs on the host).
	HostRoot string
	// Workers is the number of goroutines listing directories.
	Workers int
	// Devs, when set, limits the reported entries to filesystems for which it returns true; the walk
	// still descends through the others.
	Devs func(dev uint64) bool
}

// Stats count what a walk did.
type Stats struct {
	Entries  int64            // entries reported
	Dirs     int64            // directories listed
	Listed   int64            // names read from directories
	Stats    int64            // fstatat calls
	PerDev   map[uint64]int64 // entries reported per filesystem
	Missing  []string         // roots that do not exist
	Errors   int64            // entries or directories skipped because of an error
	Samples  []error          // the first few of those errors
	Duration time.Duration
}

const maxSamples = 8

func (s *Stats) add(o *Stats) {
	s.Entries += o.Entries
	s.Dirs += o.Dirs
	s.Listed += o.Listed
	s.Stats += o.Stats
	s.Errors += o.Errors
	for dev, n := range o.PerDev {
		s.PerDev[dev] += n
	}
	for _, e := range o.Samples {
		if len(s.Samples) < maxSamples {
			s.Samples = append(s.Samples, e)
		}
	}
}

func (s *Stats) fail(err error) {
	s.Errors++
	if len(s.Samples) < maxSamples {
		s.Samples = append(s.Samples, err)
	}
}

// Walk walks every root of set and reports to sink the entries whose inodes belong in the tracked set.
// It returns early only when ctx ends or sink fails; unreadable entries are counted in Stats.
func Walk(ctx context.Context, set *glob.Set, opts Options, sink Sink) (Stats, error) {
	start := time.Now()
	if opts.HostRoot == "/" {
		opts.HostRoot = ""
	}
	if opts.Workers <= 0 {
		opts.Workers = min(runtime.GOMAXPROCS(0), 4)
	}
	w := &walk{opts: opts, sink: sink, ctx: ctx}
	w.q.cond.L = &w.q.mu
	total := Stats{PerDev: map[uint64]int64{}}
	first := newWorker(w)
	for _, root := range set.Roots() {
		if err := first.root(set.Cursor(root), root); err != nil {
			return total, err
		}
	}
	total.Missing = first.stats.Missing
	workers := make([]*worker, opts.Workers)
	workers[0] = first
	var wg sync.WaitGroup
	for i := range workers {
		if workers[i] == nil {
			workers[i] = newWorker(w)
		}
		wg.Go(workers[i].run)
	}
	wg.Wait()
	for _, wk := range workers {
		total.add(&wk.stats)
	}
	total.Duration = time.Since(start)
	return total, w.err
}

// walk is the state shared by the workers of one Walk.
type walk struct {
	opts Options
	sink Sink
	ctx  context.Context
	q    queue

	errOnce sync.Once
	err     error
}

func (w *walk) abort(err error) {
	w.errOnce.Do(func() { w.err = err })
	w.q.abort()
}

func (w *walk) disk(host string) string {
	if w.opts.HostRoot == "" {
		return host
	}
	if host == "/" {
		return w.opts.HostRoot
	}
	return w.opts.HostRoot + host
}

func (w *walk) wantDev(dev uint64) bool { return w.opts.Devs == nil || w.opts.Devs(dev) }

// job is a directory to list.
type job struct {
	host     string // its host path
	cur      glob.Cursor
	dev, ino uint64
	reported bool // its own entry was reported, so its children link to it
}

// queue is the shared stack of directories to list; the walk ends when it is empty and no worker is
// listing.
type queue struct {
	mu      sync.Mutex
	cond    sync.Cond
	jobs    []job
	busy    int
	stopped bool
}

func (q *queue) push(js []job) {
	if len(js) == 0 {
		return
	}
	q.mu.Lock()
	q.jobs = append(q.jobs, js...)
	q.mu.Unlock()
	q.cond.Broadcast()
}

// pop returns the next directory, waiting while others may still add some.
func (q *queue) pop() (job, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.jobs) == 0 && q.busy > 0 && !q.stopped {
		q.cond.Wait()
	}
	if q.stopped || len(q.jobs) == 0 {
		q.stopped = true
		q.cond.Broadcast()
		return job{}, false
	}
	j := q.jobs[len(q.jobs)-1]
	q.jobs = q.jobs[:len(q.jobs)-1]
	q.busy++
	return j, true
}

func (q *queue) done(js []job) {
	q.mu.Lock()
	q.jobs = append(q.jobs, js...)
	q.busy--
	q.mu.Unlock()
	q.cond.Broadcast()
}

func (q *queue) abort() {
	q.mu.Lock()
	q.stopped = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

// worker lists directories; its buffers are reused from one directory to the next.
type worker struct {
	w     *walk
	buf   []byte
	chunk []Entry
	subs  []job
	stats Stats
}

func newWorker(w *walk) *worker {
	return &worker{w: w, buf: make([]byte, 64<<10), stats: Stats{PerDev: map[uint64]int64{}}}
}

func (k *worker) run() {
	for {
		j, ok := k.w.q.pop()
		if !ok {
			return
		}
		if err := k.w.ctx.Err(); err != nil {
			k.w.abort(err)
		} else if err := k.dir(j); err != nil {
			k.w.abort(err)
		}
		k.w.q.done(k.subs)
		k.subs = k.subs[:0]
	}
}

// root reports a walk root and queues it when it is a directory.
func (k *worker) root(cur glob.Cursor, host string) error {
	var st unix.Stat_t
	if err := unix.Lstat(k.w.disk(host), &st); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			k.stats.Missing = append(k.stats.Missing, host)
			return nil
		}
		k.stats.fail(fmt.Errorf("stat root %q: %w", host, err))
		return nil
	}
	isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
	if isDir && pseudo(k.w.disk(host)) {
		return nil
	}
	report := k.w.wantDev(st.Dev) && ((isDir && cur.Tracked()) || (!isDir && cur.Matched()))
	if report {
		e := entryOf(&st, nameOf(host), 0)
		e.Root, e.Path, e.Dir = true, host, parentOf(host)
		k.count(&e)
		if err := k.w.sink([]Entry{e}); err != nil {
			return err
		}
	}
	if isDir && cur.Descend() {
		k.w.q.push([]job{{host: host, cur: cur, dev: st.Dev, ino: st.Ino, reported: report}})
	}
	return nil
}

func (k *worker) count(e *Entry) {
	k.stats.Entries++
	k.stats.PerDev[e.Dev]++
}

func entryOf(st *unix.Stat_t, name []byte, parent uint64) Entry {
	return Entry{
		Dev: st.Dev, Ino: st.Ino, ParentIno: parent, Name: name, Mode: st.Mode,
		Nlink: uint32(st.Nlink), UID: st.Uid, GID: st.Gid,
	}
}

func nameOf(host string) []byte {
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == '/' {
			if i == len(host)-1 {
				return []byte("/")
			}
			return []byte(host[i+1:])
		}
	}
	return []byte(host)
}

func parentOf(host string) string {
	for i := len(host) - 1; i > 0; i-- {
		if host[i] == '/' {
			return host[:i]
		}
	}
	return "/"
}

func join(dir string, name []byte) string {
	if dir == "/" {
		return "/" + string(name)
	}
	return dir + "/" + string(name)
}
