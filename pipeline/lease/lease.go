package lease

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Defaults applied to zero fields of Config.
const (
	DefaultTTL = 10 * time.Second
)

// Config configures a Manager.
type Config struct {
	// JS is the JetStream context; required.
	JS jetstream.JetStream
	// Worker names this worker, unique among workers: letters, digits, '-' and '_'.
	Worker string
	// Partitions is the number of partitions, schemas.DefaultPartitions when zero.
	Partitions int
	// TTL is how long a lease or heartbeat lives without renewal, DefaultTTL when zero. It is the
	// bucket's TTL: an existing bucket with another TTL is updated.
	TTL time.Duration
	// Renew is how often leases are renewed and shares recomputed, TTL/4 when zero.
	Renew time.Duration
	// Replicas of the bucket on creation, 1 when zero.
	Replicas int
	// Logger, zap.NewNop() when nil.
	Logger *zap.Logger
}

func (c Config) withDefaults() (Config, error) {
	switch {
	case c.JS == nil:
		return c, fmt.Errorf("%w: JS is nil", ErrInvalidConfig)
	case c.Worker == "" || strings.Trim(c.Worker, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "":
		return c, fmt.Errorf("%w: Worker %q: want letters, digits, '-' and '_'", ErrInvalidConfig, c.Worker)
	case c.Partitions < 0 || c.TTL < 0 || c.Renew < 0:
		return c, fmt.Errorf("%w: negative Partitions, TTL or Renew", ErrInvalidConfig)
	}
	if c.Partitions == 0 {
		c.Partitions = schemas.DefaultPartitions
	}
	if c.TTL == 0 {
		c.TTL = DefaultTTL
	}
	if c.Renew == 0 {
		c.Renew = c.TTL / 4
	}
	if c.Renew >= c.TTL {
		return c, fmt.Errorf("%w: Renew %s not below TTL %s", ErrInvalidConfig, c.Renew, c.TTL)
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c, nil
}

// Lease is one owned partition.
type Lease struct {
	Partition int
	// Epoch is the KV revision that created the lease; a later owner of the partition has a higher one.
	Epoch  uint64
	Worker string
}

// Owner works on a leased partition until ctx ends, which happens when the lease is lost or released.
// When it returns early, the lease is released.
type Owner func(ctx context.Context, l Lease)

// Manager acquires, renews and releases this worker's leases.
type Manager struct {
	cfg  Config
	kv   jetstream.KeyValue
	log  *zap.Logger
	quit chan struct{}
	stop sync.Once

	mu   sync.Mutex
	held map[int]*held
}

type held struct {
	lease   Lease
	rev     uint64 // the revision to update from
	renewed time.Time
	cancel  context.CancelFunc
	done    chan struct{}
}

// Record is the value of a lease key (p.<partition>) or a heartbeat key (w.<worker>), for operators:
// which worker wrote it, and when (the last renewal).
type Record struct {
	Worker string    `json:"worker"`
	Since  time.Time `json:"since,omitzero"`
}

// New creates the bucket (or sets its TTL) and returns a Manager.
func New(ctx context.Context, cfg Config) (*Manager, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	kv, err := cfg.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: schemas.LeaseBucket, Description: "factstream resolver partition leases (p.<n>) and worker heartbeats (w.<id>)",
		History: 1, TTL: cfg.TTL, Storage: jetstream.FileStorage, Replicas: cfg.Replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("provisioning bucket %s: %w", schemas.LeaseBucket, err)
	}
	return &Manager{cfg: cfg, kv: kv, log: cfg.Logger.With(zap.String("worker", cfg.Worker)),
		quit: make(chan struct{}), held: make(map[int]*held)}, nil
}

// Owned returns the leases held now, by partition.
func (m *Manager) Owned() []Lease {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Lease, 0, len(m.held))
	for _, h := range m.held {
		out = append(out, h.lease)
	}
	slices.SortFunc(out, func(a, b Lease) int { return cmp.Compare(a.Partition, b.Partition) })
	return out
}

// Stop makes Run release every lease and the heartbeat and return: a graceful leave, after which the
// other workers take the partitions at once instead of after a TTL.
func (m *Manager) Stop() { m.stop.Do(func() { close(m.quit) }) }

// Run keeps this worker's fair share of leases, running owner for each, until ctx ends (the leases are
// left to expire) or Stop is called (they are released). It returns ctx.Err() or nil.
func (m *Manager) Run(ctx context.Context, owner Owner) error {
	t := time.NewTicker(m.cfg.Renew)
	defer t.Stop()
	m.heartbeat(ctx)
	// Wait a round so that workers starting together see each other before taking shares.
	for first := true; ; first = false {
		select {
		case <-ctx.Done():
			m.stopAll(false)
			return ctx.Err()
		case <-m.quit:
			m.stopAll(true)
			m.leave()
			return nil
		case <-t.C:
		}
		m.tick(ctx, owner, first)
	}
}

func (m *Manager) tick(ctx context.Context, owner Owner, first bool) {
	m.heartbeat(ctx)
	m.reap()
	m.renew(ctx)
	workers, taken, err := m.list(ctx)
	if err != nil {
		m.log.Warn("cannot list leases", zap.Error(err))
		return
	}
	if !slices.Contains(workers, m.cfg.Worker) {
		workers = append(workers, m.cfg.Worker)
		slices.Sort(workers)
	}
	target := share(workers, m.cfg.Worker, m.cfg.Partitions)
	mine := m.partitions()
	switch {
	case len(mine) > target:
		m.shed(ctx, mine, len(mine)-target)
	case len(mine) < target && !first:
		m.acquire(ctx, owner, taken, target-len(mine))
	}
}

// share is the number of partitions worker should own among workers (sorted).
func share(workers []string, worker string, n int) int {
	w := len(workers)
	rank, _ := slices.BinarySearch(workers, worker)
	s := n / w
	if rank < n%w {
		s++
	}
	return s
}

// score ranks partitions for a worker (rendezvous hashing).
func score(worker string, p int) uint32 {
	h := fnv.New32a()
	h.Write([]byte(worker))
	h.Write([]byte{'/'})
	h.Write(strconv.AppendInt(nil, int64(p), 10))
	return h.Sum32()
}

func leaseKey(p int) string     { return "p." + strconv.Itoa(p) }
func workerKey(w string) string { return "w." + w }

// ParseKey tells what a key of the bucket is: a partition's lease (partition >= 0) or a worker's
// heartbeat (worker set). ok is false for any other key.
func ParseKey(key string) (partition int, worker string, ok bool) {
	if w, found := strings.CutPrefix(key, "w."); found {
		return -1, w, true
	}
	if n, found := strings.CutPrefix(key, "p."); found {
		if p, err := strconv.Atoi(n); err == nil && p >= 0 {
			return p, "", true
		}
	}
	return -1, "", false
}
func (m *Manager) value() []byte {
	b, _ := json.Marshal(Record{Worker: m.cfg.Worker, Since: time.Now().UTC()})
	return b
}
func (m *Manager) timeout() time.Duration { return m.cfg.Renew }

func (m *Manager) heartbeat(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout())
	defer cancel()
	if _, err := m.kv.Put(ctx, workerKey(m.cfg.Worker), m.value()); err != nil {
		m.log.Warn("heartbeat failed", zap.Error(err))
	}
}

// list returns the live workers (sorted) and the partitions leased by anyone.
func (m *Manager) list(ctx context.Context) ([]string, map[int]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout())
	defer cancel()
	keys, err := m.kv.Keys(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil, err
	}
	var workers []string
	taken := make(map[int]bool)
	for _, k := range keys {
		if w, ok := strings.CutPrefix(k, "w."); ok {
			workers = append(workers, w)
		} else if p, ok := strings.CutPrefix(k, "p."); ok {
			if n, err := strconv.Atoi(p); err == nil {
				taken[n] = true
			}
		}
	}
	slices.Sort(workers)
	return workers, taken, nil
}

func (m *Manager) partitions() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := make([]int, 0, len(m.held))
	for p := range m.held {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	return ps
}

// renew updates every lease; a lease that cannot be renewed for a TTL, or whose key changed, is lost.
func (m *Manager) renew(ctx context.Context) {
	for _, p := range m.partitions() {
		m.mu.Lock()
		h := m.held[p]
		m.mu.Unlock()
		rctx, cancel := context.WithTimeout(ctx, m.timeout())
		rev, err := m.kv.Update(rctx, leaseKey(p), m.value(), h.rev)
		cancel()
		switch {
		case err == nil:
			h.rev, h.renewed = rev, time.Now()
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyNotFound) ||
			time.Since(h.renewed) > m.cfg.TTL-m.cfg.Renew/2:
			m.log.Warn("lease lost", zap.Int("partition", p), zap.Uint64("epoch", h.lease.Epoch), zap.Error(err))
			m.drop(p, false)
		default:
			m.log.Warn("lease renewal failed; retrying", zap.Int("partition", p), zap.Error(err))
		}
	}
}

// reap releases the leases whose owner returned by itself.
func (m *Manager) reap() {
	for _, p := range m.partitions() {
		m.mu.Lock()
		h := m.held[p]
		m.mu.Unlock()
		select {
		case <-h.done:
			m.log.Info("partition owner stopped; releasing its lease", zap.Int("partition", p))
			m.drop(p, true)
		default:
		}
	}
}

// shed releases n partitions, those this worker prefers least.
func (m *Manager) shed(ctx context.Context, mine []int, n int) {
	slices.SortFunc(mine, func(a, b int) int { return cmp.Compare(score(m.cfg.Worker, a), score(m.cfg.Worker, b)) })
	for _, p := range mine[:n] {
		m.log.Info("releasing partition for another worker", zap.Int("partition", p))
		m.drop(p, true)
	}
}

// acquire takes up to n free partitions, those this worker prefers most first.
func (m *Manager) acquire(ctx context.Context, owner Owner, taken map[int]bool, n int) {
	var free []int
	for p := range m.cfg.Partitions {
		if !taken[p] {
			free = append(free, p)
		}
	}
	slices.SortFunc(free, func(a, b int) int { return cmp.Compare(score(m.cfg.Worker, b), score(m.cfg.Worker, a)) })
	for _, p := range free {
		if n == 0 {
			return
		}
		cctx, cancel := context.WithTimeout(ctx, m.timeout())
		rev, err := m.kv.Create(cctx, leaseKey(p), m.value())
		cancel()
		if err != nil {
			if !errors.Is(err, jetstream.ErrKeyExists) {
				m.log.Warn("cannot acquire partition", zap.Int("partition", p), zap.Error(err))
			}
			continue
		}
		n--
		m.start(ctx, owner, Lease{Partition: p, Epoch: rev, Worker: m.cfg.Worker}, rev)
	}
}

func (m *Manager) start(ctx context.Context, owner Owner, l Lease, rev uint64) {
	octx, cancel := context.WithCancel(ctx)
	h := &held{lease: l, rev: rev, renewed: time.Now(), cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	m.held[l.Partition] = h
	m.mu.Unlock()
	m.log.Info("partition acquired", zap.Int("partition", l.Partition), zap.Uint64("epoch", l.Epoch))
	go func() {
		defer close(h.done)
		owner(octx, l)
	}()
}

// drop stops the owner of p and forgets the lease; release also deletes the key so that another worker
// can take it at once.
func (m *Manager) drop(p int, release bool) {
	m.mu.Lock()
	h := m.held[p]
	delete(m.held, p)
	m.mu.Unlock()
	if h == nil {
		return
	}
	h.cancel()
	<-h.done
	if !release {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.timeout())
	defer cancel()
	if err := m.kv.Delete(ctx, leaseKey(p), jetstream.LastRevision(h.rev)); err != nil {
		m.log.Warn("cannot release lease; it will expire", zap.Int("partition", p), zap.Error(err))
	}
}

// stopAll stops every owner, releasing the leases when release is set.
func (m *Manager) stopAll(release bool) {
	for _, p := range m.partitions() {
		m.drop(p, release)
	}
}

// leave removes the heartbeat.
func (m *Manager) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), m.timeout())
	defer cancel()
	if err := m.kv.Delete(ctx, workerKey(m.cfg.Worker)); err != nil {
		m.log.Warn("cannot remove heartbeat; it will expire", zap.Error(err))
	}
}
