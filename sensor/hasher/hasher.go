package hasher

import (
	"container/heap"
	"context"
	"fmt"
	"hash"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"
)

// Hasher is the pool: requests wait per identity until quiet, then a worker hashes the file.
type Hasher struct {
	cfg     Config
	newHash func() hash.Hash
	limiter *rate.Limiter // nil: unpaced
	chunk   int           // bytes read (and waited for) at a time
	metrics *metrics

	fsMu sync.RWMutex
	fs   map[uint64]*filesystem

	mu      sync.Mutex
	entries map[Identity]*entry   // waiting or being hashed
	inodes  map[inodeKey]Identity // the identity in entries of each inode, for Repath
	// background counts the entries SubmitWait queued that no Submit has taken over since.
	background int
	queue      queue         // the waiting ones Submit queued, soonest due first
	backlog    queue         // the waiting ones SubmitWait queued: handed out only when no queue entry is due
	wake       chan struct{} // closed (and replaced) when the queue changes
	state      runState
}

type runState int

const (
	notStarted runState = iota
	running
	stopped
)

// entry is one identity waiting or being hashed.
type entry struct {
	req       Request
	due       time.Time
	coalesced int    // requests merged since the last attempt began
	hashing   bool   // a worker has it
	again     bool   // a request came while hashing: hash once more
	retries   int    // attempts after changed_during_hash so far
	index     int    // in its heap, -1 when not waiting
	in        *queue // the heap it waits in (Hasher.queue or backlog), nil when not waiting
	// background marks an entry SubmitWait queued, counted in Hasher.background until it is forgotten
	// or a Submit replaces its request.
	background bool
}

// New validates cfg, fills its defaults and returns a Hasher; nothing runs until Run.
func New(cfg Config) (*Hasher, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Hasher{cfg: cfg, newHash: digest(cfg.Algorithm), chunk: 64 << 10,
		fs: map[uint64]*filesystem{}, entries: map[Identity]*entry{}, inodes: map[inodeKey]Identity{}, wake: make(chan struct{})}
	if h.metrics, err = newMetrics(cfg.Registerer); err != nil {
		return nil, err
	}
	if cfg.BytesPerSecond > 0 {
		h.chunk = int(min(int64(h.chunk), cfg.BytesPerSecond))
		h.limiter = rate.NewLimiter(rate.Limit(cfg.BytesPerSecond), h.chunk)
	}
	return h, nil
}

// Close closes the descriptors AddFilesystem opened. Call it after Run has returned (or instead of
// Run); it is safe to call twice.
func (h *Hasher) Close() error { return h.closeFilesystems() }

// Submit asks for req's file to be hashed once its identity has been quiet for Config.Quiet. A request
// for an identity already waiting replaces that one's request and pushes its deadline; beyond
// Config.QueueSize identities it is answered at once, on OnResult, with StateRateLimited. It returns
// ErrStopped once Run has returned.
func (h *Hasher) Submit(req Request) error {
	h.mu.Lock()
	if h.state == stopped {
		h.mu.Unlock()
		return fmt.Errorf("submitting %+v: %w", req.ID, ErrStopped)
	}
	due := time.Now().Add(h.cfg.Quiet)
	e := h.entries[req.ID]
	switch {
	case e == nil && len(h.entries) >= h.cfg.QueueSize:
		h.mu.Unlock()
		h.deliver(Result{ID: req.ID, Algorithm: h.cfg.Algorithm, State: StateRateLimited,
			Reason: fmt.Sprintf("%d files waiting or being hashed", h.cfg.QueueSize), Request: req, Coalesced: 1})
		return nil
	case e == nil:
		e = &entry{req: req, due: due, coalesced: 1, index: -1}
		h.add(e)
		h.wait(e)
	default:
		h.metrics.coalesced.Inc()
		waiting := !e.hashing
		if waiting {
			heap.Remove(e.in, e.index)
			e.in = nil
		}
		h.foreground(e)
		e.req, e.due = req, due
		e.coalesced++
		if waiting {
			h.wait(e)
		} else {
			e.again = true
		}
	}
	h.changed()
	h.mu.Unlock()
	return nil
}

// SubmitWait queues req as background work (a scan's baseline): unlike Submit it is never answered
// with StateRateLimited, but waits while the background share of the queue (half of Config.QueueSize)
// or the whole queue is full, so that a large baseline never starves the requests Submit makes. A request
// for an identity already waiting or being hashed (a hard link listed twice) is merged into it: that
// attempt reports the file, and queued is false. It returns ctx's error when ctx ends first, and
// ErrStopped once Run has returned.
func (h *Hasher) SubmitWait(ctx context.Context, req Request) (queued bool, _ error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		if h.state == stopped {
			return false, fmt.Errorf("submitting %+v: %w", req.ID, ErrStopped)
		}
		if h.entries[req.ID] != nil {
			h.metrics.coalesced.Inc()
			return false, nil
		}
		if h.background < h.backgroundLimit() && len(h.entries) < h.cfg.QueueSize {
			break
		}
		wake := h.wake
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			h.mu.Lock()
			return false, fmt.Errorf("submitting %+v: %w", req.ID, ctx.Err())
		case <-wake:
		}
		h.mu.Lock()
	}
	e := &entry{req: req, due: time.Now().Add(h.cfg.Quiet), coalesced: 1, index: -1, background: true}
	h.add(e)
	h.background++
	h.wait(e)
	h.changed()
	return true, nil
}

// backgroundLimit is how many entries SubmitWait may hold at once.
func (h *Hasher) backgroundLimit() int { return max(h.cfg.QueueSize/2, 1) }

// foreground stops counting e as background work; h.mu is held.
func (h *Hasher) foreground(e *entry) {
	if e.background {
		e.background = false
		h.background--
	}
}

// Queued reports how many identities wait or are being hashed, and how many of them SubmitWait queued.
func (h *Hasher) Queued() (all, background int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.entries), h.background
}

// changed wakes the workers waiting for the queue, and SubmitWait; h.mu is held.
func (h *Hasher) changed() {
	close(h.wake)
	h.wake = make(chan struct{})
	h.metrics.queueDepth.Set(float64(len(h.queue) + len(h.backlog)))
}

// wait puts e in the heap its kind waits in; h.mu is held.
func (h *Hasher) wait(e *entry) {
	e.in = &h.queue
	if e.background {
		e.in = &h.backlog
	}
	heap.Push(e.in, e)
}

// due pops the entry to hash now: Submit's soonest if it is due, else SubmitWait's soonest if due. Else
// it returns how long until one of them is. h.mu is held.
func (h *Hasher) due() (*entry, time.Duration) {
	wait := time.Hour
	for _, q := range []*queue{&h.queue, &h.backlog} {
		if len(*q) == 0 {
			continue
		}
		e := (*q)[0]
		if w := time.Until(e.due); w > 0 {
			wait = min(wait, w)
			continue
		}
		heap.Pop(q)
		e.in = nil
		return e, 0
	}
	return nil, wait
}

// Run hashes with Config.Workers workers until ctx ends, and returns when every one has ended; an
// attempt under way is abandoned without a result, and requests still waiting are dropped. Run runs
// once: it returns ErrStopped when called again.
func (h *Hasher) Run(ctx context.Context) error {
	h.mu.Lock()
	if h.state != notStarted {
		h.mu.Unlock()
		return fmt.Errorf("running the hasher: %w", ErrStopped)
	}
	h.state = running
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.state = stopped
		h.changed() // SubmitWait returns ErrStopped
		h.mu.Unlock()
	}()
	g, ctx := errgroup.WithContext(ctx)
	for range h.cfg.Workers {
		g.Go(func() error {
			h.work(ctx)
			return nil
		})
	}
	return g.Wait()
}

// work hashes due entries until ctx ends.
func (h *Hasher) work(ctx context.Context) {
	w := &worker{h: h, buf: make([]byte, h.chunk)}
	for {
		e, job, ok := h.next(ctx)
		if !ok {
			return
		}
		res, err := w.hash(ctx, job.req)
		if err != nil { // ctx ended
			return
		}
		res.Coalesced = job.coalesced
		h.finish(e, res)
	}
}

// next waits for the soonest entry to come due and hands it out, with a copy of it taken at that time.
func (h *Hasher) next(ctx context.Context) (*entry, entry, bool) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		h.mu.Lock()
		e, wait := h.due()
		if e != nil {
			e.hashing = true
			job := *e
			e.coalesced = 0
			h.changed()
			h.mu.Unlock()
			return e, job, true
		}
		wake := h.wake
		h.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil, entry{}, false
		case <-wake:
		case <-timer.C:
		}
	}
}

// finish delivers an attempt's result and then waits the entry again (a retry after
// changed_during_hash, or a request that came meanwhile) or forgets it. The result goes out before the
// entry can be handed out again, so an identity's results arrive in order.
func (h *Hasher) finish(e *entry, res Result) {
	h.mu.Lock()
	retry := res.State == StateChangedDuringHash && e.retries < h.cfg.MaxRetries
	// A file gone from its path may be on its way to a new one (Repath): try again, quietly, before
	// saying it is unreadable.
	moved := res.pathGone && (e.again || e.retries < h.cfg.MaxRetries)
	h.mu.Unlock()
	res.Retry = retry
	if !moved {
		h.deliver(res)
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	e.hashing = false
	switch {
	case moved && !e.again:
		e.retries++
		e.due = later(e.due, time.Now().Add(h.cfg.Quiet))
	case retry:
		e.retries++
		e.due = later(e.due, time.Now().Add(h.cfg.Quiet))
	case e.again:
		e.retries = 0
	default:
		h.foreground(e)
		h.remove(e)
		h.changed() // room for SubmitWait
		return
	}
	e.again = false
	h.wait(e)
	h.changed()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// deliver counts res and hands it to OnResult.
func (h *Hasher) deliver(res Result) {
	h.metrics.count(res)
	h.cfg.OnResult(res)
}

// queue is a min-heap of waiting entries by due time (container/heap).
type queue []*entry

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}
func (q *queue) Push(x any) {
	e := x.(*entry)
	e.index = len(*q)
	*q = append(*q, e)
}
func (q *queue) Pop() any {
	old := *q
	e := old[len(old)-1]
	old[len(old)-1] = nil
	e.index = -1
	*q = old[:len(old)-1]
	return e
}

// inodeKey is an inode without its generation.
type inodeKey struct{ dev, ino uint64 }

// add puts e in entries; h.mu is held.
func (h *Hasher) add(e *entry) {
	h.entries[e.req.ID] = e
	h.inodes[inodeKey{e.req.ID.Dev, e.req.ID.Ino}] = e.req.ID
}

// remove takes e out of entries; h.mu is held.
func (h *Hasher) remove(e *entry) {
	delete(h.entries, e.req.ID)
	k := inodeKey{e.req.ID.Dev, e.req.ID.Ino}
	if h.inodes[k] == e.req.ID {
		delete(h.inodes, k)
	}
}

// Repath follows a rename the caller saw after the release it asked about: the request waiting or being
// hashed for inode (dev, ino), if any, falls back to the path to(old) from now on, old being its own
// ("" when it has none). A file renamed before it was hashed (a vim-style save, sed -i) is thus still
// found by path where no handle can be built; the inode check still guards what is read. An attempt
// already under way with the old path is followed by one more.
func (h *Hasher) Repath(dev, ino uint64, to func(old string) string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id, ok := h.inodes[inodeKey{dev, ino}]
	if !ok {
		return
	}
	e := h.entries[id]
	if e == nil {
		return
	}
	if p := to(e.req.Path); p != e.req.Path {
		e.req.Path = p
		if e.hashing {
			e.again = true
		}
	}
}
