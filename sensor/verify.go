package sensor

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

// Verification: a scan epoch of every monitored filesystem whose regular files are hashed (all of
// them, or those the request's globs select), every Config.VerifyInterval and on request. Every scan
// epoch queues its files for the baseline; a verification is the one that is run for that alone.

// VerifyReply answers a verify request; the wire's type.
type VerifyReply = schemas.VerifyReply

// Verify publishes a scan epoch of every monitored filesystem and queues for hashing its regular files
// that globs select (a file one matches, or one below a directory one matches; every file when globs is
// empty). It returns the epoch and how many files were queued, once the epoch is published; the content
// events follow in the background. It fails with ErrNotReady before the first scan, ErrHashingOff when
// hash.algorithm is none, and ErrBadGlob for a glob that does not compile.
func (s *Sensor) Verify(ctx context.Context, globs []string) (epoch uint64, files int, _ error) {
	if !s.ready.Load() {
		return 0, 0, ErrNotReady
	}
	if s.hasher == nil {
		return 0, 0, fmt.Errorf("verifying: %w", ErrHashingOff)
	}
	var want func(string) bool // every file
	if len(globs) > 0 {
		var err error
		if want, err = hashUnder(globs); err != nil {
			return 0, 0, fmt.Errorf("verifying: %w: %w", ErrBadGlob, err)
		}
	}
	s.scanMu.Lock()
	res, n, err := s.runHashedScan(ctx, s.set.Load(), nil, want)
	s.scanMu.Unlock()
	if err != nil {
		return 0, 0, fmt.Errorf("verifying: %w", err)
	}
	s.batch.flush()
	return res.Epoch, n, nil
}

// verifyLoop runs a verification of every file each Config.VerifyInterval until ctx ends; never when
// the interval is 0 or hashing is off.
func (s *Sensor) verifyLoop(ctx context.Context) {
	if s.cfg.VerifyInterval <= 0 || s.hasher == nil {
		return
	}
	every(ctx, s.cfg.VerifyInterval, func() bool {
		if !s.waitReady(ctx) {
			return false
		}
		epoch, n, err := s.Verify(ctx, nil)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Warn("periodic verification failed", zap.Error(err))
		case err == nil:
			s.log.Info("periodic verification: rescanned, hashing in the background", zap.Uint64("epoch", epoch),
				zap.Int("files", n), zap.Duration("every", s.cfg.VerifyInterval))
		}
		return true
	})
}

// onVerify answers a verify request (a schemas.VerifyRequest in JSON) once its epoch is published.
func (s *Sensor) onVerify(msg *nats.Msg) {
	var rq schemas.VerifyRequest
	if err := json.Unmarshal(msg.Data, &rq); err != nil {
		s.log.Warn("ignoring an unreadable verify request", zap.ByteString("data", msg.Data), zap.Error(err))
		s.respond(msg, schemas.VerbVerify, "error", VerifyReply{Error: fmt.Sprintf("decoding verify request: %v", err)})
		return
	}
	if rq.Host != "" && rq.Host != s.cfg.Host {
		s.respond(msg, schemas.VerbVerify, "error", VerifyReply{Error: fmt.Sprintf("verify request for host %q reached %q", rq.Host, s.cfg.Host)})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), rescanTimeout)
	defer cancel()
	epoch, n, err := s.Verify(ctx, rq.Paths)
	if err != nil {
		s.log.Warn("verify request failed", zap.Strings("paths", rq.Paths), zap.String("reason", rq.Reason), zap.Error(err))
		s.respond(msg, schemas.VerbVerify, "error", VerifyReply{Error: err.Error()})
		return
	}
	s.log.Info("verify request answered: rescanned, hashing in the background", zap.Strings("paths", rq.Paths),
		zap.String("reason", rq.Reason), zap.Uint64("epoch", epoch), zap.Int("files", n))
	s.respond(msg, schemas.VerbVerify, "ok", VerifyReply{Epoch: epoch, Files: n})
}
