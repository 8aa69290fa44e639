package pipeline

import (
	"bufio"
	"fmt"
	"io"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// snapEncoder and snapDecoder write and read the values of a partition snapshot (viewsnap.go); the
// indexes and process tables in it encode themselves (package projection). The first error sticks.

type snapEncoder struct {
	enc *msgpack.Encoder
	err error
}

func (e *snapEncoder) do(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *snapEncoder) uint(v uint64)  { e.do(e.enc.EncodeUint(v)) }
func (e *snapEncoder) str(v string)   { e.do(e.enc.EncodeString(v)) }
func (e *snapEncoder) bytes(v []byte) { e.do(e.enc.EncodeBytes(v)) }
func (e *snapEncoder) count(n int)    { e.uint(uint64(n)) }

func (e *snapEncoder) flush(bw *bufio.Writer) error {
	if e.err != nil {
		return fmt.Errorf("write snapshot: %w", e.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	return nil
}

// maxSnapshotName bounds a string of a snapshot (a host, a boot, a subject, a reason).
const maxSnapshotName = 64 << 10

type snapDecoder struct {
	dec *msgpack.Decoder
	err error
	buf []byte
}

func (d *snapDecoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *snapDecoder) do(err error) {
	if err != nil && d.err == nil {
		d.err = err
	}
}

func (d *snapDecoder) uint() uint64 {
	if d.err != nil {
		return 0
	}
	v, err := d.dec.DecodeUint64()
	if err != nil {
		d.fail("%w", err)
	}
	return v
}

// bytes returns the next bin or str (nil for nil) in a buffer reused by the next call.
func (d *snapDecoder) bytes() []byte {
	if d.err != nil {
		return nil
	}
	n, err := d.dec.DecodeBytesLen()
	switch {
	case err != nil:
		d.fail("%w", err)
		return nil
	case n < 0:
		return nil
	case n > maxSnapshotName:
		d.fail("a name of %d bytes", n)
		return nil
	}
	d.buf = slices.Grow(d.buf[:0], n)[:n]
	if err := d.dec.ReadFull(d.buf); err != nil {
		d.fail("%w", err)
	}
	return d.buf
}

func (d *snapDecoder) str() string { return string(d.bytes()) }

// end checks that nothing follows and returns the error of the whole read.
func (d *snapDecoder) end() error {
	if d.err == nil {
		if _, err := d.dec.PeekCode(); err != io.EOF {
			d.fail("trailing data")
		}
	}
	if d.err != nil {
		return fmt.Errorf("read snapshot: %w: %w", ErrBadSnapshot, d.err)
	}
	return nil
}
