package schemas

import (
	"math"
	"strconv"
)

// BatchHeader is the envelope of a raw batch without its events.
type BatchHeader struct {
	Host     string
	BootID   string
	BatchSeq uint64
	Dev      uint64
	Events   int // how many events follow
}

// DecodeBatchHeader decodes only the envelope of a raw batch: what a resolver needs to account for a
// message (its boot and batch sequence) without decoding its events. It checks no more than the
// envelope, so DecodeBatch may still fail on the same bytes. Errors are *DecodeError as for DecodeBatch.
func DecodeBatchHeader(data []byte) (BatchHeader, error) {
	var h BatchHeader
	d := decoder{r: reader{p: data}, event: -1}
	n, ok := d.r.readArrayLen()
	if !ok {
		return h, d.err("", ErrMalformed)
	}
	if n == 0 {
		d.r.detail = "empty envelope"
		return h, d.err("", ErrMalformed)
	}
	v, ok := d.r.readUint(math.MaxUint64)
	if !ok {
		return h, d.err("version", ErrMalformed)
	}
	if v != Version {
		d.r.detail = "version " + strconv.FormatUint(v, 10) + ", want " + strconv.Itoa(Version)
		return h, d.err("version", ErrUnknownVersion)
	}
	if n != batchFields {
		d.r.detail = "envelope has " + strconv.Itoa(n) + " fields"
		return h, d.err("", ErrMalformed)
	}
	if !d.str(&h.Host) {
		return h, d.err("host", ErrMalformed)
	}
	if !d.str(&h.BootID) {
		return h, d.err("boot_id", ErrMalformed)
	}
	if h.BatchSeq, ok = d.r.readUint(math.MaxUint64); !ok {
		return h, d.err("batch_seq", ErrMalformed)
	}
	if h.Dev, ok = d.r.readUint(math.MaxUint64); !ok {
		return h, d.err("dev", ErrMalformed)
	}
	if h.Events, ok = d.r.readArrayLen(); !ok {
		return h, d.err("events", ErrMalformed)
	}
	return h, nil
}
