package client

import (
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// startKind says which of Start's fields applies.
type startKind uint8

const (
	startNew startKind = iota
	startAll
	startTime
	startSeq
)

// Start is where Subscribe begins reading FACT_ACTIVITY. The zero value is StartNew.
type Start struct {
	kind startKind
	time time.Time
	seq  uint64
}

// StartNew starts with the messages published after Subscribe's consumer exists.
func StartNew() Start { return Start{} }

// StartAll starts with the oldest message the stream holds.
func StartAll() Start { return Start{kind: startAll} }

// StartTime starts with the first message stored at or after t.
func StartTime(t time.Time) Start { return Start{kind: startTime, time: t} }

// StartSeq starts with the message of FACT_ACTIVITY sequence seq, or the first one after it that the
// filter selects (sequence 0 is read as 1).
func StartSeq(seq uint64) Start { return Start{kind: startSeq, seq: max(seq, 1)} }

// ResumeAfter starts with the first message after sequence seq: give it the Batch.Seq of the last batch
// handled and nothing is delivered twice or missed.
func ResumeAfter(seq uint64) Start { return StartSeq(seq + 1) }

// ParseStart reads the forms String writes, and a duration ago: "" or "new" (StartNew), "all",
// "seq:N" (StartSeq(N)), an RFC 3339 time (2026-11-25T13:00:00Z), or a non-negative duration (10m,
// meaning now minus 10 minutes).
func ParseStart(s string, now time.Time) (Start, error) {
	switch s {
	case "", "new":
		return StartNew(), nil
	case "all":
		return StartAll(), nil
	}
	if n, ok := strings.CutPrefix(s, "seq:"); ok {
		seq, err := strconv.ParseUint(n, 10, 64)
		if err != nil || seq == 0 {
			return Start{}, &ValueError{Field: "start", Value: s, Reason: "want seq:N with N a stream sequence from 1", Err: ErrInvalidStart}
		}
		return StartSeq(seq), nil
	}
	if t, ok := ParseTime(s, now); ok {
		return StartTime(t), nil
	}
	return Start{}, &ValueError{Field: "start", Value: s, Err: ErrInvalidStart,
		Reason: `want "new", "all", seq:N, a duration like 10m or a time like 2026-11-25T13:00:00Z`}
}

// ParseTime reads a moment as ParseStart does: a non-negative duration is that long before now (10m),
// anything else must be RFC 3339 (2026-11-25T13:00:00Z). ok is false for neither.
func ParseTime(s string, now time.Time) (t time.Time, ok bool) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), true
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// String is the form ParseStart reads: "new", "all", "seq:N" or an RFC 3339 time, in UTC when its
// year allows.
func (s Start) String() string {
	switch s.kind {
	case startAll:
		return "all"
	case startTime:
		t := s.time.UTC()
		if t.Year() < 0 || t.Year() > 9999 { // RFC 3339 has four-digit years: keep the zone it came in
			t = s.time
		}
		return t.Format(time.RFC3339Nano)
	case startSeq:
		return "seq:" + strconv.FormatUint(s.seq, 10)
	}
	return "new"
}

// consumerConfig is the ordered consumer's configuration for s.
func (s Start) consumerConfig() jetstream.OrderedConsumerConfig {
	switch s.kind {
	case startAll:
		return jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	case startTime:
		t := s.time
		return jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &t}
	case startSeq:
		return jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: s.seq}
	}
	return jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}
}
