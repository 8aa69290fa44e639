package sensor

import (
	"context"
	"errors"
	"path"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/factstream/factstream/glob"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/hasher"
	"github.com/factstream/factstream/sensor/scan"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// The baseline: after a scan epoch is published, the regular files it found are hashed in the
// background, through the hasher's background share (SubmitWait), so that readiness never waits for
// them and live closes are never crowded out. Each result is a content event with Probe ProbeScan, no
// process, no path and no generation (Generation 0: unknown), named by its inode: the resolver compares
// it with what its index holds instead of taking it for a write.

// HashStatus is the baseline's progress in the status reply; the wire's type.
type HashStatus = schemas.HashStatus

// baselineFile is a regular file a scan epoch found.
type baselineFile struct {
	dev, ino, parentIno uint64
	name                []byte
	mode                uint32
	host                string // its host path
}

// baselineJob is the files of one scan epoch to hash, and how far hashing them got.
type baselineJob struct {
	epoch uint64
	files []baselineFile
	done  atomic.Int64 // files answered (a final result, or merged into another request)
	// full marks a job of every regular file of every monitored filesystem, which makes the jobs queued
	// before it redundant.
	full bool
}

// baselineToken travels with a baseline file's request through the hasher.
type baselineToken struct {
	ev  schemas.RawEvent
	job *baselineJob
}

// baseline queues the jobs of the scan epochs for the goroutine that submits them.
type baseline struct {
	mu      sync.Mutex
	pending []*baselineJob
	kick    chan struct{}
	current atomic.Pointer[baselineJob] // the job submitted last
	hashed  atomic.Uint64               // content events with a digest, of every kind
}

func newBaseline() *baseline { return &baseline{kick: make(chan struct{}, 1)} }

// add queues job; a full one replaces the jobs still waiting, whose files it hashes again anyway.
func (b *baseline) add(job *baselineJob) {
	b.mu.Lock()
	if job.full {
		clear(b.pending)
		b.pending = b.pending[:0]
	}
	b.pending = append(b.pending, job)
	b.mu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// next waits for the next job; nil once ctx ended.
func (b *baseline) next(ctx context.Context) *baselineJob {
	for {
		b.mu.Lock()
		if len(b.pending) > 0 {
			job := b.pending[0]
			b.pending = b.pending[1:]
			b.mu.Unlock()
			return job
		}
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-b.kick:
		}
	}
}

// hashUnder selects the files that one of globs (compiled as a glob.Set) matches, or that are below a
// directory one matches: `/etc/ssh` selects everything under it, `/etc/*.conf` only what it names.
func hashUnder(globs []string) (func(host string) bool, error) {
	set, err := glob.NewSet("paths", globs)
	if err != nil {
		return nil, err
	}
	return func(host string) bool {
		for p := host; ; p = path.Dir(p) {
			if set.Match(p) {
				return true
			}
			if p == "/" || p == "." {
				return false
			}
		}
	}, nil
}

// collect keeps the entries of a scan chunk that are regular files want selects; sc.mu is held.
func (sc *scanEpoch) collect(e *scan.Entry) {
	if !sc.hash || e.Mode&unix.S_IFMT != unix.S_IFREG {
		return
	}
	host := e.Path
	if !e.Root {
		host = path.Join(e.Dir, string(e.Name))
	}
	if sc.want != nil && !sc.want(host) {
		return
	}
	sc.files = append(sc.files, baselineFile{dev: e.Dev, ino: e.Ino, parentIno: e.ParentIno,
		name: append([]byte(nil), e.Name...), mode: e.Mode, host: host})
}

// baselineLoop hands the files of each queued scan epoch to the hasher until ctx ends.
func (s *Sensor) baselineLoop(ctx context.Context) {
	for {
		job := s.base.next(ctx)
		if job == nil {
			return
		}
		s.base.current.Store(job)
		s.m.baselineFiles.Set(float64(len(job.files)))
		s.m.baselineDone.Set(0)
		if err := s.submitBaseline(ctx, job); err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, hasher.ErrStopped) {
				s.log.Warn("baseline hashing stopped", zap.Uint64("epoch", job.epoch), zap.Error(err))
			}
			return
		}
	}
}

// submitBaseline submits every file of job, waiting for room in the hasher's background share.
func (s *Sensor) submitBaseline(ctx context.Context, job *baselineJob) error {
	for i := range job.files {
		f := &job.files[i]
		tok := &baselineToken{job: job, ev: schemas.RawEvent{Kind: schemas.KindContent, Probe: schemas.ProbeScan,
			Dev: f.dev, Ino: f.ino, ParentIno: f.parentIno, Name: f.name, Mode: f.mode}}
		req := hasher.Request{ID: hasher.Identity{Dev: f.dev, Ino: f.ino}, GenUnknown: true,
			Path: filepath.Join(s.cfg.HostRoot, f.host), Token: tok}
		queued, err := s.hasher.SubmitWait(ctx, req)
		if err != nil {
			return err
		}
		if !queued { // another name of an inode already waiting: that attempt reports it
			s.baselineAnswered(job)
		}
		job.files[i] = baselineFile{}
	}
	return nil
}

// baselineAnswered counts one more file of job answered.
func (s *Sensor) baselineAnswered(job *baselineJob) {
	n := job.done.Add(1)
	if s.base.current.Load() == job {
		s.m.baselineDone.Set(float64(n))
	}
}

// hashStatus reports the baseline's progress and the hasher's queue; nil when hashing is off.
func (s *Sensor) hashStatus() *HashStatus {
	if s.hasher == nil {
		return nil
	}
	st := &HashStatus{HashedTotal: s.base.hashed.Load()}
	st.Queued, st.BaselineQueued = s.hasher.Queued()
	if job := s.base.current.Load(); job != nil {
		st.BaselineEpoch, st.BaselineFiles, st.BaselineDone = job.epoch, int64(len(job.files)), job.done.Load()
	}
	s.base.mu.Lock()
	st.BaselinePending = len(s.base.pending)
	s.base.mu.Unlock()
	return st
}
