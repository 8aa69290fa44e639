package snapcodec

import (
	"bufio"
	"fmt"
	"io"

	"github.com/vmihailenco/msgpack/v5"
)

// An Encoder writes the values of a snapshot. It keeps the first error, so that writing reads as a list;
// Err or Flush reports it.
type Encoder struct {
	enc *msgpack.Encoder
	bw  *bufio.Writer // nil when writing into another encoder
	err error
}

// NewWriter returns an encoder of a whole snapshot, buffered on its way to w; Flush ends it.
func NewWriter(w io.Writer) *Encoder {
	bw := bufio.NewWriterSize(w, 1<<16)
	return &Encoder{enc: msgpack.NewEncoder(bw), bw: bw}
}

// NewEncoder returns an encoder writing into enc, for a value that a larger snapshot embeds (the
// EncodeMsgpack method of a msgpack.CustomEncoder).
func NewEncoder(enc *msgpack.Encoder) *Encoder { return &Encoder{enc: enc} }

// Fail records err (when not nil) as the encoder's error unless it has one already.
func (e *Encoder) Fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// Err returns the first error of the encoder, unwrapped.
func (e *Encoder) Err() error { return e.err }

// Header writes what starts a snapshot: its magic and the version of its layout.
func (e *Encoder) Header(magic string, version uint64) {
	e.Str(magic)
	e.Uint(version)
}

// Uint writes v in the fewest bytes msgpack has for it.
func (e *Encoder) Uint(v uint64) { e.Fail(e.enc.EncodeUint(v)) }

// Int writes v in the fewest bytes msgpack has for it.
func (e *Encoder) Int(v int64) { e.Fail(e.enc.EncodeInt(v)) }

// Bool writes v.
func (e *Encoder) Bool(v bool) { e.Fail(e.enc.EncodeBool(v)) }

// Str writes v as a str.
func (e *Encoder) Str(v string) { e.Fail(e.enc.EncodeString(v)) }

// Bytes writes v as a bin, or as nil when v is nil.
func (e *Encoder) Bytes(v []byte) { e.Fail(e.enc.EncodeBytes(v)) }

// Count writes the number of elements that follow.
func (e *Encoder) Count(n int) { e.Uint(uint64(n)) }

// Embed writes v, which encodes itself.
func (e *Encoder) Embed(v msgpack.CustomEncoder) { e.Fail(v.EncodeMsgpack(e.enc)) }

// Flush writes out what NewWriter buffered, or reports the first error.
func (e *Encoder) Flush() error {
	if e.err != nil {
		return fmt.Errorf("write snapshot: %w", e.err)
	}
	if e.bw == nil {
		return nil
	}
	if err := e.bw.Flush(); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}
