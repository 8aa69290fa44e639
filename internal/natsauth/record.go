package natsauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
)

// RecordStreams are the streams that hold the evidence: created with DenyDelete and DenyPurge, so that
// they shrink only by their age and size limits.
func RecordStreams() []string { return []string{schemas.RawStream, schemas.ActivityStream} }

// Protect turns on DenyDelete and DenyPurge on each record stream that exists without them (JetStream
// lets a stream gain them, never lose them) and returns the streams it changed. It needs the admin
// identity; a stream that does not exist yet is left to whoever creates it.
func Protect(ctx context.Context, js jetstream.JetStream) ([]string, error) {
	var changed []string
	for _, name := range RecordStreams() {
		s, err := js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue
		}
		if err != nil {
			return changed, fmt.Errorf("looking up stream %s: %w", name, err)
		}
		cfg := s.CachedInfo().Config
		if cfg.DenyDelete && cfg.DenyPurge {
			continue
		}
		cfg.DenyDelete, cfg.DenyPurge = true, true
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return changed, fmt.Errorf("denying deletes and purges on stream %s: %w", name, err)
		}
		changed = append(changed, name)
	}
	return changed, nil
}
