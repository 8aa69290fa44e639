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

// Content is what an Index last knew of a file's content: its digest and the size hashed. The zero
// Content means nothing is known.
type Content struct {
	Alg    schemas.HashAlg
	Digest []byte
	Size   uint64
}

// Hash is the digest in FILE_ACTIVITY's form ("sha256:<hex>"), "" when nothing is known.
func (c Content) Hash() string { return schemas.FormatHash(c.Alg, c.Digest) }

// maxDigest bounds a digest read from a snapshot: SHA-512's.
const maxDigest = 64

// Content returns what the index last knew of the content of inode ino.
func (x *Index) Content(ino uint64) Content { return x.content[ino] }

// applyContent applies a content event: its file's host path, and what was known before; an ok hash
// becomes what is known.
func (x *Index) applyContent(ev *schemas.RawEvent) Change {
	c := Change{Path: x.contentPath(ev), OldContent: x.content[ev.Ino]}
	if ev.Ino == 0 || ev.HashState != schemas.HashOK || len(ev.Digest) == 0 {
		return c
	}
	if x.content == nil {
		x.content = make(map[uint64]Content)
	}
	x.content[ev.Ino] = Content{Alg: ev.HashAlg, Digest: bytes.Clone(ev.Digest), Size: ev.Size}
	return c
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

// forgetContent drops what is known of a file's content when its inode ends or is reused.
func (x *Index) forgetContent(ev *schemas.RawEvent) {
	switch ev.Kind {
	case schemas.KindUnlink:
		if ev.Nlink == 1 {
			delete(x.content, ev.Ino)
		}
	case schemas.KindCreation, schemas.KindMkdir, schemas.KindSymlink:
		delete(x.content, ev.Ino)
	}
}

// encodeContents writes what is known of contents, sorted by inode: count, then count × (ino alg digest
// size).
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
	}
}

func decodeContents(d *snapcodec.Decoder, x *Index) {
	n := d.Uint()
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		ino, alg := d.Uint(), d.Uint()
		digest := d.Blob(maxDigest)
		size := d.Uint()
		_, dup := x.content[ino]
		switch {
		case d.Err() != nil:
		case ino == 0 || dup || alg == 0 || alg > 255 || len(digest) == 0:
			d.Failf("content of %d: zero or repeated inode, no algorithm or no digest", ino)
		default:
			if x.content == nil {
				x.content = make(map[uint64]Content)
			}
			x.content[ino] = Content{Alg: schemas.HashAlg(alg), Digest: digest, Size: size}
		}
	}
}
