package projection

import (
	"bytes"
	"encoding/hex"
	"io"
	"strings"
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

// twoHosts returns indexes of two hosts, one of them empty, keyed out of order.
func twoHosts() *Indexes {
	s := NewIndexes()
	s.m[Key{"node-b", 7}] = scanningIndex()
	s.m[Key{"node-a", 9}] = NewIndex()
	s.m[Key{"node-a", 3}] = scanningIndex()
	return s
}

// The snapshots of scanningIndex (covering 42) and twoHosts (covering 43), pinned so that a change of
// the encoding (which a worker taking over from an older one would fail to read) is a decision, not an
// accident.
const (
	goldenIndex = `
a56673696478012acd02bcc3c302030ac3c4082f7372762f6d6f6e0bc3c00cc2c0030b0ac4036574630c0ac406612d6c696e
6b0c0bc40161030ac3c4082f7372762f6d6f6e0bc3c00cc2c0020b0ac4036574630c0bc40161020d00a00d0ba162`
	goldenIndexes = `
a6667369647873012b03a66e6f64652d6103cd02bcc3c302030ac3c4082f7372762f6d6f6e0bc3c00cc2c0030b0ac4036574
630c0ac406612d6c696e6b0c0bc40161030ac3c4082f7372762f6d6f6e0bc3c00cc2c0020b0ac4036574630c0bc40161020d
00a00d0ba162a66e6f64652d610900c2c200000000a66e6f64652d6207cd02bcc3c302030ac3c4082f7372762f6d6f6e0bc3
c00cc2c0030b0ac4036574630c0ac406612d6c696e6b0c0bc40161030ac3c4082f7372762f6d6f6e0bc3c00cc2c0020b0ac4
036574630c0bc40161020d00a00d0ba162`
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSnapshotGolden: the snapshots of an Index and of Indexes are written, and read back to a state
// that writes them again, in the pinned bytes.
func TestSnapshotGolden(t *testing.T) {
	tests := []struct {
		name   string
		golden string
		write  func(w io.Writer) error
		read   func(r io.Reader) (snapshotWriter, uint64, error)
		covers uint64
	}{
		{"index", goldenIndex, func(w io.Writer) error { return scanningIndex().WriteSnapshot(w, 42) },
			func(r io.Reader) (snapshotWriter, uint64, error) { return ReadSnapshot(r) }, 42},
		{"indexes", goldenIndexes, func(w io.Writer) error { return twoHosts().WriteSnapshot(w, 43) },
			func(r io.Reader) (snapshotWriter, uint64, error) { return ReadIndexesSnapshot(r) }, 43},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden := unhex(t, tt.golden)
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

// snapshotWriter is what Index and Indexes have in common.
type snapshotWriter interface {
	WriteSnapshot(w io.Writer, covers uint64) error
}
