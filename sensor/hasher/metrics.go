package hasher

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the hasher's collectors, registered on Config.Registerer.
type metrics struct {
	hashed     prometheus.Counter
	bytes      prometheus.Counter
	skipped    *prometheus.CounterVec // reason: a State other than ok
	coalesced  prometheus.Counter
	queueDepth prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	opts := func(name, help string) prometheus.Opts {
		return prometheus.Opts{Namespace: "factstream", Subsystem: "sensor_hash", Name: name, Help: help}
	}
	m := &metrics{
		hashed: prometheus.NewCounter(prometheus.CounterOpts(opts("hashed_total", "Files hashed (state ok)."))),
		bytes:  prometheus.NewCounter(prometheus.CounterOpts(opts("bytes_total", "Bytes read to hash files, in every attempt."))),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts(opts("skipped_total",
			"Attempts without a digest, by reason (too_large, changed_during_hash, unreadable, rate_limited).")), []string{"reason"}),
		coalesced: prometheus.NewCounter(prometheus.CounterOpts(opts("coalesced_total",
			"Requests merged into one already waiting or being hashed."))),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts(opts("queue_depth", "Identities waiting to be hashed."))),
	}
	for _, s := range []State{StateTooLarge, StateChangedDuringHash, StateUnreadable, StateRateLimited} {
		m.skipped.WithLabelValues(s.String())
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.hashed, m.bytes, m.skipped, m.coalesced, m.queueDepth} {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("registering hasher metrics: %w", err)
	}
	return m, nil
}

// count records a result.
func (m *metrics) count(r Result) {
	if r.State == StateOK {
		m.hashed.Inc()
		return
	}
	m.skipped.WithLabelValues(r.State.String()).Inc()
}
