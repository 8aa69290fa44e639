package projection

import "encoding/binary"

// names holds the dentry names of a tree back to back, each prefixed by its length as a uvarint, so an
// edge refers to its name with a 4-byte offset. Removed names become garbage, reclaimed by compact.
type names struct {
	b       []byte
	garbage int
}

func (a *names) add(name []byte) uint32 {
	off := len(a.b)
	a.b = binary.AppendUvarint(a.b, uint64(len(name)))
	a.b = append(a.b, name...)
	return uint32(off)
}

func (a *names) get(off uint32) []byte {
	if n := int(a.b[off]); n < 0x80 { // the usual one-byte length
		start := int(off) + 1
		return a.b[start : start+n : start+n]
	}
	n, w := binary.Uvarint(a.b[off:])
	start := int(off) + w
	return a.b[start : start+int(n) : start+int(n)]
}

func (a *names) free(off uint32) {
	n, w := binary.Uvarint(a.b[off:])
	a.garbage += w + int(n)
}

// wasteful reports whether compacting would at least halve the arena and is worth the copy.
func (a *names) wasteful() bool {
	return a.garbage > 1<<20 && a.garbage*2 > len(a.b)
}
