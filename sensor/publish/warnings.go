package publish

import (
	"time"

	"github.com/factstream/factstream/internal/logsample"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// warnings are the publisher's warnings that could repeat per batch, each logged at most once per
// Config.WarnEvery with the count of those held back since; drops have one per reason, so a full spool
// does not hide a rejected batch.
type warnings struct {
	failing, syncing *logsample.Logger
	drop             map[DropReason]*logsample.Logger
}

func newWarnings(log *zap.Logger, every time.Duration, suppressed prometheus.Counter) warnings {
	w := warnings{
		failing: logsample.New(log, every, suppressed),
		syncing: logsample.New(log, every, suppressed),
		drop:    make(map[DropReason]*logsample.Logger),
	}
	for _, r := range []DropReason{ReasonSpoolFull, ReasonSpoolError, ReasonRejected} {
		w.drop[r] = logsample.New(log, every, suppressed)
	}
	return w
}
