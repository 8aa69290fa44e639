package publish

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the publisher's Prometheus collectors, registered on the injected registry.
type metrics struct {
	batches, events, bytes prometheus.Counter
	retries, duplicates    prometheus.Counter
	corruptBytes           prometheus.Counter
	pending, memBytes      prometheus.Gauge
	spoolBytes, spoolRecs  prometheus.Gauge
	droppedEvents          *prometheus.CounterVec
	droppedBatches         *prometheus.CounterVec
	logSuppressed          prometheus.Counter
}

const metricNamespace, metricSubsystem = "factstream", "publish"

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	r := &registrar{reg: reg}
	m := &metrics{
		batches:      register(r, newCounter("batches_total", "Batches acknowledged by JetStream.")),
		events:       register(r, newCounter("events_total", "Events in acknowledged batches.")),
		bytes:        register(r, newCounter("bytes_total", "Payload bytes of acknowledged batches.")),
		retries:      register(r, newCounter("retries_total", "Batches sent again after a failed or unanswered publish.")),
		duplicates:   register(r, newCounter("duplicates_total", "Acknowledgements marked duplicate: a retry of a batch already stored.")),
		corruptBytes: register(r, newCounter("spool_corrupt_bytes_total", "Spool bytes truncated because they could not be read back.")),
		pending:      register(r, newGauge("pending_acks", "Batches published and not yet acknowledged.")),
		memBytes:     register(r, newGauge("memory_queue_bytes", "Bytes of batches waiting in memory.")),
		spoolBytes:   register(r, newGauge("spool_bytes", "Bytes of spool segment files on disk.")),
		spoolRecs:    register(r, newGauge("spool_records", "Batches in the spool not yet acknowledged.")),
		droppedEvents: register(r, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricNamespace, Subsystem: metricSubsystem, Name: "dropped_events_total",
			Help: "Events dropped, by reason; every drop is also in a loss report.",
		}, []string{"reason"})),
		droppedBatches: register(r, prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricNamespace, Subsystem: metricSubsystem, Name: "dropped_batches_total",
			Help: "Batches dropped, by reason.",
		}, []string{"reason"})),
		logSuppressed: register(r, newCounter("log_lines_suppressed_total",
			"Warnings not logged because the same warning was logged less than WarnEvery before.")),
	}
	return m, r.err
}

func newCounter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Namespace: metricNamespace, Subsystem: metricSubsystem, Name: name, Help: help})
}

func newGauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: metricNamespace, Subsystem: metricSubsystem, Name: name, Help: help})
}

// registrar registers collectors on reg (nil: none) and keeps the first error.
type registrar struct {
	reg prometheus.Registerer
	err error
}

// register registers c; when an identical collector is already registered (a publisher re-created in
// the same process), it returns that one so the counts continue.
func register[T prometheus.Collector](r *registrar, c T) T {
	if r.reg == nil || r.err != nil {
		return c
	}
	err := r.reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing
		}
	}
	if err != nil {
		r.err = fmt.Errorf("registering metrics: %w", err)
	}
	return c
}
