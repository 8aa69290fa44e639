package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/factstream/factstream/schemas"
)

// writeStatusText writes the report as tables, one per section.
func writeStatusText(w io.Writer, r *statusReport) error {
	sections := []func(io.Writer){
		func(w io.Writer) { writeStreamsText(w, r.Streams) },
		func(w io.Writer) { writeWorkersText(w, r.Workers) },
		func(w io.Writer) { writePartitionsText(w, r.Partitions) },
		func(w io.Writer) { writeSensorsText(w, r.Sensors) },
	}
	for i, section := range sections {
		if i > 0 {
			fmt.Fprintln(w)
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0) // columns of their own per section
		section(tw)
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("writing the status: %w", err)
		}
	}
	return nil
}

func writeStreamsText(w io.Writer, streams []streamStatus) {
	fmt.Fprintln(w, "STREAM\tMESSAGES\tBYTES\tFIRST SEQ\tLAST SEQ\tLAST MESSAGE\tCONSUMERS")
	for _, s := range streams {
		if !s.Exists {
			fmt.Fprintf(w, "%s\t(none)\t\t\t\t\t\n", s.Name)
			continue
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%d\t%s\t%d\n", s.Name, s.Messages, humanBytes(s.Bytes), s.FirstSeq, s.LastSeq,
			ago(s.LastTime), s.Consumers)
	}
}

func writeWorkersText(w io.Writer, workers []workerStatus) {
	fmt.Fprintf(w, "RESOLVER WORKERS: %d\n", len(workers))
	for _, wk := range workers {
		fmt.Fprintf(w, "  %s\theartbeat %s\n", wk.Worker, ago(wk.Heartbeat))
	}
}

// writePartitionsText writes a row per partition with hosts or without an owner, and counts the owned
// partitions without hosts per owner.
func writePartitionsText(w io.Writer, parts []partitionStatus) {
	if len(parts) == 0 {
		fmt.Fprintln(w, "PARTITIONS: none with data, a lease or a checkpoint")
		return
	}
	fmt.Fprintln(w, "PARTITION\tOWNER\tHOSTS\tCOVERED SEQ\tRAW LAST SEQ\tLAG")
	idle := map[string]int{}
	for _, p := range parts {
		if len(p.Hosts) == 0 && p.Owner != "" {
			idle[p.Owner]++
			continue
		}
		owner := p.Owner
		if owner == "" {
			owner = "(none)"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%d\n", p.Partition, owner, strings.Join(p.Hosts, ","), p.CoveredSeq, p.RawLastSeq, p.Lag)
	}
	if len(idle) > 0 {
		var owners []string
		for _, o := range slices.Sorted(maps.Keys(idle)) {
			owners = append(owners, fmt.Sprintf("%s %d", o, idle[o]))
		}
		fmt.Fprintf(w, "(and partitions without hosts, held by: %s)\n", strings.Join(owners, ", "))
	}
}

func writeSensorsText(w io.Writer, sensors []sensorStatus) {
	if len(sensors) == 0 {
		fmt.Fprintln(w, "SENSORS: no host in FACT_RAW")
		return
	}
	fmt.Fprintln(w, "SENSOR HOST\tSTATE\tPROBES\tREADY\tSEQUENCE\tLOST\tSPOOLED\tHASHING")
	for _, s := range sensors {
		if !s.Answering {
			fmt.Fprintf(w, "%s\tnot answering (%s)\t\t\t\t\t\t\n", s.Host, s.Error)
			continue
		}
		st := s.Status
		fmt.Fprintf(w, "%s\tanswering\t%s\t%t\t%d\t%d\t%.0f batches\t%s\n", s.Host, st.ProbeSet, st.Ready, st.LastSeq, s.Lost,
			st.Spool.Batches, hashingText(st.Hash))
	}
}

// hashingText sums up a sensor's content hashing: the baseline's progress and the hasher's queue.
func hashingText(h *schemas.HashStatus) string {
	switch {
	case h == nil:
		return "off"
	case h.BaselineEpoch == 0:
		return fmt.Sprintf("no baseline yet, %d queued", h.Queued)
	}
	return fmt.Sprintf("baseline of epoch %d: %d/%d files, %d queued, %d hashed", h.BaselineEpoch, h.BaselineDone,
		h.BaselineFiles, h.Queued, h.HashedTotal)
}

// humanBytes writes n in B, KiB, MiB, ...
func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// ago describes a past moment relative to now, "-" for none.
func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return time.Since(t).Round(time.Second).String() + " ago"
}
