package pipeline

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics of a Resolver, registered in the Registerer of its Config.
type metrics struct {
	eventsIn    prometheus.Counter
	activities  prometheus.Counter
	deadLetters prometheus.Counter
	gaps        prometheus.Counter
	duplicates  prometheus.Counter
	commits     prometheus.Counter
	fenced      prometheus.Counter
	snapshots   prometheus.Counter
	tailLost    prometheus.Counter
	owned       prometheus.Gauge
	lag         *prometheus.GaugeVec
	commitTime  prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "factstream", Subsystem: "resolver", Name: name, Help: help})
	}
	m := &metrics{
		eventsIn:    c("raw_events_total", "Raw events read from FACT_RAW (each partition reading a host counts them)."),
		activities:  c("activities_total", "Enriched events published."),
		deadLetters: c("dead_letters_total", "Raw messages dead-lettered to fact.dlq.raw."),
		gaps:        c("gaps_total", "Filesystems marked uncertain (loss events, sequence holes, unreadable messages, lost tails)."),
		duplicates:  c("duplicate_batches_total", "Raw batches seen twice and applied once."),
		commits:     c("commits_total", "Atomic commits of output and checkpoint."),
		fenced:      c("fenced_total", "Commits refused because another worker claimed the partition."),
		snapshots:   c("snapshots_total", "Partition snapshots written to FACT_SNAPSHOTS."),
		tailLost:    c("tail_lost_total", "Partition resumes whose snapshot's tail was no longer in FACT_RAW."),
		owned: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "factstream", Subsystem: "resolver",
			Name: "partitions_owned", Help: "Partitions this worker holds a lease on."}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "factstream", Subsystem: "resolver",
			Name: "lag_messages", Help: "FACT_RAW messages not read yet by a partition's views."}, []string{"partition"}),
		commitTime: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "factstream", Subsystem: "resolver",
			Name: "commit_seconds", Help: "Time to publish one atomic commit.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	for _, c := range []*prometheus.Counter{&m.eventsIn, &m.activities, &m.deadLetters, &m.gaps, &m.duplicates,
		&m.commits, &m.fenced, &m.snapshots, &m.tailLost} {
		if *c, err = register(reg, *c); err != nil {
			return nil, err
		}
	}
	if m.owned, err = register(reg, m.owned); err != nil {
		return nil, err
	}
	if m.lag, err = register(reg, m.lag); err != nil {
		return nil, err
	}
	if m.commitTime, err = register(reg, m.commitTime); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector registered before under the same name (several
// resolvers in one process share their metrics).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	if err != nil {
		return c, fmt.Errorf("registering metrics: %w", err)
	}
	return c, nil
}

// add counts what a partition's views did since last, which it then becomes.
func (m *metrics) add(now viewStats, last *viewStats) {
	m.eventsIn.Add(float64(now.eventsIn - last.eventsIn))
	m.activities.Add(float64(now.activities - last.activities))
	m.deadLetters.Add(float64(now.deadLetters - last.deadLetters))
	m.gaps.Add(float64(now.gaps - last.gaps))
	m.duplicates.Add(float64(now.duplicates - last.duplicates))
	*last = now
}

func (m *metrics) setLag(partition int, lag uint64) {
	m.lag.WithLabelValues(strconv.Itoa(partition)).Set(float64(lag))
}
