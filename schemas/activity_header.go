package schemas

import (
	"math"
	"strconv"
)

// ActivityHeader is the envelope of an enriched batch without its events.
type ActivityHeader struct {
	Host   string
	Type   string
	Events int // how many events follow
}

// DecodeActivityHeader decodes only the envelope of an enriched batch, for a consumer that routes or
// counts messages. Errors are *DecodeError as for DecodeActivityBatch.
func DecodeActivityHeader(data []byte) (ActivityHeader, error) {
	var h ActivityHeader
	d := decoder{r: reader{p: data}, event: -1}
	n, ok := d.r.readArrayLen()
	if !ok {
		return h, d.err("", ErrMalformed)
	}
	v, ok := d.r.readUint(math.MaxUint64)
	switch {
	case !ok:
		return h, d.err("version", ErrMalformed)
	case v != ActivityVersion:
		d.r.detail = "version " + strconv.FormatUint(v, 10)
		return h, d.err("version", ErrUnknownVersion)
	case n != activityBatchFields:
		d.r.detail = "envelope has " + strconv.Itoa(n) + " fields"
		return h, d.err("", ErrMalformed)
	}
	if !d.str(&h.Host) {
		return h, d.err("host", ErrMalformed)
	}
	if !d.str(&h.Type) {
		return h, d.err("type", ErrMalformed)
	}
	if h.Events, ok = d.r.readArrayLen(); !ok {
		return h, d.err("events", ErrMalformed)
	}
	return h, nil
}
