package publish

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults applied by EnsureRawStream to zero fields of RawStreamConfig.
const (
	DefaultRawMaxAge     = 7 * 24 * time.Hour
	DefaultRawDuplicates = 2 * time.Minute
)

// RawStreamConfig is what the sensor needs of FACT_RAW.
type RawStreamConfig struct {
	// Partitions is the number of virtual partitions of the subject transform; schemas.DefaultPartitions
	// when zero.
	Partitions int
	// MaxAge and MaxBytes bound retention (the oldest messages go first); MaxAge is DefaultRawMaxAge when
	// zero, MaxBytes unlimited when zero. They are applied on creation only.
	MaxAge   time.Duration
	MaxBytes int64
	// Duplicates is the deduplication window, DefaultRawDuplicates when zero. A retried batch is stored
	// once if it comes back within the window; an existing stream must have at least this much.
	Duplicates time.Duration
	// Replicas is the replication factor on creation, 1 when zero (3 in a cluster).
	Replicas int
}

func (c RawStreamConfig) withDefaults() (RawStreamConfig, error) {
	if c.Partitions < 0 || c.MaxAge < 0 || c.MaxBytes < 0 || c.Duplicates < 0 || c.Replicas < 0 || c.Replicas > 5 {
		return c, fmt.Errorf("%w: raw stream: negative value or more than 5 replicas", ErrInvalidConfig)
	}
	c.Partitions = cmp.Or(c.Partitions, schemas.DefaultPartitions)
	c.MaxAge = cmp.Or(c.MaxAge, DefaultRawMaxAge)
	c.Duplicates = cmp.Or(c.Duplicates, DefaultRawDuplicates)
	c.Replicas = cmp.Or(c.Replicas, 1)
	if c.Duplicates > c.MaxAge {
		return c, fmt.Errorf("%w: raw stream: duplicate window %s longer than max age %s", ErrInvalidConfig, c.Duplicates, c.MaxAge)
	}
	return c, nil
}

// streamConfig is the FACT_RAW configuration created for c.
func (c RawStreamConfig) streamConfig() jetstream.StreamConfig {
	src, dest := schemas.RawTransform(c.Partitions)
	maxBytes := c.MaxBytes
	if maxBytes == 0 {
		maxBytes = -1
	}
	return jetstream.StreamConfig{
		Name:             schemas.RawStream,
		Description:      "factstream raw events, the system of record: fact.in.<host>.<dev> stored as fact.raw.<partition>.<host>.<dev>",
		Subjects:         []string{src},
		SubjectTransform: &jetstream.SubjectTransformConfig{Source: src, Destination: dest},
		Storage:          jetstream.FileStorage,
		Retention:        jetstream.LimitsPolicy,
		Discard:          jetstream.DiscardOld,
		MaxAge:           c.MaxAge,
		MaxBytes:         maxBytes,
		Duplicates:       c.Duplicates,
		Replicas:         c.Replicas,
		// The record: nobody may delete a message or purge it; it shrinks by its limits only.
		DenyDelete: true,
		DenyPurge:  true,
	}
}

// EnsureRawStream creates FACT_RAW when it is missing. When it exists, it checks that it stores what the
// sensor publishes the way the resolver expects (subjects, subject transform, file storage, limits
// retention discarding old messages, a duplicate window at least cfg.Duplicates) and returns an
// *IncompatibleStreamError naming every setting that is not, without changing the stream. Retention
// limits and replicas of an existing stream are left to its operator. When NATS is unreachable it fails
// at once with ErrNotConnected; the caller retries later (the Publisher spools meanwhile).
func EnsureRawStream(ctx context.Context, js jetstream.JetStream, cfg RawStreamConfig) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	want := cfg.streamConfig()
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		s, err = js.CreateStream(ctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another sensor created it meanwhile
			s, err = js.Stream(ctx, want.Name)
		} else if err == nil {
			return nil
		}
	}
	if err != nil && !js.Conn().IsConnected() {
		return fmt.Errorf("provisioning stream %s: %w (connection %s): %w", want.Name, ErrNotConnected, js.Conn().Status(), err)
	}
	if err != nil {
		return fmt.Errorf("provisioning stream %s: %w", want.Name, err)
	}
	return compatible(s.CachedInfo().Config, want)
}

// compatible compares an existing stream's config with the one we would create.
func compatible(have, want jetstream.StreamConfig) error {
	var ms []Mismatch
	add := func(setting, h, w string) { ms = append(ms, Mismatch{Setting: setting, Have: h, Want: w}) }
	if !slices.Equal(have.Subjects, want.Subjects) {
		add("subjects", fmt.Sprintf("[%s]", strings.Join(have.Subjects, " ")), fmt.Sprintf("[%s]", strings.Join(want.Subjects, " ")))
	}
	if h, w := transformString(have.SubjectTransform), transformString(want.SubjectTransform); h != w {
		add("subject_transform", h, w)
	}
	if have.Storage != want.Storage {
		add("storage", have.Storage.String(), want.Storage.String())
	}
	if have.Retention != want.Retention {
		add("retention", have.Retention.String(), want.Retention.String())
	}
	if have.Discard != want.Discard {
		add("discard", have.Discard.String(), want.Discard.String())
	}
	if have.Duplicates < want.Duplicates {
		add("duplicate_window", have.Duplicates.String(), "at least "+want.Duplicates.String())
	}
	if len(ms) > 0 {
		return &IncompatibleStreamError{Stream: want.Name, Mismatches: ms}
	}
	return nil
}

func transformString(t *jetstream.SubjectTransformConfig) string {
	if t == nil {
		return "none"
	}
	return t.Source + " > " + t.Destination
}
