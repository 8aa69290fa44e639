package sensor

import (
	"bytes"
	"errors"
	"path/filepath"
	"time"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/schemas"
	"github.com/factstream/factstream/sensor/hasher"
	"go.uber.org/zap"
)

// A file's last release after a write (the kernel's close_write record, converted to a content event
// without a hash) is handed to the hasher, off the drain path; the content event is batched once the
// hasher has answered, with the digest or the reason there is none.

// HookHashingOff names the loss of close_write records that came while hashing is off (hash.algorithm
// none): the probes then do not report releases, so it counts what should never happen.
const HookHashingOff = "hashing_off"

// newHasher creates the content hasher the configuration asks for; nil when hashing is off.
func (s *Sensor) newHasher() error {
	if !s.cfg.Hash.Enabled() {
		return nil
	}
	pace := int64(s.cfg.Hash.BytesPerSecond)
	if pace == 0 {
		pace = -1 // unpaced
	}
	h, err := hasher.New(hasher.Config{
		Algorithm:      s.cfg.Hash.Algorithm,
		MaxSize:        int64(s.cfg.Hash.MaxSize),
		BytesPerSecond: pace,
		Workers:        s.cfg.Hash.Workers,
		OnResult:       s.onHashed,
		Registerer:     s.reg,
	})
	if err != nil {
		return err
	}
	s.hasher = h
	return nil
}

// hashContent hands the file raw, converted from kernel record ev, to the hasher. The record is
// accounted for here: the content event it becomes is batched later and carries no kernel sequence, so
// a sensor stopped before the hash loses the hash, never a record (the next scan's comparison finds what
// changed).
func (s *Sensor) hashContent(raw *schemas.RawEvent, ev *bpf.Event) {
	s.acct.Settle([]schemas.SeqRange{{Lo: ev.Seq, Hi: ev.Seq}}, time.Now())
	if s.hasher == nil {
		s.m.dropped.WithLabelValues(HookHashingOff).Inc()
		s.batch.loss(raw.Dev, 1, HookHashingOff, nil)
		return
	}
	pending := cloneEvent(raw)
	req := hasher.Request{
		ID:    hasher.Identity{Dev: raw.Dev, Ino: raw.Ino, Gen: raw.Generation},
		Size:  int64(raw.Size),
		Ctime: time.Unix(ev.Close.CtimeSec, int64(ev.Close.CtimeNsec)),
		Path:  s.hostPathOf(raw),
		Token: &pending,
	}
	if err := s.hasher.Submit(req); err != nil {
		// Only once the hasher has stopped, at shutdown: the hash is lost, as if the sensor had stopped first.
		s.log.Debug("not hashing a file closed at shutdown", zap.Error(err))
	}
}

// hostPathOf is where the sensor can open raw's file by path when no handle can be built: the record's
// path where it is a host path (the file matched by path), empty otherwise.
func (s *Sensor) hostPathOf(raw *schemas.RawEvent) string {
	if len(raw.Path) == 0 || raw.Flags&schemas.FlagProcessView != 0 {
		return ""
	}
	return filepath.Join(s.cfg.HostRoot, string(raw.Path))
}

// onHashed batches the content event of a hasher's result: of a file's last close, or of a scan's
// regular file (the baseline). It runs on a hasher worker (or in Submit).
func (s *Sensor) onHashed(res hasher.Result) {
	var ev schemas.RawEvent
	switch tok := res.Request.Token.(type) {
	case *schemas.RawEvent:
		ev = *tok
	case *baselineToken:
		ev = tok.ev
		ev.Time = time.Now().UnixNano()
		if !res.Retry {
			defer s.baselineAnswered(tok.job)
		}
	default:
		return
	}
	if res.State == hasher.StateOK {
		s.base.hashed.Add(1)
	}
	ev.Size = uint64(res.Size)
	if !res.Mtime.IsZero() {
		ev.Mtime = res.Mtime.UnixNano()
	}
	ev.HashAlg, _ = schemas.ParseHashAlg(res.Algorithm)
	ev.HashState = res.State
	if ev.HashState == schemas.HashOK {
		ev.Digest = res.Digest
	} else {
		ev.Aux = []byte(res.Reason)
	}
	if err := s.batch.add(&ev, fromContent); err != nil {
		s.log.Error("cannot batch a content event", zap.Error(err))
	}
}

// addHashFilesystems lets the hasher learn how the filesystems of the monitored roots build file
// handles, so that it opens files by identity.
func (s *Sensor) addHashFilesystems(roots []string) {
	if s.hasher == nil {
		return
	}
	for _, root := range roots {
		switch err := s.hasher.AddFilesystem(filepath.Join(s.cfg.HostRoot, root)); {
		case errors.Is(err, hasher.ErrNoLayout):
			s.log.Info("the hasher opens files below this root by path: its filesystem's file handles were not learned",
				zap.String("root", root), zap.Error(err))
		case err != nil:
			s.log.Debug("the hasher opens files below this root by path", zap.String("root", root), zap.Error(err))
		}
	}
}

// cloneEvent copies ev with byte slices of its own: a converted record aliases the reader's buffer.
func cloneEvent(ev *schemas.RawEvent) schemas.RawEvent {
	c := *ev
	c.Name, c.Path, c.OldName, c.OldPath = bytes.Clone(ev.Name), bytes.Clone(ev.Path), bytes.Clone(ev.OldName), bytes.Clone(ev.OldPath)
	c.Aux, c.Proc.Comm = bytes.Clone(ev.Aux), bytes.Clone(ev.Proc.Comm)
	return c
}

// followRename tells the hasher where a file it may still be waiting to hash went: a file written under
// one name and renamed over another before it was hashed (a vim-style save, sed -i) is then found by its
// new path where the hasher cannot open it by handle.
func (s *Sensor) followRename(raw *schemas.RawEvent) {
	if s.hasher == nil || raw.Ino == 0 {
		return
	}
	s.hasher.Repath(raw.Dev, raw.Ino, func(old string) string { return s.renamedPath(old, raw) })
}

// renamedPath is where rename raw took the file whose path was old: the record's own path where it names
// the new side as a host path (hostPathOf), else old's directory with the new name when the file stayed
// in it, else old (unknown).
func (s *Sensor) renamedPath(old string, raw *schemas.RawEvent) string {
	if raw.Flags&schemas.FlagRenameExchange != 0 {
		return old
	}
	if p := s.hostPathOf(raw); p != "" {
		return p
	}
	if old != "" && raw.OldParentIno == raw.ParentIno && len(raw.Name) > 0 {
		return filepath.Join(filepath.Dir(old), string(raw.Name))
	}
	return old
}
