package pipeline

import (
	"strconv"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
)

// maxCommitMsgs keeps a commit under nats-server's default limit of 1000 messages per atomic batch,
// with room for the checkpoint and the messages one more item can add.
const maxCommitMsgs = 900

// outbox collects what a partition's views release until the next commit: enriched events encoded
// into one batch per (host, type) subject, sealed into messages of at most maxBytes; dead letters;
// rescan requests, sent once the commit that carries their gap has landed. It implements sink.
type outbox struct {
	maxBytes  int
	partition int
	groups    map[string]*group
	order     []string // subjects in order of first use
	msgs      []*nats.Msg
	events    int
	size      int
	rescans   []schemas.RescanRequest
}

type group struct {
	host, typ string
	n         int
	buf       []byte
}

func newOutbox(partition, maxBytes int) *outbox {
	return &outbox{maxBytes: maxBytes, partition: partition, groups: make(map[string]*group)}
}

func (o *outbox) activity(a *schemas.Activity) {
	subj := schemas.ActivitySubject(a.Host, a.Type)
	g := o.groups[subj]
	if g == nil {
		g = &group{host: a.Host, typ: a.Type}
		o.groups[subj] = g
		o.order = append(o.order, subj)
	}
	before := len(g.buf)
	g.buf = schemas.AppendActivity(g.buf, a)
	g.n++
	o.events++
	o.size += len(g.buf) - before
	if len(g.buf) >= o.maxBytes {
		o.seal(subj, g)
	}
}

func (o *outbox) seal(subj string, g *group) {
	data := schemas.AppendActivityEnvelope(make([]byte, 0, len(g.buf)+64), g.host, g.typ, g.n)
	o.msgs = append(o.msgs, &nats.Msg{Subject: subj, Data: append(data, g.buf...)})
	g.buf, g.n = g.buf[:0], 0
}

func (o *outbox) deadLetter(d *deadLetter) {
	data := d.data
	h := nats.Header{}
	h.Set(schemas.HeaderDLQReason, d.reason)
	h.Set(schemas.HeaderDLQSubject, d.subject)
	h.Set(schemas.HeaderDLQSequence, strconv.FormatUint(d.seq, 10))
	h.Set(schemas.HeaderDLQPartition, strconv.Itoa(o.partition))
	if len(data) > o.maxBytes { // a whole copy may not fit in a message next to its headers
		h.Set("Fact-Dlq-Truncated", strconv.Itoa(len(data)))
		data = data[:o.maxBytes]
	}
	o.msgs = append(o.msgs, &nats.Msg{Subject: schemas.DeadLetterRawSubject, Header: h, Data: data})
	o.size += len(data)
}

func (o *outbox) rescan(r schemas.RescanRequest) { o.rescans = append(o.rescans, r) }

// full reports whether the outbox should be committed now.
func (o *outbox) full(maxEvents int) bool {
	return o.events >= maxEvents || o.size >= 8*o.maxBytes || len(o.msgs) >= maxCommitMsgs-len(o.groups)
}

// empty reports whether there is nothing to publish.
func (o *outbox) empty() bool { return o.events == 0 && len(o.msgs) == 0 && len(o.rescans) == 0 }

// take returns the messages to commit and the rescans to send after, and empties the outbox.
func (o *outbox) take() ([]*nats.Msg, []schemas.RescanRequest) {
	for _, subj := range o.order {
		if g := o.groups[subj]; g.n > 0 {
			o.seal(subj, g)
		}
	}
	msgs, rescans := o.msgs, o.rescans
	o.msgs, o.rescans, o.events, o.size = nil, nil, 0, 0
	if len(o.groups) > 64 { // many hosts or types come and go: do not keep their buffers forever
		o.groups, o.order = make(map[string]*group), nil
	}
	return msgs, rescans
}
