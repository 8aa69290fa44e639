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

	log        *zap.Logger
	every      time.Duration
	suppressed prometheus.Counter
	drop       map[DropReason]*logsample.Logger // guarded by Publisher.mu
}

func newWarnings(log *zap.Logger, every time.Duration, suppressed prometheus.Counter) *warnings {
	return &warnings{
		failing: logsample.New(log, every, suppressed),
		syncing: logsample.New(log, every, suppressed),
		log:     log, every: every, suppressed: suppressed,
		drop: make(map[DropReason]*logsample.Logger),
	}
}

// dropped is the warning for drops of this reason. The caller holds Publisher.mu.
func (w *warnings) dropped(reason DropReason) *logsample.Logger {
	l, ok := w.drop[reason]
	if !ok {
		l = logsample.New(w.log, w.every, w.suppressed)
		w.drop[reason] = l
	}
	return l
}
