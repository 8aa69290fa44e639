package projection

import (
	"bytes"
	"errors"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
	"pgregory.net/rapid"
)

// TestArbitraryEvents applies events no filesystem would produce (lost events, reused inodes, files as
// parents, cycles, scans cut short): the index must not panic, its cache must agree with a walk, and a
// snapshot must restore to the same state.
func TestArbitraryEvents(t *testing.T) {
	kinds := []schemas.Kind{
		schemas.KindCreation, schemas.KindMkdir, schemas.KindSymlink, schemas.KindLink, schemas.KindUnlink,
		schemas.KindRmdir, schemas.KindRename, schemas.KindOpen, schemas.KindScanBegin, schemas.KindScanEntry,
		schemas.KindScanEnd, schemas.KindLoss, schemas.KindExec,
	}
	rapid.Check(t, func(t *rapid.T) {
		x := NewIndex()
		x.cur.budget = rapid.IntRange(1, 8).Draw(t, "budget")
		ino := rapid.Uint64Range(0, 12)
		name := rapid.SampledFrom([]string{"", "a", "b", "/", "c"})
		for range rapid.IntRange(1, 200).Draw(t, "events") {
			ev := schemas.RawEvent{
				Kind:         rapid.SampledFrom(kinds).Draw(t, "kind"),
				Ino:          ino.Draw(t, "ino"),
				ParentIno:    ino.Draw(t, "parent"),
				Name:         []byte(name.Draw(t, "name")),
				OldParentIno: ino.Draw(t, "old parent"),
				OldName:      []byte(name.Draw(t, "old name")),
				TargetIno:    ino.Draw(t, "target"),
				Flags:        schemas.Flags(rapid.IntRange(0, 31).Draw(t, "flags")),
				Mode:         rapid.SampledFrom([]uint32{0, eventtest.DirMode, eventtest.FileMode}).Draw(t, "mode"),
				Nlink:        uint32(rapid.IntRange(0, 3).Draw(t, "nlink")),
				ScanEpoch:    rapid.Uint64Range(0, 2).Draw(t, "epoch"),
			}
			if rapid.IntRange(0, 9).Draw(t, "with path") == 0 {
				ev.Path = []byte(rapid.SampledFrom([]string{"/", "/r", "/r/"}).Draw(t, "path"))
			}
			x.Apply(&ev)
			checkWalk(t, x.cur)
			if x.next != nil {
				checkWalk(t, x.next)
			}
		}
		for ino := range uint64(13) {
			x.Paths(ino)
		}
		snap := snapshot(t, x)
		y, _, err := ReadSnapshot(bytes.NewReader(snap))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(snapshot(t, y), snap) {
			t.Fatal("snapshot does not restore the same state")
		}
		for ino := range uint64(13) {
			if joined(x.Paths(ino)) != joined(y.Paths(ino)) {
				t.Fatalf("inode %d: %q before the snapshot, %q after", ino, joined(x.Paths(ino)), joined(y.Paths(ino)))
			}
		}
	})
}

func FuzzReadSnapshot(f *testing.F) {
	x := NewIndex()
	for _, ev := range base() {
		x.Apply(&ev)
	}
	f.Add(snapshot(f, x))
	x.Apply(eventtest.Ptr(eventtest.ScanBegin(2)))
	x.Apply(eventtest.Ptr(eventtest.ScanEntry(2, 12, 11, "a", eventtest.FileMode)))
	x.Apply(eventtest.Ptr(eventtest.Unlink(13, 11, "b", 1)))
	f.Add(snapshot(f, x))
	f.Add(snapshot(f, hashedIndex()))
	f.Add(eventtest.Unhex(f, goldenIndexV1))
	f.Fuzz(func(t *testing.T, data []byte) {
		y, _, err := ReadSnapshot(bytes.NewReader(data))
		if unread(t, err) {
			return
		}
		for ino := range uint64(20) {
			y.Paths(ino)
		}
		y.Apply(eventtest.Ptr(eventtest.Create(99, 11, "z")))
		y.Apply(eventtest.Ptr(eventtest.Content(12, 11, "a", schemas.HashOK, eventtest.Digest(1), 1)))
	})
}

// FuzzReadIndexesSnapshot: the snapshot of a partition's indexes is untrusted bytes; reading one never
// panics, fails only with ErrBadSnapshot, and what reads writes back to something that reads.
func FuzzReadIndexesSnapshot(f *testing.F) {
	var buf bytes.Buffer
	if err := twoHosts(hashedIndex).WriteSnapshot(&buf, 43); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(eventtest.Unhex(f, goldenIndexesV1))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, covers, err := ReadIndexesSnapshot(bytes.NewReader(data))
		if unread(t, err) {
			return
		}
		var again bytes.Buffer
		if err := s.WriteSnapshot(&again, covers); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadIndexesSnapshot(bytes.NewReader(again.Bytes())); err != nil {
			t.Fatalf("a snapshot written from a read one does not read: %v", err)
		}
	})
}

// unread reports whether a snapshot failed to read, failing t unless it did so with ErrBadSnapshot.
func unread(t *testing.T, err error) bool {
	if err != nil && !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("%v does not wrap ErrBadSnapshot", err)
	}
	return err != nil
}
