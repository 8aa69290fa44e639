package schemas

import (
	"strconv"
	"strings"
)

// Subjects and messages of the resolver besides FILE_ACTIVITY itself. They live in stream ActivityStream
// (checkpoints, dead letters) or are plain NATS messages (a sensor's control requests); a consumer of FILE_ACTIVITY
// filters on ActivityPrefix + ".>" and never sees them.
const (
	// CheckpointPrefix is where a resolver records, per partition, how far into FACT_RAW its published
	// output goes: fact.ckpt.<partition>.
	CheckpointPrefix = "fact.ckpt"
	// DeadLetterPrefix is where messages a resolver could not read go: fact.dlq.raw for raw batches.
	DeadLetterPrefix = "fact.dlq"
	// DeadLetterRawSubject holds raw messages that failed to decode, with the reason in a header.
	DeadLetterRawSubject = DeadLetterPrefix + ".raw"

	// VerbRescan is the control verb asking a sensor to rescan (ControlSubject(host, VerbRescan)).
	VerbRescan = "rescan"
	// VerbStatus is the control verb asking a sensor for its status (ControlSubject(host, VerbStatus)).
	VerbStatus = "status"
	// VerbVerify is the control verb asking a sensor for a rescan with hashes (ControlSubject(host,
	// VerbVerify), data a VerifyRequest). It makes the node read files: only the admin role may send it.
	VerbVerify = "verify"
)

// Headers of a dead-lettered raw message. The payload is the original message, byte for byte.
const (
	HeaderDLQReason    = "Fact-Dlq-Reason"    // why it could not be read, e.g. the decode error
	HeaderDLQSubject   = "Fact-Dlq-Subject"   // the FACT_RAW subject it was stored on
	HeaderDLQSequence  = "Fact-Dlq-Sequence"  // its FACT_RAW stream sequence
	HeaderDLQPartition = "Fact-Dlq-Partition" // the resolver partition that read it
)

// CheckpointSubject is the subject of the checkpoints of one partition.
func CheckpointSubject(partition int) string {
	return CheckpointPrefix + "." + strconv.Itoa(partition)
}

// IsCheckpointSubject reports whether s is in the checkpoints' namespace, fact.ckpt.>.
func IsCheckpointSubject(s string) bool { return strings.HasPrefix(s, CheckpointPrefix+".") }

// ParseCheckpointSubject reads the partition of fact.ckpt.<partition>; ok is false for any other subject.
func ParseCheckpointSubject(s string) (partition int, ok bool) {
	rest, ok := strings.CutPrefix(s, CheckpointPrefix+".")
	p, err := strconv.Atoi(rest)
	if !ok || err != nil || strconv.Itoa(p) != rest {
		return 0, false
	}
	return p, true
}

// ActivityStreamSubjects are the subjects stream ActivityStream stores: enriched events, checkpoints and
// dead letters.
func ActivityStreamSubjects() []string {
	return []string{ActivityPrefix + ".>", CheckpointPrefix + ".>", DeadLetterPrefix + ".>"}
}

// RescanRequest asks the sensor of Host to rescan a filesystem (Dev, 0 for every monitored one) because a
// resolver's view of it became uncertain. It travels as JSON on ControlSubject(Host, VerbRescan); a sensor
// may receive the same request more than once and should coalesce them.
type RescanRequest struct {
	Host   string `json:"host"`
	Dev    uint64 `json:"dev"`
	Reason string `json:"reason"`
	// RawSeq is the FACT_RAW stream sequence where the resolver noticed, for the operator.
	RawSeq uint64 `json:"raw_seq,omitempty"`
	// Partition is the resolver partition that asks.
	Partition int `json:"partition"`
}
