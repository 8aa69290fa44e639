package projection

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/factstream/factstream/pipeline/internal/snapcodec"
	"github.com/factstream/factstream/schemas"
)

// An Index keeps, beside its dentry graph, what it last knew of each file's content: a side map by
// inode, so that the many files never hashed cost nothing. Only an ok hash sets it; the inode's end (an
// unlink of its last link) or a new file on its number (a creation) drops it; any other state keeps it
// for the next event to compare with.
//
// The sensor's scans hash files too (content events of probe scan). Those are a baseline, not news: a
// scan's hash is recorded silently where nothing was known or the same was, and where the index knew a
// different hash that no event explains, the change happened while nothing watched: it is drift. An
// event explains it when it may have changed the content since the known hash was taken: an open for
// writing, or a kernel content event without a hash (the file was written, its new hash is not known).
// Such events mark the inode written until the kernel's next ok hash; a scan's hash of a marked inode
// is the new baseline without drift.

// Content is what an Index last knew of a file's content: its digest and the size hashed, and whether
// an event since may have changed it. The zero Content means nothing is known.
type Content struct {
	Alg    schemas.HashAlg
	Digest []byte
	Size   uint64
	// Written says an event since the hash may have changed the content: a scan that finds another
	// hash is not drift.
	Written bool
}

// Hash is the digest in FILE_ACTIVITY's form ("sha256:<hex>"), "" when nothing is known.
func (c Content) Hash() string { return schemas.FormatHash(c.Alg, c.Digest) }

// known reports whether a hash is known.
func (c Content) known() bool { return len(c.Digest) > 0 }

// maxDigest bounds a digest read from a snapshot: SHA-512's.
const maxDigest = 64

// Content returns what the index last knew of the content of inode ino.
func (x *Index) Content(ino uint64) Content { return x.content[ino] }

// applyContent applies a content event: its file's host path, and what was known before. A kernel's ok
// hash becomes what is known, another state marks a known hash written; a scan's is a baseline, or
// drift (see scanContent).
func (x *Index) applyContent(ev *schemas.RawEvent) Change {
	old := x.content[ev.Ino]
	c := Change{Path: x.contentPath(ev), OldContent: old}
	hashed := ev.HashState == schemas.HashOK && len(ev.Digest) > 0
	switch {
	case ev.Ino == 0:
	case ev.Probe == schemas.ProbeScan:
		c.Drift = x.scanContent(ev, old, hashed)
	case hashed:
		x.setContent(ev, false)
	case old.known():
		x.markWritten(ev.Ino)
	}
	return c
}

// scanContent applies a scan's content event and reports whether it is drift: the index knew an ok
// hash of the same algorithm, nothing marked it written, and the scan found another hash or another
// size. A drifted file whose scan has no hash (too large, unreadable) is no longer known, so that the
// next scans do not report the same drift again.
func (x *Index) scanContent(ev *schemas.RawEvent, old Content, hashed bool) bool {
	drift := old.known() && !old.Written && old.Alg == ev.HashAlg &&
		(ev.Size != old.Size || hashed && !bytes.Equal(ev.Digest, old.Digest))
	switch {
	case hashed:
		x.setContent(ev, old.Written)
	case drift:
		delete(x.content, ev.Ino)
	}
	return drift
}

func (x *Index) setContent(ev *schemas.RawEvent, written bool) {
	if x.content == nil {
		x.content = make(map[uint64]Content)
	}
	x.content[ev.Ino] = Content{Alg: ev.HashAlg, Digest: bytes.Clone(ev.Digest), Size: ev.Size, Written: written}
}

// markWritten marks the known content of ino as possibly changed.
func (x *Index) markWritten(ino uint64) {
	if c, ok := x.content[ino]; ok && !c.Written {
		c.Written = true
		x.content[ino] = c
	}
}

// contentPath is the host path of a content event's file. The kernel named it when its last writer
// released it; it may have been renamed since, before the sensor hashed it. So it is that name while
// the index still has it for the inode, else any path of the inode, else (a file the index does not
// track) the name in its directory.
func (x *Index) contentPath(ev *schemas.RawEvent) []byte {
	parent := ev.ParentIno
	if n := x.cur.find(ev.Ino); n != 0 {
		if p := x.cur.find(parent); p != 0 && x.cur.findEdge(n, p, ev.Name) == 0 {
			parent = 0
		}
	}
	return x.path(ev.Ino, parent, ev.Name, true)
}

// noteContent follows a file event in what is known of contents: an open for writing marks the file
// written; the inode's end or reuse drops what was known.
func (x *Index) noteContent(ev *schemas.RawEvent) {
	switch ev.Kind {
	case schemas.KindOpen:
		x.markWritten(ev.Ino)
	case schemas.KindUnlink:
		if ev.Nlink == 1 {
			delete(x.content, ev.Ino)
		}
	case schemas.KindCreation, schemas.KindMkdir, schemas.KindSymlink:
		delete(x.content, ev.Ino)
	}
}

// encodeContents writes what is known of contents, sorted by inode: count, then count × (ino alg digest
// size written).
func encodeContents(e *snapcodec.Encoder, m map[uint64]Content) {
	inos := make([]uint64, 0, len(m))
	for ino := range m {
		inos = append(inos, ino)
	}
	slices.SortFunc(inos, cmp.Compare)
	e.Count(len(inos))
	for _, ino := range inos {
		c := m[ino]
		e.Uint(ino)
		e.Uint(uint64(c.Alg))
		e.Bytes(c.Digest)
		e.Uint(c.Size)
		e.Bool(c.Written)
	}
}

func decodeContents(d *snapcodec.Decoder, x *Index) {
	n := d.Uint()
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		ino, alg := d.Uint(), d.Uint()
		digest := d.Blob(maxDigest)
		size, written := d.Uint(), d.Bool()
		_, dup := x.content[ino]
		switch {
		case d.Err() != nil:
		case ino == 0 || dup || alg == 0 || alg > 255 || len(digest) == 0:
			d.Failf("content of %d: zero or repeated inode, no algorithm or no digest", ino)
		default:
			if x.content == nil {
				x.content = make(map[uint64]Content)
			}
			x.content[ino] = Content{Alg: schemas.HashAlg(alg), Digest: digest, Size: size, Written: written}
		}
	}
}
