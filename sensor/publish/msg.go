package publish

import "github.com/nats-io/nats.go"

// Msg is one encoded batch of raw events, opaque to this package.
type Msg struct {
	// Subject is where it goes, fact.in.<host>.<dev> (schemas.IngestSubject).
	Subject string
	// Dev is the filesystem device the batch's events are on, the <dev> of Subject; 0 is the
	// filesystem-less subject (process events, losses of unknown place). Drops are reported by it.
	Dev uint64
	// MsgID is the Nats-Msg-Id, host:boot:batch_seq: the server drops a republished copy within the
	// stream's duplicate window, which is what makes retries exactly once.
	MsgID string
	// Header holds NATS headers to send with the batch besides Nats-Msg-Id (kept in the spool too).
	Header nats.Header
	// Data is the encoded batch. Publish keeps it until the message is acknowledged: do not modify it.
	Data []byte
	// Events is the number of events in Data, and FirstSeq..LastSeq their sensor sequence numbers; they
	// are used only to account for drops.
	Events   int
	FirstSeq uint64
	LastSeq  uint64
}

// itemOverhead approximates the memory an item costs beyond its strings and data.
const itemOverhead = 128

// item is a Msg on its way: in memory, read from the spool (seg is then its segment until it is
// acknowledged), or in flight.
type item struct {
	msg Msg
	seg *segment
}

func (it *item) memSize() int64 {
	return int64(len(it.msg.Subject)+len(it.msg.MsgID)+len(it.msg.Data)) + itemOverhead
}
