package schemas

import (
	"fmt"
	"strconv"
	"strings"
)

// Stream, bucket and subject names shared by every component. A consumer in another language needs only
// these and the types in this package.
const (
	// RawStream is the durable log of raw events, the system of record.
	RawStream = "FACT_RAW"
	// ActivityStream holds enriched FILE_ACTIVITY events.
	ActivityStream = "FACT_ACTIVITY"
	// LeaseBucket is the KV bucket of partition leases.
	LeaseBucket = "FACT_LEASES"
	// SnapshotBucket is the object store of partition snapshots.
	SnapshotBucket = "FACT_SNAPSHOTS"

	// IngestPrefix is where sensors publish: fact.in.<host>.<dev>.
	IngestPrefix = "fact.in"
	// RawPrefix is where FACT_RAW stores events: fact.raw.<partition>.<host>.<dev>.
	RawPrefix = "fact.raw"
	// ActivityPrefix is where enriched events go: fact.activity.<host>.<type>.
	ActivityPrefix = "fact.activity"
	// ControlPrefix addresses one sensor: fact.ctl.<host>.<verb>.
	ControlPrefix = "fact.ctl"

	// DefaultPartitions is the number of virtual partitions of FACT_RAW.
	DefaultPartitions = 64
)

// IngestSubject is the subject a sensor publishes a batch of host's events on filesystem dev to.
func IngestSubject(host string, dev uint64) string {
	return IngestPrefix + "." + host + "." + strconv.FormatUint(dev, 10)
}

// ParseIngestSubject splits an ingest subject, fact.in.<host>.<dev>; ok is false for any other subject.
func ParseIngestSubject(s string) (host string, dev uint64, ok bool) {
	rest, ok := strings.CutPrefix(s, IngestPrefix+".")
	host, d, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || host == "" {
		return "", 0, false
	}
	dev, err := strconv.ParseUint(d, 10, 64)
	if err != nil || strconv.FormatUint(dev, 10) != d {
		return "", 0, false
	}
	return host, dev, true
}

// RawTransform returns the FACT_RAW subject transform (source, destination) that spreads
// fact.in.<host>.<dev> over n partitions by hashing host and dev.
func RawTransform(n int) (src, dest string) {
	return IngestPrefix + ".*.*", fmt.Sprintf("%s.{{partition(%d,1,2)}}.{{wildcard(1)}}.{{wildcard(2)}}", RawPrefix, n)
}

// RawPartitionFilter is the FACT_RAW subject filter that selects one partition.
func RawPartitionFilter(partition int) string {
	return RawPrefix + "." + strconv.Itoa(partition) + ".>"
}

// RawHostFilter is the FACT_RAW subject filter that selects every message of host, on every partition
// and filesystem: fact.raw.*.<host>.*. A sensor's permissions name exactly this filter for its read-back
// consumer, so it must not change.
func RawHostFilter(host string) string {
	return RawPrefix + ".*." + host + ".*"
}

// IngestHostFilter is the subject filter of every ingest subject of host, fact.in.<host>.*.
func IngestHostFilter(host string) string {
	return IngestPrefix + "." + host + ".*"
}

// RawFilter is the FACT_RAW subject filter that selects every message.
func RawFilter() string { return RawPrefix + ".>" }

// ParseRawSubject splits a FACT_RAW subject, fact.raw.<partition>.<host>.<dev>; ok is false for any
// other subject.
func ParseRawSubject(s string) (partition int, host string, dev uint64, ok bool) {
	rest, ok := strings.CutPrefix(s, RawPrefix+".")
	t := strings.Split(rest, ".")
	if !ok || len(t) != 3 {
		return 0, "", 0, false
	}
	p, err1 := strconv.Atoi(t[0])
	d, err2 := strconv.ParseUint(t[2], 10, 64)
	return p, t[1], d, err1 == nil && err2 == nil
}

// ActivitySubject is the subject of enriched events of one type from one host.
func ActivitySubject(host, typ string) string {
	return ActivityPrefix + "." + host + "." + typ
}

// ActivityHostFilter is the FACT_ACTIVITY subject filter that selects every enriched event of host.
func ActivityHostFilter(host string) string {
	return ActivityPrefix + "." + host + ".>"
}

// ParseActivitySubject splits an enriched-event subject, fact.activity.<host>.<type>; ok is false for any
// other subject.
func ParseActivitySubject(s string) (host, typ string, ok bool) {
	return cutHostToken(s, ActivityPrefix)
}

// cutHostToken splits prefix.<host>.<token>, both tokens non-empty.
func cutHostToken(s, prefix string) (host, token string, ok bool) {
	rest, ok := strings.CutPrefix(s, prefix+".")
	host, token, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 || host == "" || token == "" || strings.Contains(token, ".") {
		return "", "", false
	}
	return host, token, true
}

// ControlHostFilter is the subject filter that selects every control request to the sensor of host.
func ControlHostFilter(host string) string {
	return ControlPrefix + "." + host + ".>"
}

// ParseControlSubject splits a control subject, fact.ctl.<host>.<verb>; ok is false for any other subject.
func ParseControlSubject(s string) (host, verb string, ok bool) {
	return cutHostToken(s, ControlPrefix)
}

// ControlFilter is the subject filter of every control request to any sensor, fact.ctl.>.
func ControlFilter() string { return ControlPrefix + ".>" }

// CheckpointFilter is the FACT_ACTIVITY subject filter that selects every checkpoint.
func CheckpointFilter() string { return CheckpointPrefix + ".>" }

// ControlSubject is the subject a sensor on host answers verb (rescan, status) on.
func ControlSubject(host, verb string) string {
	return ControlPrefix + "." + host + "." + verb
}
