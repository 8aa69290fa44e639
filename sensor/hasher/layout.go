package hasher

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// maxHandleBytes is the kernel's MAX_HANDLE_SZ.
const maxHandleBytes = 128

// sample is a file whose handle and identity are both known: what a layout is learned from.
type sample struct {
	handleType int32
	handle     []byte
	ino        uint64
	gen        uint32
	genKnown   bool // false where the filesystem has no FS_IOC_GETVERSION
}

// layout is where a filesystem's file handles (of one type) keep the inode number and generation, as
// little-endian 32-bit words; the other words are the same for every file (btrfs' subvolume id...).
type layout struct {
	handleType int32
	template   []byte // a handle with the inode and generation words zeroed
	inoLo      int    // word index of the inode number's low 32 bits
	inoHi      int    // word index of its high 32 bits; -1: the handle holds 32-bit inode numbers only
	gen        int    // word index of the generation
}

// build returns the handle of the inode ino with generation gen; false when ino does not fit.
func (l layout) build(ino uint64, gen uint32) ([]byte, bool) {
	if l.inoHi < 0 && ino>>32 != 0 {
		return nil, false
	}
	b := slices.Clone(l.template)
	putWord(b, l.inoLo, uint32(ino))
	if l.inoHi >= 0 {
		putWord(b, l.inoHi, uint32(ino>>32))
	}
	putWord(b, l.gen, gen)
	return b, true
}

// generation reads the generation from a handle of this layout's type and length.
func (l layout) generation(handleType int32, handle []byte) (uint32, bool) {
	if handleType != l.handleType || len(handle) != len(l.template) {
		return 0, false
	}
	return word(handle, l.gen), true
}

// learnLayout finds the layout every sample agrees with. Samples of another handle type or length than
// the first are ignored (a filesystem may use another type for directories). Where several layouts fit,
// the first in this order wins: inode number's low word first, its high word right after it (a
// little-endian 64-bit number) or absent, generation first. A generation that no sample knew must differ
// between samples, or nothing tells it from a constant word.
func learnLayout(samples []sample) (layout, error) {
	if len(samples) == 0 {
		return layout{}, fmt.Errorf("%w: no sample file", ErrNoLayout)
	}
	first := samples[0]
	n := len(first.handle)
	if n == 0 || n%4 != 0 || n > maxHandleBytes {
		return layout{}, fmt.Errorf("%w: handle of %d bytes is not a whole number of 32-bit words", ErrNoLayout, n)
	}
	same := make([]sample, 0, len(samples))
	for _, s := range samples {
		if s.handleType == first.handleType && len(s.handle) == n {
			same = append(same, s)
		}
	}
	words := n / 4
	for lo := range words {
		for _, hi := range hiCandidates(lo, words) {
			for g := range words {
				l := layout{handleType: first.handleType, inoLo: lo, inoHi: hi, gen: g}
				if g != lo && g != hi && l.fits(same) {
					l.template = slices.Clone(first.handle)
					putWord(l.template, lo, 0)
					if hi >= 0 {
						putWord(l.template, hi, 0)
					}
					putWord(l.template, g, 0)
					return l, nil
				}
			}
		}
	}
	return layout{}, fmt.Errorf("%w: no place for inode %d and generation in a handle of type %d (%d samples)",
		ErrNoLayout, first.ino, first.handleType, len(same))
}

// hiCandidates lists where the inode number's high word may be, in order of preference.
func hiCandidates(lo, words int) []int {
	c := make([]int, 0, words)
	if lo+1 < words {
		c = append(c, lo+1)
	}
	c = append(c, -1)
	for i := range words {
		if i != lo && i != lo+1 {
			c = append(c, i)
		}
	}
	return c
}

// fits tells whether every sample has its inode number and known generation where l says, and the
// same value as the first sample in every other word.
func (l layout) fits(samples []sample) bool {
	genKnown, genVaries := false, false
	first := samples[0].handle
	for _, s := range samples {
		if word(s.handle, l.inoLo) != uint32(s.ino) {
			return false
		}
		if (l.inoHi < 0 && s.ino>>32 != 0) || (l.inoHi >= 0 && word(s.handle, l.inoHi) != uint32(s.ino>>32)) {
			return false
		}
		if s.genKnown && word(s.handle, l.gen) != s.gen {
			return false
		}
		genKnown = genKnown || s.genKnown
		genVaries = genVaries || word(s.handle, l.gen) != word(first, l.gen)
		for i := range len(first) / 4 {
			if i != l.inoLo && i != l.inoHi && i != l.gen && word(s.handle, i) != word(first, i) {
				return false
			}
		}
	}
	return genKnown || genVaries
}

func word(b []byte, i int) uint32       { return binary.NativeEndian.Uint32(b[4*i:]) }
func putWord(b []byte, i int, v uint32) { binary.NativeEndian.PutUint32(b[4*i:], v) }
