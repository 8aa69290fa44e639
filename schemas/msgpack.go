package schemas

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The smallest msgpack encoder and decoder the raw format needs: unsigned and signed integers, bin, str,
// nil and array headers, always in their shortest form. Any msgpack library reads what this writes.

const (
	mpNil      = 0xc0
	mpBin8     = 0xc4
	mpBin16    = 0xc5
	mpBin32    = 0xc6
	mpUint8    = 0xcc
	mpUint16   = 0xcd
	mpUint32   = 0xce
	mpUint64   = 0xcf
	mpInt8     = 0xd0
	mpInt16    = 0xd1
	mpInt32    = 0xd2
	mpInt64    = 0xd3
	mpStr8     = 0xd9
	mpStr16    = 0xda
	mpStr32    = 0xdb
	mpArray16  = 0xdc
	mpArray32  = 0xdd
	mpFixArray = 0x90
	mpFixStr   = 0xa0
)

func appendUint(b []byte, v uint64) []byte {
	switch {
	case v < 0x80:
		return append(b, byte(v))
	case v <= math.MaxUint8:
		return append(b, mpUint8, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, mpUint16), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, mpUint32), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, mpUint64), v)
}

func appendInt(b []byte, v int64) []byte {
	switch {
	case v >= 0:
		return appendUint(b, uint64(v))
	case v >= -32:
		return append(b, byte(v))
	case v >= math.MinInt8:
		return append(b, mpInt8, byte(v))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(b, mpInt16), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(b, mpInt32), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(b, mpInt64), uint64(v))
}

// appendBin writes p as bin, or nil when it is empty.
func appendBin(b, p []byte) []byte {
	n := len(p)
	switch {
	case n == 0:
		return append(b, mpNil)
	case n <= math.MaxUint8:
		b = append(b, mpBin8, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, mpBin16), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, mpBin32), uint32(n))
	}
	return append(b, p...)
}

func appendStr(b []byte, s string) []byte {
	n := len(s)
	switch {
	case n < 32:
		b = append(b, mpFixStr|byte(n))
	case n <= math.MaxUint8:
		b = append(b, mpStr8, byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, mpStr16), uint16(n))
	default:
		b = binary.BigEndian.AppendUint32(append(b, mpStr32), uint32(n))
	}
	return append(b, s...)
}

func appendArrayLen(b []byte, n int) []byte {
	switch {
	case n < 16:
		return append(b, mpFixArray|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, mpArray16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, mpArray32), uint32(n))
}

// reader decodes msgpack values from p. Its methods return ok=false with detail set on the first problem;
// the caller turns that into a *DecodeError with the field it was reading.
type reader struct {
	p      []byte
	off    int
	start  int // where the value being read started, for errors
	detail string
}

func (r *reader) fail(format string, args ...any) bool {
	r.detail = fmt.Sprintf(format, args...)
	return false
}

func (r *reader) need(n int) bool {
	return len(r.p)-r.off >= n || r.short(n)
}

func (r *reader) short(n int) bool {
	return r.fail("truncated: need %d bytes, have %d", n, len(r.p)-r.off)
}

// isNil consumes a nil if one comes next.
func (r *reader) isNil() bool {
	if r.off < len(r.p) && r.p[r.off] == mpNil {
		r.off++
		return true
	}
	return false
}

// readInt reads any msgpack integer, or nil as zero, as a value in [lo, hi].
func (r *reader) readInt(lo int64, hi uint64) (neg int64, pos uint64, ok bool) {
	r.start = r.off
	if r.off < len(r.p) && r.p[r.off] < 0x80 && uint64(r.p[r.off]) <= hi { // the usual small value
		r.off++
		return 0, uint64(r.p[r.off-1]), true
	}
	return r.readIntSlow(lo, hi)
}

func (r *reader) readIntSlow(lo int64, hi uint64) (neg int64, pos uint64, ok bool) {
	if !r.need(1) {
		return 0, 0, false
	}
	c := r.p[r.off]
	r.off++
	switch {
	case c < 0x80:
		pos = uint64(c)
	case c >= 0xe0:
		neg = int64(int8(c))
	case c == mpNil:
	case c >= mpUint8 && c <= mpUint64:
		n := 1 << (c - mpUint8)
		if !r.need(n) {
			return 0, 0, false
		}
		pos = readBE(r.p[r.off:], n)
		r.off += n
	case c >= mpInt8 && c <= mpInt64:
		n := 1 << (c - mpInt8)
		if !r.need(n) {
			return 0, 0, false
		}
		v := readBE(r.p[r.off:], n)
		r.off += n
		shift := 64 - 8*n
		s := int64(v<<shift) >> shift
		if s >= 0 {
			pos = uint64(s)
		} else {
			neg = s
		}
	default:
		return 0, 0, r.fail("want integer, got 0x%02x", c)
	}
	if neg < lo || pos > hi {
		return 0, 0, r.outOfRange(lo, hi)
	}
	return neg, pos, true
}

func (r *reader) outOfRange(lo int64, hi uint64) bool {
	return r.fail("integer out of range [%d, %d]", lo, hi)
}

func readBE(p []byte, n int) uint64 {
	switch n {
	case 1:
		return uint64(p[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(p))
	case 4:
		return uint64(binary.BigEndian.Uint32(p))
	}
	return binary.BigEndian.Uint64(p)
}

func (r *reader) readUint(hi uint64) (uint64, bool) {
	_, v, ok := r.readInt(0, hi)
	return v, ok
}

func (r *reader) readSigned(lo, hi int64) (int64, bool) {
	neg, pos, ok := r.readInt(lo, uint64(hi))
	if neg != 0 {
		return neg, ok
	}
	return int64(pos), ok
}

// readBytes reads bin, str or nil; the result aliases r.p.
func (r *reader) readBytes() ([]byte, bool) {
	r.start = r.off
	if !r.need(1) {
		return nil, false
	}
	c := r.p[r.off]
	r.off++
	var n int
	switch {
	case c == mpNil:
		return nil, true
	case c&0xe0 == mpFixStr:
		n = int(c & 0x1f)
	case c == mpBin8 || c == mpStr8:
		if !r.need(1) {
			return nil, false
		}
		n = int(r.p[r.off])
		r.off++
	case c == mpBin16 || c == mpStr16:
		if !r.need(2) {
			return nil, false
		}
		n = int(binary.BigEndian.Uint16(r.p[r.off:]))
		r.off += 2
	case c == mpBin32 || c == mpStr32:
		if !r.need(4) {
			return nil, false
		}
		n = int(binary.BigEndian.Uint32(r.p[r.off:]))
		r.off += 4
	default:
		return nil, r.fail("want bin or str, got 0x%02x", c)
	}
	if !r.need(n) {
		return nil, false
	}
	p := r.p[r.off : r.off+n : r.off+n]
	r.off += n
	return p, true
}

// readArrayLen reads an array header whose length cannot exceed the bytes left (each element takes one
// byte at least), so a hostile length never makes the caller allocate.
func (r *reader) readArrayLen() (int, bool) {
	r.start = r.off
	if !r.need(1) {
		return 0, false
	}
	c := r.p[r.off]
	r.off++
	var n int
	switch {
	case c&0xf0 == mpFixArray:
		n = int(c & 0x0f)
	case c == mpArray16:
		if !r.need(2) {
			return 0, false
		}
		n = int(binary.BigEndian.Uint16(r.p[r.off:]))
		r.off += 2
	case c == mpArray32:
		if !r.need(4) {
			return 0, false
		}
		n = int(binary.BigEndian.Uint32(r.p[r.off:]))
		r.off += 4
	default:
		return 0, r.fail("want array, got 0x%02x", c)
	}
	if n > len(r.p)-r.off {
		return 0, r.fail("array of %d elements in %d bytes", n, len(r.p)-r.off)
	}
	return n, true
}
