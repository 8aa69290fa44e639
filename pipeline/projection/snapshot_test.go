package projection

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
)

// scanningIndex returns an index with something in every part of its snapshot: a hard link, a scan
// running with its own tree, tombs of names removed during it, and a loss that leaves it uncertain.
func scanningIndex() *Index {
	x := NewIndex()
	for _, ev := range base() {
		x.Apply(&ev)
	}
	for _, ev := range []schemas.RawEvent{
		eventtest.Link(12, 11, "a", 10, "a-link"),
		eventtest.ScanBegin(2),
		eventtest.ScanRoot(2, 10, "/srv/mon"),
		eventtest.ScanEntry(2, 11, 10, "etc", eventtest.DirMode),
		eventtest.ScanEntry(2, 12, 11, "a", eventtest.FileMode),
		eventtest.Unlink(13, 11, "b", 1),
		{Kind: schemas.KindLoss, Seq: 700},
	} {
		x.Apply(&ev)
	}
	return x
}

// hashedIndex is scanningIndex knowing the content of two files: one hashed twice, one whose second
// hash failed (so it is marked written).
func hashedIndex() *Index {
	x := scanningIndex()
	for i, ev := range []schemas.RawEvent{
		eventtest.Content(12, 11, "a", schemas.HashOK, eventtest.Digest(1), 12),
		eventtest.Content(12, 11, "a", schemas.HashOK, eventtest.Digest(2), 4096),
		eventtest.Content(10, 0, "", schemas.HashOK, eventtest.Digest(3), 1),
		eventtest.Content(10, 0, "", schemas.HashTooLarge, nil, 1<<40),
	} {
		ev.Seq = 701 + uint64(i)
		x.Apply(&ev)
	}
	return x
}

// twoHosts returns indexes of two hosts, one of them empty, keyed out of order, each made by index.
func twoHosts(index func() *Index) *Indexes {
	s := NewIndexes()
	s.m[Key{"node-b", 7}] = index()
	s.m[Key{"node-a", 9}] = NewIndex()
	s.m[Key{"node-a", 3}] = index()
	return s
}

// The snapshots of hashedIndex (covering 42) and twoHosts(hashedIndex) (covering 43), pinned so that a
// change of the encoding (which a worker taking over from an older one would fail to read) is a
// decision, not an accident.
const (
	goldenIndex = `
a56673696478022acd02c0c3c302030ac3c4082f7372762f6d6f6e0bc3c00cc2c0030b0ac4036574630c0ac406612d6c696e
6b0c0bc40161030ac3c4082f7372762f6d6f6e0bc3c00cc2c0020b0ac4036574630c0bc40161020d00a00d0ba162020a01c4
20030303030303030303030303030303030303030303030303030303030303030301c30c01c4200202020202020202020202
020202020202020202020202020202020202020202cd1000c2`
	goldenIndexes = `
a6667369647873022b03a66e6f64652d6103cd02c0c3c302030ac3c4082f7372762f6d6f6e0bc3c00cc2c0030b0ac4036574
630c0ac406612d6c696e6b0c0bc40161030ac3c4082f7372762f6d6f6e0bc3c00cc2c0020b0ac4036574630c0bc40161020d
00a00d0ba162020a01c420030303030303030303030303030303030303030303030303030303030303030301c30c01c42002
02020202020202020202020202020202020202020202020202020202020202cd1000c2a66e6f64652d610900c2c200000000
00a66e6f64652d6207cd02c0c3c302030ac3c4082f7372762f6d6f6e0bc3c00cc2c0030b0ac4036574630c0ac406612d6c69
6e6b0c0bc40161030ac3c4082f7372762f6d6f6e0bc3c00cc2c0020b0ac4036574630c0bc40161020d00a00d0ba162020a01
c420030303030303030303030303030303030303030303030303030303030303030301c30c01c42002020202020202020202
02020202020202020202020202020202020202020202cd1000c2`
)

// The snapshots of scanningIndex and twoHosts(scanningIndex) in version 1, before indexes knew
// contents, which a worker still reads.
const (
	goldenIndexV1 = `
a56673696478012acd02bcc3c302030ac3c4082f7372762f6d6f6e0bc3c00cc2c0030b0ac4036574630c0ac406612d6c696e
6b0c0bc40161030ac3c4082f7372762f6d6f6e0bc3c00cc2c0020b0ac4036574630c0bc40161020d00a00d0ba162`
	goldenIndexesV1 = `
a6667369647873012b03a66e6f64652d6103cd02bcc3c302030ac3c4082f7372762f6d6f6e0bc3c00cc2c0030b0ac4036574
630c0ac406612d6c696e6b0c0bc40161030ac3c4082f7372762f6d6f6e0bc3c00cc2c0020b0ac4036574630c0bc40161020d
00a00d0ba162a66e6f64652d610900c2c200000000a66e6f64652d6207cd02bcc3c302030ac3c4082f7372762f6d6f6e0bc3
c00cc2c0030b0ac4036574630c0ac406612d6c696e6b0c0bc40161030ac3c4082f7372762f6d6f6e0bc3c00cc2c0020b0ac4
036574630c0bc40161020d00a00d0ba162`
)

// snapshotCase is the snapshot of an Index or of Indexes: how it is written and read, what it covers,
// and its pinned bytes.
type snapshotCase struct {
	name   string
	golden string
	write  func(w io.Writer) error
	read   func(r io.Reader) (snapshotWriter, uint64, error)
	covers uint64
}

// snapshotCases are the snapshots of index (covering 42), pinned as golden, and of twoHosts(index)
// (covering 43), pinned as goldens.
func snapshotCases(index func() *Index, golden, goldens string) []snapshotCase {
	return []snapshotCase{
		{"index", golden, func(w io.Writer) error { return index().WriteSnapshot(w, 42) },
			func(r io.Reader) (snapshotWriter, uint64, error) { return ReadSnapshot(r) }, 42},
		{"indexes", goldens, func(w io.Writer) error { return twoHosts(index).WriteSnapshot(w, 43) },
			func(r io.Reader) (snapshotWriter, uint64, error) { return ReadIndexesSnapshot(r) }, 43},
	}
}

// TestSnapshotGolden: the snapshots of an Index and of Indexes are written, and read back to a state
// that writes them again, in the pinned bytes.
func TestSnapshotGolden(t *testing.T) {
	for _, tt := range snapshotCases(hashedIndex, goldenIndex, goldenIndexes) {
		t.Run(tt.name, func(t *testing.T) {
			golden := eventtest.Unhex(t, tt.golden)
			var buf bytes.Buffer
			if err := tt.write(&buf); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), golden) {
				t.Fatalf("the snapshot is\n%x\nwant\n%x", buf.Bytes(), golden)
			}
			x, covers, err := tt.read(bytes.NewReader(golden))
			if err != nil || covers != tt.covers {
				t.Fatal(covers, err)
			}
			buf.Reset()
			if err := x.WriteSnapshot(&buf, covers); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), golden) {
				t.Fatalf("the golden snapshot reads back as\n%x", buf.Bytes())
			}
		})
	}
}

// TestSnapshotPreviousVersion: the version 1 snapshots of an Index and of Indexes, pinned before
// contents, still read, to the state that wrote them: written again, they are the snapshots of the same
// indexes in the current version.
func TestSnapshotPreviousVersion(t *testing.T) {
	for _, tt := range snapshotCases(scanningIndex, goldenIndexV1, goldenIndexesV1) {
		t.Run(tt.name, func(t *testing.T) {
			x, covers, err := tt.read(bytes.NewReader(eventtest.Unhex(t, tt.golden)))
			if err != nil || covers != tt.covers {
				t.Fatal(covers, err)
			}
			var got, want bytes.Buffer
			if err := x.WriteSnapshot(&got, covers); err != nil {
				t.Fatal(err)
			}
			if err := tt.write(&want); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("the version 1 snapshot reads back as\n%x\nwant\n%x", got.Bytes(), want.Bytes())
			}
		})
	}
}

// TestSnapshotContent: what an index knows of contents survives a snapshot, and a snapshot that
// contradicts itself is refused.
func TestSnapshotContent(t *testing.T) {
	var buf bytes.Buffer
	if err := hashedIndex().WriteSnapshot(&buf, 1); err != nil {
		t.Fatal(err)
	}
	x, _, err := ReadSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if c := x.Content(12); c.Hash() != eventtest.Hash(2) || c.Size != 4096 || c.Written {
		t.Fatalf("inode 12: %+v", c)
	}
	// The mark that explains a scan's other hash survives too: 10 was written after its known hash.
	if c := x.Content(10); c.Hash() != eventtest.Hash(3) || c.Size != 1 || !c.Written {
		t.Fatalf("inode 10, whose last hash was too large: %+v", c)
	}
	ev := eventtest.Content(12, 11, "a", schemas.HashOK, eventtest.Digest(4), 5)
	if c := x.Apply(&ev); c.OldContent.Hash() != eventtest.Hash(2) {
		t.Fatalf("after a restore, old hash %q", c.OldContent.Hash())
	}
	// The contents come last: a repeated inode, a zero algorithm, no digest or one too long are refused,
	// unlike the same bytes made right.
	good := buf.Bytes()
	tail := bytes.LastIndex(good, append([]byte{0x02, 0x0a, 0x01, 0xc4, 0x20}, eventtest.Digest(3)...))
	if tail < 0 {
		t.Fatalf("no contents in %x", good)
	}
	contents := func(b ...byte) []byte { return append(bytes.Clone(good[:tail]), b...) }
	for name, bad := range map[string][]byte{
		"repeated inode":  contents(0x02, 0x0c, 0x01, 0xc4, 0x01, 0x01, 0x01, 0xc2, 0x0c, 0x01, 0xc4, 0x01, 0x01, 0x01, 0xc2),
		"no algorithm":    contents(0x01, 0x0a, 0x00, 0xc4, 0x01, 0x01, 0x01, 0xc2),
		"no digest":       contents(0x01, 0x0a, 0x01, 0xc0, 0x01, 0xc2),
		"digest too long": contents(append(append([]byte{0x01, 0x0a, 0x01, 0xc4, 65}, bytes.Repeat([]byte{1}, 65)...), 0x01, 0xc2)...),
		"a good one":      contents(0x01, 0x0a, 0x01, 0xc4, 0x01, 0x01, 0x01, 0xc2),
	} {
		_, _, err := ReadSnapshot(bytes.NewReader(bad))
		if name == "a good one" && err != nil || name != "a good one" && !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// snapshotWriter is what Index and Indexes have in common.
type snapshotWriter interface {
	WriteSnapshot(w io.Writer, covers uint64) error
}
