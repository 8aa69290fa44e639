package snapcodec

import (
	"fmt"
	"io"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// MaxName bounds a name of a snapshot (a file name, a path, a host, a boot, a subject, a reason): longer
// than any name or path the kernel has.
const MaxName = 64 << 10

// A Decoder reads the values of a snapshot. It keeps the first error, after which every read returns a
// zero value, so that reading reads as a list; End reports it.
type Decoder struct {
	dec *msgpack.Decoder
	err error
	buf []byte // of Bytes
}

// NewReader returns a decoder of a whole snapshot read from r; End ends it.
func NewReader(r io.Reader) *Decoder { return &Decoder{dec: msgpack.NewDecoder(r)} }

// NewDecoder returns a decoder reading from dec, for a value that a larger snapshot embeds (the
// DecodeMsgpack method of a msgpack.CustomDecoder).
func NewDecoder(dec *msgpack.Decoder) *Decoder { return &Decoder{dec: dec} }

// Fail records err (when not nil) as the decoder's error unless it has one already.
func (d *Decoder) Fail(err error) {
	if err != nil && d.err == nil {
		d.err = err
	}
}

// Failf records an error of what was read, as fmt.Errorf makes it, unless the decoder has one already.
func (d *Decoder) Failf(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

// Err returns the first error of the decoder, unwrapped.
func (d *Decoder) Err() error { return d.err }

// Header reads what starts a snapshot and fails unless it is magic and version.
func (d *Decoder) Header(magic string, version uint64) {
	d.HeaderIn(magic, version, version)
}

// HeaderIn reads what starts a snapshot, fails unless it is magic and a version from oldest to newest,
// and returns the version (0 once the decoder has failed), for a reader that still reads the layouts of
// older versions.
func (d *Decoder) HeaderIn(magic string, oldest, newest uint64) uint64 {
	if m := d.Bytes(MaxName); d.err == nil && string(m) != magic {
		d.Failf("not a %q snapshot", magic)
	}
	v := d.Uint()
	switch {
	case d.err != nil:
		return 0
	case oldest == newest && v != newest:
		d.Failf("version %d, want %d", v, newest)
		return 0
	case v < oldest || v > newest:
		d.Failf("version %d, want %d to %d", v, oldest, newest)
		return 0
	}
	return v
}

// Uint returns the next unsigned integer.
func (d *Decoder) Uint() uint64 { return next(d, d.dec.DecodeUint64) }

// Int returns the next integer.
func (d *Decoder) Int() int64 { return next(d, d.dec.DecodeInt64) }

// Bool returns the next bool.
func (d *Decoder) Bool() bool { return next(d, d.dec.DecodeBool) }

// next returns what decode reads, or the zero value once d has failed.
func next[T any](d *Decoder, decode func() (T, error)) T {
	if d.err != nil {
		var zero T
		return zero
	}
	v, err := decode()
	d.Fail(err)
	return v
}

// Bytes returns the next bin or str of at most limit bytes (nil for nil) in a buffer that the next call
// reuses.
func (d *Decoder) Bytes(limit int) []byte {
	n, ok := d.bytesLen(limit)
	if !ok {
		return nil
	}
	d.buf = slices.Grow(d.buf[:0], n)[:n]
	d.Fail(d.dec.ReadFull(d.buf))
	return d.buf
}

// Blob returns the next bin or str of at most limit bytes (nil for nil) in memory of its own.
func (d *Decoder) Blob(limit int) []byte {
	n, ok := d.bytesLen(limit)
	if !ok {
		return nil
	}
	b := make([]byte, n)
	d.Fail(d.dec.ReadFull(b))
	return b
}

// Str returns the next bin or str of at most limit bytes as a string ("" for nil).
func (d *Decoder) Str(limit int) string { return string(d.Bytes(limit)) }

// bytesLen reads the length of a bin or str, false when there are no bytes to read: an error, a length
// over limit, or nil.
func (d *Decoder) bytesLen(limit int) (int, bool) {
	if d.err != nil {
		return 0, false
	}
	n, err := d.dec.DecodeBytesLen()
	switch {
	case err != nil:
		d.Fail(err)
		return 0, false
	case n < 0:
		return 0, false
	case n > limit:
		d.Failf("a value of %d bytes, over the bound of %d", n, limit)
		return 0, false
	}
	return n, true
}

// Embed reads v, which decodes itself, unless the decoder failed already.
func (d *Decoder) Embed(v msgpack.CustomDecoder) {
	if d.err == nil {
		d.Fail(v.DecodeMsgpack(d.dec))
	}
}

// A VersionDecoder is a value that decodes itself as the given version of the snapshot embedding it
// laid it out, for a value whose layout changed between versions.
type VersionDecoder interface {
	DecodeVersion(dec *msgpack.Decoder, version uint64) error
}

// EmbedVersion reads v, laid out as in version, unless the decoder failed already.
func (d *Decoder) EmbedVersion(v VersionDecoder, version uint64) {
	if d.err == nil {
		d.Fail(v.DecodeVersion(d.dec, version))
	}
}

// End checks that nothing follows and returns the error of the whole read, wrapping ErrBadSnapshot.
func (d *Decoder) End() error {
	if d.err == nil {
		if _, err := d.dec.PeekCode(); err != io.EOF {
			d.Failf("trailing data")
		}
	}
	if d.err != nil {
		return fmt.Errorf("read snapshot: %w: %w", ErrBadSnapshot, d.err)
	}
	return nil
}
