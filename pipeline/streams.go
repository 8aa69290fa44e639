package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of StreamsConfig.
const (
	DefaultActivityDuplicates = 2 * time.Minute
)

// StreamsConfig is what the resolver provisions besides the lease bucket: stream FACT_ACTIVITY (enriched
// events, checkpoints, dead letters) and object store FACT_SNAPSHOTS.
type StreamsConfig struct {
	// MaxAge bounds how long enriched events are kept; 0 keeps them until MaxBytes. A partition's last
	// checkpoint is refreshed with every snapshot, so keep MaxAge well above SnapshotInterval.
	MaxAge time.Duration
	// MaxBytes bounds FACT_ACTIVITY, unlimited when 0 (the oldest messages go first).
	MaxBytes int64
	// Duplicates is the deduplication window, DefaultActivityDuplicates when zero.
	Duplicates time.Duration
	// Replicas on creation, 1 when zero.
	Replicas int
}

func (c StreamsConfig) activity() jetstream.StreamConfig {
	maxBytes := c.MaxBytes
	if maxBytes == 0 {
		maxBytes = -1
	}
	return jetstream.StreamConfig{
		Name:               schemas.ActivityStream,
		Description:        "factstream enriched FILE_ACTIVITY (fact.activity.<host>.<type>), resolver checkpoints (fact.ckpt.<partition>) and dead letters (fact.dlq.>)",
		Subjects:           schemas.ActivityStreamSubjects(),
		Storage:            jetstream.FileStorage,
		Retention:          jetstream.LimitsPolicy,
		Discard:            jetstream.DiscardOld,
		MaxAge:             c.MaxAge,
		MaxBytes:           maxBytes,
		Duplicates:         cmp.Or(c.Duplicates, DefaultActivityDuplicates),
		Replicas:           cmp.Or(c.Replicas, 1),
		AllowAtomicPublish: true,
		// The record: nobody may delete a message or purge it; it shrinks by its limits only.
		DenyDelete: true,
		DenyPurge:  true,
	}
}

// EnsureStreams creates FACT_ACTIVITY and FACT_SNAPSHOTS when missing. An existing FACT_ACTIVITY must
// allow atomic batch publish (the exactly-once commit needs it); it is turned on when it is not.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, c StreamsConfig) error {
	want := c.activity()
	s, err := js.Stream(ctx, want.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		if _, err = js.CreateStream(ctx, want); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("creating stream %s: %w", want.Name, err)
		}
	case err != nil:
		return fmt.Errorf("looking up stream %s: %w", want.Name, err)
	case !s.CachedInfo().Config.AllowAtomicPublish:
		cfg := s.CachedInfo().Config
		cfg.AllowAtomicPublish = true
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("allowing atomic publish on %s: %w", want.Name, err)
		}
	}
	_, err = js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket: schemas.SnapshotBucket, Description: "factstream resolver snapshots, one object per partition",
		Storage: jetstream.FileStorage, Replicas: cmp.Or(c.Replicas, 1),
	})
	if err != nil {
		return fmt.Errorf("provisioning object store %s: %w", schemas.SnapshotBucket, err)
	}
	return nil
}
