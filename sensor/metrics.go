package sensor

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/factstream/factstream/bpf"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the sensor's collectors, registered on the injected registry.
type metrics struct {
	ringReads      prometheus.Counter
	ringErrors     *prometheus.CounterVec // reason
	events         *prometheus.CounterVec // source: kernel, scan, loss
	eventsBy       [numSources]prometheus.Counter
	batches        prometheus.Counter
	batchEvents    prometheus.Counter
	batchBytes     prometheus.Counter
	dropped        *prometheus.CounterVec // reason
	lossEvents     prometheus.Counter
	lostRecords    *prometheus.CounterVec // hook
	seqGaps        prometheus.Counter
	seqLate        prometheus.Counter
	scans          prometheus.Counter
	scanEntries    prometheus.Counter
	scanErrors     prometheus.Counter
	scanDuration   prometheus.Histogram
	trackErrors    prometheus.Counter
	untracked      prometheus.Counter
	markSync       prometheus.Histogram
	controlReqs    *prometheus.CounterVec // verb, outcome
	counterErrors  prometheus.Counter
	logSuppressed  prometheus.Counter
	baselineFiles  prometheus.Gauge // files of the scan epoch whose baseline is being hashed
	baselineDone   prometheus.Gauge // of those, the files answered
	kernelCounters *kernelCollector
}

const ns, sub = "factstream", "sensor"

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help})
	}
	cv := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: name, Help: help}, labels)
	}
	m := &metrics{
		ringReads:   c("ring_reads_total", "Records read from the ring buffer."),
		ringErrors:  cv("ring_read_errors_total", "Ring buffer reads that failed, by reason (malformed: a record that does not decode).", "reason"),
		events:      cv("events_total", "Raw events sequenced into batches, by source (kernel, scan, loss).", "source"),
		batches:     c("batches_total", "Batches handed to the publisher."),
		batchEvents: c("batch_events_total", "Events in batches handed to the publisher."),
		batchBytes:  c("batch_bytes_total", "Encoded bytes of batches handed to the publisher."),
		dropped: cv("dropped_total", "Events the sensor could not deliver, by reason; each is also in a loss event where possible "+
			"(malformed, unknown_kind, encode, sequence, publish_dropped, publish_invalid, publish_closed).", "reason"),
		lossEvents:  c("loss_events_total", "Loss events published."),
		lostRecords: cv("lost_records_total", "Records reported lost in loss events, by where they were lost (a kernel hook, ring_sequence, restart, spool_full...).", "hook"),
		seqGaps:     c("kernel_seq_gaps_total", "Gaps in the kernel's record sequence (each one reported as lost)."),
		seqLate:     c("kernel_seq_late_total", "Records that arrived after their sequence number had been reported lost."),
		scans:       c("scans_total", "Scan epochs run."),
		scanEntries: c("scan_entries_total", "Entries published by scans."),
		scanErrors:  c("scan_errors_total", "Entries or directories a scan could not read."),
		scanDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "scan_duration_seconds",
			Help: "How long a scan epoch took.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}),
		trackErrors:   c("track_errors_total", "Inodes the kernel's tracked set refused (full?)."),
		untracked:     c("untracked_total", "Inodes removed from the tracked set by a reload."),
		markSync:      prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "sequence_mark_sync_seconds", Help: "Time to write and fsync a sequence mark.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8)}),
		controlReqs:   cv("control_requests_total", "Control requests answered, by verb and outcome.", "verb", "outcome"),
		counterErrors: c("kernel_counter_errors_total", "Failed reads of the kernel's counters."),
		logSuppressed: c("log_lines_suppressed_total", "Ring-buffer warnings not logged because the same one was logged less than 10s before."),
		baselineFiles: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "hash_baseline_files",
			Help: "Regular files of the scan epoch whose baseline hashes are being taken."}),
		baselineDone: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "hash_baseline_done",
			Help: "Files of that scan epoch whose hash (or the reason there is none) is published."}),
	}
	m.kernelCounters = &kernelCollector{}
	for src := range numSources {
		m.eventsBy[src] = m.events.WithLabelValues(src.String())
	}
	cs := []prometheus.Collector{m.ringReads, m.ringErrors, m.events, m.batches, m.batchEvents, m.batchBytes, m.dropped,
		m.lossEvents, m.lostRecords, m.seqGaps, m.seqLate, m.scans, m.scanEntries, m.scanErrors, m.scanDuration,
		m.trackErrors, m.untracked, m.markSync, m.controlReqs, m.counterErrors, m.logSuppressed,
		m.baselineFiles, m.baselineDone, m.kernelCounters}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, col := range cs {
		if err := reg.Register(col); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("registering sensor metrics: %w", err)
	}
	return m, nil
}

// kernelCollector exposes the last reading of the kernel's per-hook counters as
// factstream_kernel_<hook>_events_total{label="total|added|ignored|error|ringbuffer_full|..."}.
// The hooks depend on the probe set, so it is an unchecked collector.
type kernelCollector struct {
	mu   sync.Mutex
	last bpf.Counters
}

func (k *kernelCollector) update(c bpf.Counters) {
	k.mu.Lock()
	k.last = c
	k.mu.Unlock()
}

func (k *kernelCollector) Describe(chan<- *prometheus.Desc) {}

func (k *kernelCollector) Collect(ch chan<- prometheus.Metric) {
	k.mu.Lock()
	last := k.last
	k.mu.Unlock()
	hooks := make([]string, 0, len(last))
	for h := range last {
		hooks = append(hooks, h)
	}
	sort.Strings(hooks)
	for _, h := range hooks {
		c := last[h]
		desc := prometheus.NewDesc(ns+"_kernel_"+metricName(h)+"_events_total",
			"Calls of the kernel hook "+h+" by outcome (the probes' counters, summed over CPUs).", []string{"label"}, nil)
		for _, v := range []struct {
			label string
			n     uint64
		}{{"total", c.Total}, {"added", c.Added}, {"ignored", c.Ignored}, {"error", c.Error},
			{"ringbuffer_full", c.RingbufferFull}, {"mkdir", c.Mkdir}, {"symlink", c.Symlink}, {"mknod", c.Mknod},
			{"discarded", c.Discarded}} {
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(v.n), v.label)
		}
	}
}

// metricName makes a hook name a valid metric name part.
func metricName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
