package hasher

import (
	"cmp"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"time"

	"github.com/factstream/factstream/schemas"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults applied by New to zero fields of Config.
const (
	DefaultAlgorithm      = "sha256"
	DefaultMaxSize        = 100 << 20 // hash.max_size
	DefaultBytesPerSecond = 50 << 20  // hash.bytes_per_second
	DefaultWorkers        = 2         // hash.workers
	DefaultQuiet          = 200 * time.Millisecond
	DefaultQueueSize      = 4096
	DefaultMaxRetries     = 3
)

// digest returns the constructor of the digest Config.Algorithm names (schemas.HashAlg's names), nil for
// an unknown name.
func digest(name string) func() hash.Hash {
	alg, _ := schemas.ParseHashAlg(name)
	switch alg {
	case schemas.HashSHA256:
		return sha256.New
	case schemas.HashSHA512:
		return sha512.New
	}
	return nil
}

// Config configures a Hasher. Zero fields take the defaults above.
type Config struct {
	// Algorithm names the digest: "sha256" (default) or "sha512".
	Algorithm string
	// MaxSize is the largest file hashed, in bytes; a larger one is StateTooLarge.
	MaxSize int64
	// BytesPerSecond paces reading, shared by all workers; negative reads unpaced.
	BytesPerSecond int64
	// Workers is how many files are hashed at once.
	Workers int
	// Quiet is how long an identity must go without a new request (or, after StateChangedDuringHash,
	// since the attempt) before it is hashed.
	Quiet time.Duration
	// QueueSize bounds the identities waiting or being hashed.
	QueueSize int
	// MaxRetries bounds the attempts after StateChangedDuringHash; negative never retries.
	MaxRetries int
	// OnResult receives every Result: from the workers, and from Submit for StateRateLimited. It must not
	// block for long (it holds up a worker) and must be safe for concurrent use. Required.
	OnResult func(Result)
	// Registerer receives the metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// Validate reports the first field of cfg that is out of range, as given (before defaults).
func (cfg Config) Validate() error {
	switch {
	case cfg.OnResult == nil:
		return fmt.Errorf("%w: OnResult is required", ErrInvalidConfig)
	case cfg.Algorithm != "" && digest(cfg.Algorithm) == nil:
		return fmt.Errorf("%w: Algorithm %q is not one of sha256, sha512", ErrInvalidConfig, cfg.Algorithm)
	case cfg.MaxSize < 0:
		return fmt.Errorf("%w: MaxSize %d is negative", ErrInvalidConfig, cfg.MaxSize)
	case cfg.Workers < 0:
		return fmt.Errorf("%w: Workers %d is negative", ErrInvalidConfig, cfg.Workers)
	case cfg.Quiet < 0:
		return fmt.Errorf("%w: Quiet %v is negative", ErrInvalidConfig, cfg.Quiet)
	case cfg.QueueSize < 0:
		return fmt.Errorf("%w: QueueSize %d is negative", ErrInvalidConfig, cfg.QueueSize)
	}
	return nil
}

// withDefaults validates cfg and fills its zero fields.
func (cfg Config) withDefaults() (Config, error) {
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	cfg.Algorithm = cmp.Or(cfg.Algorithm, DefaultAlgorithm)
	cfg.MaxSize = cmp.Or(cfg.MaxSize, DefaultMaxSize)
	cfg.BytesPerSecond = cmp.Or(cfg.BytesPerSecond, DefaultBytesPerSecond)
	cfg.Workers = cmp.Or(cfg.Workers, DefaultWorkers)
	cfg.Quiet = cmp.Or(cfg.Quiet, DefaultQuiet)
	cfg.QueueSize = cmp.Or(cfg.QueueSize, DefaultQueueSize)
	cfg.MaxRetries = max(cmp.Or(cfg.MaxRetries, DefaultMaxRetries), 0)
	return cfg, nil
}
