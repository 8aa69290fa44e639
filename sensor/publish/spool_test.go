package publish

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/factstream/factstream/schemas"
	"github.com/nats-io/nats.go"
	"go.uber.org/zap/zaptest"
)

// testMsg is record i: on one of three hosts and one of two filesystems.
func testMsg(i int) Msg {
	dev := uint64(2049 + i%2)
	return Msg{
		Subject: schemas.IngestSubject(fmt.Sprintf("h%d", i%3), dev), Dev: dev, MsgID: fmt.Sprintf("h:b:%d", i),
		Data: []byte(fmt.Sprintf("batch %d %0100d", i, i)), Events: 10, FirstSeq: uint64(i * 10), LastSeq: uint64(i*10 + 9),
	}
}

func openTestSpool(t *testing.T, dir string, limit int64) *spool {
	t.Helper()
	s, err := openSpool(spoolConfig{dir: dir, limit: limit, segmentBytes: 1024}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("opening spool: %v", err)
	}
	t.Cleanup(s.release)
	return s
}

func appendN(t *testing.T, s *spool, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		m := testMsg(i)
		if err := s.append(&m); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

// readN reads n records, checks they are from, from+1, ... and acks them when ack is set.
func readN(t *testing.T, s *spool, from, n int, ack bool) []*item {
	t.Helper()
	var items []*item
	for i := from; i < from+n; i++ {
		it := s.next()
		if it == nil {
			t.Fatalf("record %d missing", i)
		}
		if want := testMsg(i); it.msg.MsgID != want.MsgID || string(it.msg.Data) != string(want.Data) || it.msg.LastSeq != want.LastSeq || it.msg.Dev != want.Dev {
			t.Fatalf("record %d: got %+v", i, it.msg)
		}
		if ack {
			s.ack(it.seg)
		} else {
			items = append(items, it)
		}
	}
	return items
}

// oldRecord encodes m as segments of version 1 (no header fields) and 2 (header fields) held it:
// without the dev, which the reader takes from the subject. It is the encoder of those versions, kept
// here to write fixtures.
func oldRecord(m *Msg, version byte) []byte {
	var body []byte
	body = binary.AppendUvarint(body, uint64(len(m.Subject)))
	body = append(body, m.Subject...)
	body = binary.AppendUvarint(body, uint64(len(m.MsgID)))
	body = append(body, m.MsgID...)
	for _, v := range []uint64{uint64(m.Events), m.FirstSeq, m.LastSeq} {
		body = binary.AppendUvarint(body, v)
	}
	if version >= 2 {
		body = appendHeader(body, m.Header)
	}
	body = append(body, m.Data...)
	rec := binary.LittleEndian.AppendUint32(nil, uint32(len(body)))
	rec = binary.LittleEndian.AppendUint32(rec, crc32.Checksum(body, crcTable))
	return append(rec, body...)
}

// oldSegment is a segment of version 1 or 2 holding msgs.
func oldSegment(version byte, msgs ...Msg) []byte {
	magic := segmentMagicV1
	if version == 2 {
		magic = segmentMagicV2
	}
	seg := append([]byte(nil), magic[:]...)
	for i := range msgs {
		seg = append(seg, oldRecord(&msgs[i], version)...)
	}
	return seg
}

// TestSpoolReadsOldVersions: segments written before records had headers (version 1) or a dev
// (version 2) are delivered as they were, each record with the dev its subject names.
func TestSpoolReadsOldVersions(t *testing.T) {
	for _, version := range []byte{1, 2} {
		t.Run(fmt.Sprintf("version %d", version), func(t *testing.T) {
			dir := t.TempDir()
			msgs := []Msg{testMsg(3), testMsg(4)}
			if version >= 2 {
				msgs[1].Header = nats.Header{"B": {"2", "3"}, "A": {"1"}}
			}
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%016x%s", firstSegmentID, segmentExt)), oldSegment(version, msgs...), 0o600); err != nil {
				t.Fatal(err)
			}
			s := openTestSpool(t, dir, 1<<20)
			for _, m := range msgs {
				it := s.next()
				if it == nil || it.msg.MsgID != m.MsgID || string(it.msg.Data) != string(m.Data) || it.msg.LastSeq != m.LastSeq ||
					it.msg.Subject != m.Subject || it.msg.Dev != m.Dev || !reflect.DeepEqual(it.msg.Header, m.Header) {
					t.Fatalf("version %d record read back as %+v, want %+v", version, it, m)
				}
			}
			if corrupt := s.takeCorrupt(); len(corrupt) != 0 {
				t.Fatalf("version %d segment reported corrupt: %+v", version, corrupt)
			}
		})
	}
}

// TestSpoolOldRecordWithoutDev: a version 2 record whose subject names no device cannot be attributed
// to a filesystem; it is reported as corrupt, with what follows it, and what precedes it is delivered.
func TestSpoolOldRecordWithoutDev(t *testing.T) {
	dir := t.TempDir()
	bad := testMsg(4)
	bad.Subject = "elsewhere"
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%016x%s", firstSegmentID, segmentExt)), oldSegment(2, testMsg(3), bad, testMsg(5)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openTestSpool(t, dir, 1<<20)
	readN(t, s, 3, 1, true)
	if s.next() != nil {
		t.Fatal("records after the one without a dev were delivered")
	}
	if corrupt := s.takeCorrupt(); len(corrupt) != 1 || corrupt[0].Reason != errNoDevSubject.Error() {
		t.Fatalf("corruption %+v, want one naming %q", corrupt, errNoDevSubject)
	}
}

// TestRecordRoundTrip: a record of the current version keeps every field, the dev included (one that
// the subject does not name: the record's own is what is read).
func TestRecordRoundTrip(t *testing.T) {
	m := testMsg(7)
	m.Dev = 1 << 40
	m.Header = nats.Header{"B": {"2", "3"}, "A": {"1"}}
	b := encodeRecord(nil, &m)
	if int64(len(b)) != recordSize(&m) {
		t.Fatalf("recordSize %d, encoded %d", recordSize(&m), len(b))
	}
	n, sum, err := parseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeBody(b[recordHeaderSize:recordHeaderSize+n], sum, segmentVersion)
	if err != nil || got.MsgID != m.MsgID || got.Subject != m.Subject || got.Dev != m.Dev || string(got.Data) != string(m.Data) ||
		got.Events != m.Events || got.FirstSeq != m.FirstSeq || got.LastSeq != m.LastSeq || !reflect.DeepEqual(got.Header, m.Header) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	b[len(b)-1] ^= 1
	if _, err := decodeBody(b[recordHeaderSize:], sum, segmentVersion); err == nil {
		t.Fatal("flipped bit not detected")
	}
}

func TestSpoolFIFOAcrossSegmentsAndReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir, 1<<20)
	appendN(t, s, 0, 50)
	if len(s.segs) < 3 {
		t.Fatalf("expected several segments, got %d", len(s.segs))
	}
	readN(t, s, 0, 20, true)
	appendN(t, s, 50, 60)
	if err := s.close(true); err != nil {
		t.Fatal(err)
	}

	s = openTestSpool(t, dir, 1<<20)
	if s.records() != 40 {
		t.Fatalf("records after reopen: %d, want 40", s.records())
	}
	readN(t, s, 20, 40, true)
	if s.next() != nil {
		t.Fatal("unexpected extra record")
	}
	if s.bytes != 0 || len(s.segs) != 0 {
		t.Fatalf("consumed spool not empty: %d bytes, %d segments", s.bytes, len(s.segs))
	}
	if err := s.close(true); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(left) != 0 {
		t.Fatalf("segment files left: %v", left)
	}
}

func TestSpoolLimit(t *testing.T) {
	s := openTestSpool(t, t.TempDir(), 2048)
	n := 0
	for ; n < 100; n++ {
		m := testMsg(n)
		if err := s.append(&m); err == errSpoolFull {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 || n == 100 || s.bytes > 2048 {
		t.Fatalf("spool took %d records, %d bytes, limit 2048", n, s.bytes)
	}
	readN(t, s, 0, n, true) // consuming frees the space
	m := testMsg(n)
	if err := s.append(&m); err != nil {
		t.Fatalf("append after draining: %v", err)
	}
}

func TestSpoolTornTail(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, path string, size int64)
		keep   int // records expected to survive of 10 in the last segment's file
	}{
		{"truncated mid-record", func(t *testing.T, path string, size int64) { truncateFile(t, path, size-5) }, -1},
		{"garbage appended", func(t *testing.T, path string, size int64) { appendFile(t, path, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}) }, 0},
		{"bit flipped in last record", func(t *testing.T, path string, size int64) { flipByte(t, path, size-3) }, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTestSpool(t, dir, 1<<20)
			appendN(t, s, 0, 10)
			last := filepath.Join(dir, s.segs[len(s.segs)-1].name())
			total := s.records()
			if err := s.close(true); err != nil {
				t.Fatal(err)
			}
			st, _ := os.Stat(last)
			c.damage(t, last, st.Size())

			s = openTestSpool(t, dir, 1<<20)
			want := total + c.keep
			if s.records() != want {
				t.Fatalf("records after damage: %d, want %d", s.records(), want)
			}
			corrupt := s.takeCorrupt()
			if len(corrupt) != 1 || corrupt[0].Bytes == 0 {
				t.Fatalf("corruption not reported: %+v", corrupt)
			}
			t.Logf("reported: %+v", corrupt[0])
			readN(t, s, 0, want, true)
			// The truncated segment accepts no appends, but the spool goes on in a new one.
			appendN(t, s, 100, 101)
			readN(t, s, 100, 1, true)
		})
	}
}

func TestSpoolBadHeaderFileIsDropped(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "0000010000000000.seg"), []byte("not a spool"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := openTestSpool(t, dir, 1<<20)
	if s.records() != 0 || len(s.takeCorrupt()) != 1 {
		t.Fatal("bad segment not reported")
	}
}

// TestSpoolWriteHead checks that what Close writes ahead (in flight and in memory) comes back first, and
// that records it copied are not delivered twice.
func TestSpoolWriteHead(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir, 1<<20)
	appendN(t, s, 0, 30)
	readN(t, s, 0, 5, true)
	inflight := readN(t, s, 5, 10, false) // 5..14 handed out, unacknowledged
	// memory held 100..102 and is older than nothing here; writeHead takes items in the order given.
	head := inflight
	for i := 100; i < 103; i++ {
		head = append(head, &item{msg: testMsg(i)})
	}
	if err := s.writeHead(head); err != nil {
		t.Fatal(err)
	}
	if err := s.close(true); err != nil {
		t.Fatal(err)
	}

	s = openTestSpool(t, dir, 1<<20)
	readN(t, s, 5, 10, true)
	readN(t, s, 100, 3, true)
	readN(t, s, 15, 15, true)
	if s.next() != nil || s.records() != 0 {
		t.Fatal("records left over")
	}
}

func truncateFile(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// FuzzScanSegment feeds arbitrary bytes to the recovery scan, which must never panic and must report a
// valid prefix that scans again cleanly.
func FuzzScanSegment(f *testing.F) {
	m := testMsg(1)
	f.Add(encodeRecord(segmentMagic[:], &m))
	f.Add(oldSegment(2, m))
	f.Add(oldSegment(1, m))
	f.Add([]byte("FSSPOOL1\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "x.seg")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		valid, _, _, _, _ := scanSegment(fh, nil)
		fh.Close()
		if valid > int64(len(b)) {
			t.Fatalf("valid %d beyond %d bytes", valid, len(b))
		}
	})
}

// FuzzDecodeRecord feeds arbitrary record bodies, with their right checksum, to the decoder of each
// version, which must never panic; what it accepts, re-encoded in the current version, decodes to the
// same message.
func FuzzDecodeRecord(f *testing.F) {
	m := testMsg(1)
	m.Header = nats.Header{"A": {"1", "2"}}
	f.Add(encodeRecord(nil, &m)[recordHeaderSize:], byte(segmentVersion))
	f.Add(oldRecord(&m, 2)[recordHeaderSize:], byte(2))
	f.Add(oldRecord(&m, 1)[recordHeaderSize:], byte(1))
	f.Add([]byte("\x0efact.in.h.2049\x80"), byte(segmentVersion))
	f.Fuzz(func(t *testing.T, body []byte, v byte) {
		version := 1 + v%segmentVersion
		got, err := decodeBody(body, crc32.Checksum(body, crcTable), version)
		if err != nil {
			return
		}
		again := encodeRecord(nil, &got)
		if int64(len(again)) != recordSize(&got) {
			t.Fatalf("recordSize %d, encoded %d", recordSize(&got), len(again))
		}
		n, sum, err := parseHeader(again)
		if err != nil || n != len(again)-recordHeaderSize {
			t.Fatalf("re-encoded header: length %d of %d, %v", n, len(again)-recordHeaderSize, err)
		}
		back, err := decodeBody(again[recordHeaderSize:], sum, segmentVersion)
		if err != nil || !reflect.DeepEqual(back, got) {
			t.Fatalf("version %d record %+v re-encoded reads back as %+v, %v", version, got, back, err)
		}
	})
}
