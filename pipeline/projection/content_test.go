package projection

import (
	"strings"
	"testing"

	"github.com/factstream/factstream/pipeline/internal/eventtest"
	"github.com/factstream/factstream/schemas"
)

// contentStep is an event and what its Change should say of content: the host path and the hash known
// before it.
type contentStep struct {
	ev      schemas.RawEvent
	path    string
	oldHash string
}

func hashed(ino, parent uint64, name string, state schemas.HashState, b byte) schemas.RawEvent {
	return eventtest.Content(ino, parent, name, state, eventtest.Digest(b), uint64(b)*100)
}

// TestContent: the index keeps the last ok hash of each inode, gives it as OldContent to the next
// content event, and forgets it when the inode ends or its number is reused.
func TestContent(t *testing.T) {
	tests := []struct {
		name  string
		steps []contentStep
		want  map[uint64]string // inode → the hash known at the end, "" for none
	}{
		{
			name: "first hash, then a second",
			steps: []contentStep{
				{ev: hashed(12, 11, "a", schemas.HashOK, 1), path: "/srv/mon/etc/a"},
				{ev: hashed(12, 11, "a", schemas.HashOK, 2), path: "/srv/mon/etc/a", oldHash: eventtest.Hash(1)},
			},
			want: map[uint64]string{12: eventtest.Hash(2), 13: ""},
		},
		{
			name: "a state other than ok keeps the known hash",
			steps: []contentStep{
				{ev: hashed(12, 11, "a", schemas.HashOK, 1), path: "/srv/mon/etc/a"},
				{ev: hashed(12, 11, "a", schemas.HashTooLarge, 0), path: "/srv/mon/etc/a", oldHash: eventtest.Hash(1)},
				{ev: hashed(12, 11, "a", schemas.HashChangedDuringHash, 0), path: "/srv/mon/etc/a", oldHash: eventtest.Hash(1)},
				{ev: hashed(12, 11, "a", schemas.HashUnreadable, 0), path: "/srv/mon/etc/a", oldHash: eventtest.Hash(1)},
				{ev: hashed(12, 11, "a", schemas.HashRateLimited, 0), path: "/srv/mon/etc/a", oldHash: eventtest.Hash(1)},
				{ev: hashed(12, 11, "a", schemas.HashOK, 3), path: "/srv/mon/etc/a", oldHash: eventtest.Hash(1)},
			},
			want: map[uint64]string{12: eventtest.Hash(3)},
		},
		{
			name: "the unlink of the last link forgets it",
			steps: []contentStep{
				{ev: hashed(12, 11, "a", schemas.HashOK, 1), path: "/srv/mon/etc/a"},
				{ev: hashed(13, 11, "b", schemas.HashOK, 2), path: "/srv/mon/etc/b"},
				{ev: eventtest.Unlink(12, 11, "a", 1), path: "/srv/mon/etc/a"},
			},
			want: map[uint64]string{12: "", 13: eventtest.Hash(2)},
		},
		{
			name: "an unlink that leaves a link keeps it",
			steps: []contentStep{
				{ev: eventtest.Link(12, 11, "a", 10, "a-link"), path: "/srv/mon/a-link"},
				{ev: hashed(12, 11, "a", schemas.HashOK, 1), path: "/srv/mon/etc/a"},
				{ev: eventtest.Unlink(12, 11, "a", 2), path: "/srv/mon/etc/a"},
				{ev: hashed(12, 10, "a-link", schemas.HashOK, 2), path: "/srv/mon/a-link", oldHash: eventtest.Hash(1)},
			},
			want: map[uint64]string{12: eventtest.Hash(2)},
		},
		{
			name: "a new file on the same inode number has no old hash",
			steps: []contentStep{
				{ev: hashed(12, 11, "a", schemas.HashOK, 1), path: "/srv/mon/etc/a"},
				{ev: eventtest.Replace(13, 11, "b", 11, "a", 12), path: "/srv/mon/etc/a"}, // 12 ends, unseen
				{ev: eventtest.Create(12, 10, "c"), path: "/srv/mon/c"},
				{ev: hashed(12, 10, "c", schemas.HashOK, 2), path: "/srv/mon/c"},
			},
			want: map[uint64]string{12: eventtest.Hash(2)},
		},
		{
			name: "renamed between its release and its hash: the inode's path",
			steps: []contentStep{
				{ev: eventtest.Rename(12, 11, "a", 10, "moved", eventtest.FileMode), path: "/srv/mon/moved"},
				{ev: hashed(12, 11, "a", schemas.HashOK, 1), path: "/srv/mon/moved"},
			},
			want: map[uint64]string{12: eventtest.Hash(1)},
		},
		{
			name: "a file the index does not track, in a tracked directory",
			steps: []contentStep{
				{ev: hashed(30, 11, "untracked", schemas.HashOK, 1), path: "/srv/mon/etc/untracked"},
				{ev: hashed(31, 50, "outside", schemas.HashOK, 2), path: ""},
			},
			want: map[uint64]string{30: eventtest.Hash(1), 31: eventtest.Hash(2)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := baseIndex()
			for i, s := range tt.steps {
				c := x.Apply(&s.ev)
				if string(c.Path) != s.path || c.OldContent.Hash() != s.oldHash {
					t.Fatalf("step %d (%v): path %q, old hash %q; want %q, %q", i, s.ev.Kind, c.Path,
						c.OldContent.Hash(), s.path, s.oldHash)
				}
			}
			for ino, want := range tt.want {
				if got := x.Content(ino).Hash(); got != want {
					t.Errorf("inode %d: content %q, want %q", ino, got, want)
				}
			}
		})
	}
}

// TestContentKeepsSize: what is known is the digest and the size hashed, in memory of the index's own.
func TestContentKeepsSize(t *testing.T) {
	x := NewIndex()
	ev := eventtest.Content(12, 11, "a", schemas.HashOK, eventtest.Digest(7), 4096)
	x.Apply(&ev)
	ev.Digest[0] = 0 // the batch's memory is reused for the next message
	if c := x.Content(12); c.Size != 4096 || c.Alg != schemas.HashSHA256 || c.Hash() != eventtest.Hash(7) {
		t.Fatalf("content %+v", c)
	}
}

func scanned(ino, parent uint64, name string, state schemas.HashState, b byte) schemas.RawEvent {
	return eventtest.ScanContent(ino, parent, name, state, eventtest.Digest(b), uint64(b)*100)
}

// TestDrift: a scan's hash is a baseline where the index knew nothing, or the same, or where an event
// since the known hash may have changed the content; where it knew another hash (or size) that nothing
// explains, it is drift.
func TestDrift(t *testing.T) {
	type step struct {
		ev    schemas.RawEvent
		drift bool
	}
	sized := scanned(12, 11, "a", schemas.HashTooLarge, 0)
	sized.Size = 1 << 40
	sha512 := scanned(12, 11, "a", schemas.HashOK, 2)
	sha512.HashAlg = schemas.HashSHA512
	tests := []struct {
		name    string
		steps   []step
		want    string // the hash known for inode 12 at the end
		written bool   // whether it is marked written at the end
	}{
		{"a baseline, then the same", []step{{ev: scanned(12, 11, "a", schemas.HashOK, 1)},
			{ev: scanned(12, 11, "a", schemas.HashOK, 1)}}, eventtest.Hash(1), false},
		{"changed offline", []step{{ev: hashed(12, 11, "a", schemas.HashOK, 1)},
			{ev: scanned(12, 11, "a", schemas.HashOK, 2), drift: true}}, eventtest.Hash(2), false},
		{"changed offline after a scan's baseline", []step{{ev: scanned(12, 11, "a", schemas.HashOK, 1)},
			{ev: scanned(12, 11, "a", schemas.HashOK, 2), drift: true},
			{ev: scanned(12, 11, "a", schemas.HashOK, 2)}}, eventtest.Hash(2), false},
		{"written, then scanned before its hash", []step{{ev: hashed(12, 11, "a", schemas.HashOK, 1)},
			{ev: eventtest.Open(12, 11, "a")}, {ev: scanned(12, 11, "a", schemas.HashOK, 2)}}, eventtest.Hash(2), true},
		{"the kernel's hash after a write clears the mark", []step{{ev: hashed(12, 11, "a", schemas.HashOK, 1)},
			{ev: eventtest.Open(12, 11, "a")}, {ev: hashed(12, 11, "a", schemas.HashOK, 2)},
			{ev: scanned(12, 11, "a", schemas.HashOK, 3), drift: true}}, eventtest.Hash(3), false},
		{"a kernel content event without a hash explains it", []step{{ev: hashed(12, 11, "a", schemas.HashOK, 1)},
			{ev: hashed(12, 11, "a", schemas.HashChangedDuringHash, 0)},
			{ev: scanned(12, 11, "a", schemas.HashOK, 2)}}, eventtest.Hash(2), true},
		{"an unknown inode is a baseline", []step{{ev: scanned(12, 50, "outside", schemas.HashOK, 1)}},
			eventtest.Hash(1), false},
		{"a new file on the inode number is a baseline", []step{{ev: hashed(12, 11, "a", schemas.HashOK, 1)},
			{ev: eventtest.Unlink(12, 11, "a", 1)}, {ev: eventtest.Create(12, 11, "a")},
			{ev: scanned(12, 11, "a", schemas.HashOK, 2)}}, eventtest.Hash(2), false},
		{"grown too large to hash: drift by size, then forgotten", []step{{ev: hashed(12, 11, "a", schemas.HashOK, 1)},
			{ev: sized, drift: true}, {ev: sized}}, "", false},
		{"a scan without a hash of the same size says nothing", []step{{ev: hashed(12, 11, "a", schemas.HashOK, 1)},
			{ev: eventtest.ScanContent(12, 11, "a", schemas.HashUnreadable, nil, 100)}}, eventtest.Hash(1), false},
		{"another algorithm is a baseline", []step{{ev: hashed(12, 11, "a", schemas.HashOK, 1)}, {ev: sha512}},
			"sha512:" + strings.Repeat("02", 32), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := baseIndex()
			for i, s := range tt.steps {
				before := x.Content(s.ev.Ino)
				c := x.Apply(&s.ev)
				if c.Drift != s.drift {
					t.Fatalf("step %d (%v): drift %v, want %v", i, s.ev.Kind, c.Drift, s.drift)
				}
				if s.ev.Kind == schemas.KindContent && c.OldContent.Hash() != before.Hash() {
					t.Fatalf("step %d: old content %q, want %q", i, c.OldContent.Hash(), before.Hash())
				}
			}
			if c := x.Content(12); c.Hash() != tt.want || c.Written != tt.written {
				t.Fatalf("content of 12 is %q written %v, want %q written %v", c.Hash(), c.Written, tt.want, tt.written)
			}
		})
	}
}
