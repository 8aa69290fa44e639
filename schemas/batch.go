package schemas

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Version is the version of the raw batch encoding this package writes and the only one it reads.
const Version = 1

// batchFields is the length of the envelope array of Version.
const batchFields = 6

// Batch is what a sensor publishes in one message on IngestSubject(Host, Dev): events of one host, in
// sequence order, most of them about filesystem Dev.
//
// After DecodeBatch, the byte slices of Events point into memory owned by the Batch, valid until the next
// DecodeBatch into the same Batch. Copy what must live longer.
type Batch struct {
	Host     string // the node's name, as in subjects
	BootID   string // the node's boot id (/proc/sys/kernel/random/boot_id)
	BatchSeq uint64 // the sensor's batch sequence, per host and boot
	Dev      uint64 // the filesystem of the subject; events whose Dev equals it do not repeat it
	Events   []RawEvent

	arena []byte // DecodeBatch copies byte fields here
}

// MsgID is the JetStream message id of the batch, host:boot:batch_seq, which makes republishing idempotent.
func (b *Batch) MsgID() string { return MsgID(b.Host, b.BootID, b.BatchSeq) }

// MsgID is the JetStream message id (Nats-Msg-Id) of batch batchSeq of host in boot: host:boot:batch_seq.
func MsgID(host, boot string, batchSeq uint64) string {
	return MsgIDPrefix(host, boot) + strconv.FormatUint(batchSeq, 10)
}

// MsgIDPrefix is what every message id of host in boot starts with, host:boot:, for a reader that keeps
// only one boot's batches.
func MsgIDPrefix(host, boot string) string { return host + ":" + boot + ":" }

// ParseMsgID splits a message id written by MsgID; ok is false for anything else. A host never holds a
// colon (a sensor refuses one), so the boot id is everything between the first and the last colon.
func ParseMsgID(id string) (host, boot string, batchSeq uint64, ok bool) {
	host, rest, ok1 := strings.Cut(id, ":")
	i := strings.LastIndexByte(rest, ':')
	if !ok1 || i < 0 || host == "" {
		return "", "", 0, false
	}
	seq, err := strconv.ParseUint(rest[i+1:], 10, 64)
	if err != nil || strconv.FormatUint(seq, 10) != rest[i+1:] {
		return "", "", 0, false
	}
	return host, rest[:i], seq, true
}

// AppendBatchEnvelope appends the envelope of b (version, host, boot id, batch sequence, dev) and the
// header of an events array of n elements, ignoring b.Events. The caller appends n events encoded with
// AppendEvent after it; the result is what EncodeBatch writes for the same batch.
func AppendBatchEnvelope(dst []byte, b *Batch, n int) []byte {
	dst = appendArrayLen(dst, batchFields)
	dst = appendUint(dst, Version)
	dst = appendStr(dst, b.Host)
	dst = appendStr(dst, b.BootID)
	dst = appendUint(dst, b.BatchSeq)
	dst = appendUint(dst, b.Dev)
	return appendArrayLen(dst, n)
}

// EncodeBatch appends the encoding of b to dst and returns the extended buffer. It fails only on an event
// of an unknown kind.
func EncodeBatch(dst []byte, b *Batch) ([]byte, error) {
	dst = AppendBatchEnvelope(dst, b, len(b.Events))
	for i := range b.Events {
		ev := &b.Events[i]
		if !ev.Kind.Valid() {
			return dst, fmt.Errorf("encode event %d: %w: %d", i, ErrUnknownKind, ev.Kind)
		}
		dst = appendEvent(dst, ev, b.Dev)
	}
	return dst, nil
}

// AppendEvent appends the encoding of one event, as it appears inside a batch whose Dev is batchDev. A
// sensor can use it to keep a batch's bytes as it goes and know their size.
func AppendEvent(dst []byte, ev *RawEvent, batchDev uint64) ([]byte, error) {
	if !ev.Kind.Valid() {
		return dst, fmt.Errorf("encode event: %w: %d", ErrUnknownKind, ev.Kind)
	}
	return appendEvent(dst, ev, batchDev), nil
}

func appendEvent(dst []byte, ev *RawEvent, batchDev uint64) []byte {
	l := layouts[ev.Kind]
	n := len(l)
	for n > 1 && isZero(ev, l[n-1], batchDev) {
		n--
	}
	dst = appendArrayLen(dst, n)
	for _, f := range l[:n] {
		dst = appendField(dst, ev, f, batchDev)
	}
	return dst
}

// DecodeBatch decodes data into b, reusing b's memory. It never panics; on error b holds what was decoded
// so far and the error is a *DecodeError wrapping ErrUnknownVersion, ErrUnknownKind or ErrMalformed.
func DecodeBatch(data []byte, b *Batch) error {
	d := decoder{r: reader{p: data}, event: -1}
	if cap(b.arena) < len(data) {
		b.arena = make([]byte, 0, len(data))
	}
	d.arena = b.arena[:0]
	err := d.batch(b)
	b.arena = d.arena
	return err
}

type decoder struct {
	r     reader
	event int
	arena []byte
}

func (d *decoder) err(f string, sentinel error) error {
	return &DecodeError{Offset: d.r.start, Event: d.event, Field: f, Detail: d.r.detail, Err: sentinel}
}

func (d *decoder) batch(b *Batch) error {
	n, ok := d.r.readArrayLen()
	if !ok {
		return d.err("", ErrMalformed)
	}
	if n == 0 {
		d.r.detail = "empty envelope"
		return d.err("", ErrMalformed)
	}
	v, ok := d.r.readUint(math.MaxUint64)
	if !ok {
		return d.err("version", ErrMalformed)
	}
	if v != Version {
		d.r.detail = "version " + strconv.FormatUint(v, 10) + ", want " + strconv.Itoa(Version)
		return d.err("version", ErrUnknownVersion)
	}
	if n != batchFields {
		d.r.detail = fmt.Sprintf("envelope has %d fields, want %d", n, batchFields)
		return d.err("", ErrMalformed)
	}
	if !d.str(&b.Host) {
		return d.err("host", ErrMalformed)
	}
	if !d.str(&b.BootID) {
		return d.err("boot_id", ErrMalformed)
	}
	if b.BatchSeq, ok = d.r.readUint(math.MaxUint64); !ok {
		return d.err("batch_seq", ErrMalformed)
	}
	if b.Dev, ok = d.r.readUint(math.MaxUint64); !ok {
		return d.err("dev", ErrMalformed)
	}
	if n, ok = d.r.readArrayLen(); !ok {
		return d.err("events", ErrMalformed)
	}
	b.Events = grow(b.Events, n)
	for i := range b.Events {
		d.event = i
		if err := d.rawEvent(&b.Events[i], b.Dev); err != nil {
			b.Events = b.Events[:i]
			return err
		}
	}
	d.event = -1
	if d.r.off != len(d.r.p) {
		d.r.start = d.r.off
		d.r.detail = strconv.Itoa(len(d.r.p)-d.r.off) + " trailing bytes"
		return d.err("", ErrMalformed)
	}
	return nil
}

// str decodes into *s, keeping *s when the bytes are equal so a stream of one host allocates nothing.
func (d *decoder) str(s *string) bool {
	p, ok := d.r.readBytes()
	if ok && string(p) != *s {
		*s = string(p)
	}
	return ok
}

func grow(evs []RawEvent, n int) []RawEvent {
	if cap(evs) < n {
		return make([]RawEvent, n)
	}
	return evs[:n]
}

func (d *decoder) rawEvent(ev *RawEvent, batchDev uint64) error {
	n, ok := d.r.readArrayLen()
	if !ok {
		return d.err("", ErrMalformed)
	}
	if n == 0 {
		d.r.detail = "empty event"
		return d.err("", ErrMalformed)
	}
	k, ok := d.r.readUint(math.MaxUint8)
	if !ok {
		return d.err(fKind.String(), ErrMalformed)
	}
	kind := Kind(k)
	if !kind.Valid() {
		d.r.detail = strconv.FormatUint(k, 10)
		return d.err(fKind.String(), ErrUnknownKind)
	}
	l := layouts[kind]
	if n > len(l) {
		d.r.detail = fmt.Sprintf("%d fields, %s has %d", n, kind, len(l))
		return d.err("", ErrMalformed)
	}
	*ev = RawEvent{Kind: kind}
	if !kind.Process() {
		ev.Dev = batchDev
	}
	for _, f := range l[1:n] {
		if !d.field(ev, f) {
			return d.err(f.String(), ErrMalformed)
		}
	}
	return nil
}

// bytes reads a byte field into the arena. The arena was sized to the whole message, so appending never
// moves it and earlier slices stay put.
func (d *decoder) bytes(p *[]byte) bool {
	v, ok := d.r.readBytes()
	if !ok || len(v) == 0 {
		*p = nil
		return ok
	}
	start := len(d.arena)
	d.arena = append(d.arena, v...)
	*p = d.arena[start:len(d.arena):len(d.arena)]
	return true
}
