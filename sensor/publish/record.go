package publish

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
)

// Spool record layout (little endian), one per message, appended with a single write:
//
//	[4] body length n   [4] CRC-32C of body   [n] body
//	body: uvarint len(subject) | subject | uvarint dev | uvarint len(msg id) | msg id |
//	      uvarint events | uvarint first seq | uvarint last seq |
//	      uvarint header fields | (uvarint len(key) | key | uvarint len(value) | value)... |
//	      data (the rest)
//
// A segment file starts with segmentMagic, which names its version (segmentVersion); its name is the
// segment id as 16 hex digits plus ".seg". Older segments are still read: version 2 (segmentMagicV2)
// has no dev, version 1 (segmentMagicV1) neither dev nor header fields; the dev of their records is
// the one their subject names (schemas.ParseIngestSubject).
const (
	// segmentVersion is the record layout this package writes; segmentMagic names it.
	segmentVersion = 3

	recordHeaderSize = 8
	// maxRecordBody bounds the length field so a corrupt one cannot make us allocate gigabytes; NATS
	// payloads are at most 64 MiB.
	maxRecordBody = 64 << 20
)

var (
	segmentMagic   = [8]byte{'F', 'S', 'S', 'P', 'O', 'O', 'L', '0' + segmentVersion}
	segmentMagicV2 = [8]byte{'F', 'S', 'S', 'P', 'O', 'O', 'L', '2'}
	segmentMagicV1 = [8]byte{'F', 'S', 'S', 'P', 'O', 'O', 'L', '1'}
	crcTable       = crc32.MakeTable(crc32.Castagnoli)

	errShortRecord   = errors.New("short record")
	errRecordLength  = errors.New("record length out of range")
	errRecordCRC     = errors.New("record checksum mismatch")
	errRecordContent = errors.New("malformed record body")
	errNoDevSubject  = errors.New("not an ingest subject: it names no device")
)

// magicVersion returns the record layout version a segment's magic names; ok is false for none.
func magicVersion(magic [8]byte) (version byte, ok bool) {
	switch magic {
	case segmentMagic:
		return segmentVersion, true
	case segmentMagicV2:
		return 2, true
	case segmentMagicV1:
		return 1, true
	}
	return 0, false
}

// encodeRecord appends the record of m to dst.
func encodeRecord(dst []byte, m *Msg) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, recordHeaderSize)...)
	dst = binary.AppendUvarint(dst, uint64(len(m.Subject)))
	dst = append(dst, m.Subject...)
	dst = binary.AppendUvarint(dst, m.Dev)
	dst = binary.AppendUvarint(dst, uint64(len(m.MsgID)))
	dst = append(dst, m.MsgID...)
	dst = binary.AppendUvarint(dst, uint64(m.Events))
	dst = binary.AppendUvarint(dst, m.FirstSeq)
	dst = binary.AppendUvarint(dst, m.LastSeq)
	dst = appendHeader(dst, m.Header)
	dst = append(dst, m.Data...)
	body := dst[start+recordHeaderSize:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(body, crcTable))
	return dst
}

// recordSize is the encoded size of m.
func recordSize(m *Msg) int64 {
	n := recordHeaderSize + len(m.Subject) + len(m.MsgID) + len(m.Data)
	var b [binary.MaxVarintLen64]byte
	for _, v := range []uint64{uint64(len(m.Subject)), m.Dev, uint64(len(m.MsgID)), uint64(m.Events), m.FirstSeq, m.LastSeq} {
		n += binary.PutUvarint(b[:], v)
	}
	return int64(n + len(appendHeader(nil, m.Header)))
}

// appendHeader appends the header fields of h, keys sorted.
func appendHeader(dst []byte, h nats.Header) []byte {
	var fields uint64
	for _, vs := range h {
		fields += uint64(len(vs))
	}
	dst = binary.AppendUvarint(dst, fields)
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			dst = binary.AppendUvarint(dst, uint64(len(k)))
			dst = append(dst, k...)
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		}
	}
	return dst
}

// parseHeader returns the body length and checksum from a record header.
func parseHeader(h []byte) (n int, sum uint32, err error) {
	if len(h) < recordHeaderSize {
		return 0, 0, errShortRecord
	}
	l := binary.LittleEndian.Uint32(h)
	if l == 0 || l > maxRecordBody {
		return 0, 0, fmt.Errorf("%w: %d", errRecordLength, l)
	}
	return int(l), binary.LittleEndian.Uint32(h[4:]), nil
}

// decodeBody checks body against sum and decodes it, as written in a segment of version (1 to
// segmentVersion). Data aliases body.
func decodeBody(body []byte, sum uint32, version byte) (Msg, error) {
	if crc32.Checksum(body, crcTable) != sum {
		return Msg{}, errRecordCRC
	}
	var m Msg
	d := decoder{b: body}
	m.Subject = string(d.bytes())
	if version >= 3 {
		m.Dev = d.uvarint()
	}
	m.MsgID = string(d.bytes())
	m.Events = int(d.uvarint())
	m.FirstSeq = d.uvarint()
	m.LastSeq = d.uvarint()
	if version >= 2 {
		fields := d.uvarint()
		if fields > uint64(len(d.b)) {
			d.err = errRecordContent
		}
		for i := uint64(0); i < fields && d.err == nil; i++ {
			k, v := d.bytes(), d.bytes()
			if m.Header == nil {
				m.Header = nats.Header{}
			}
			m.Header[string(k)] = append(m.Header[string(k)], string(v))
		}
	}
	if d.err != nil {
		return Msg{}, d.err
	}
	if version < 3 {
		// Only the sensor wrote these segments, always on an ingest subject: one that is not can
		// be attributed to no device, and is treated as a damaged record.
		_, dev, ok := schemas.ParseIngestSubject(m.Subject)
		if !ok {
			return Msg{}, errNoDevSubject
		}
		m.Dev = dev
	}
	m.Data = d.b
	return m, nil
}

// decoder reads uvarints and length-prefixed bytes, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errRecordContent
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errRecordContent
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}
