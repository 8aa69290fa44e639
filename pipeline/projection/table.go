package projection

// inoTable maps an inode number to its node and the node's ext record: an open-addressing hash table
// with linear probing over 16-byte slots, so that finding a directory's cached path costs one miss here,
// one in the ext and one in the cache, without reading the node.
type inoTable struct {
	slots []slot
	len   int
	shift uint8
}

type slot struct {
	ino  uint64 // 0 when the slot is empty (no inode is 0)
	node uint32
	ext  uint32 // a copy of nodes[node].ext
}

const minTableBits = 10

func newInoTable() inoTable {
	return inoTable{slots: make([]slot, 1<<minTableBits), shift: 64 - minTableBits}
}

func (h *inoTable) home(ino uint64) int {
	// Fibonacci hashing: the high bits of the product mix every bit of ino.
	return int((ino * 0x9e3779b97f4a7c15) >> h.shift)
}

// find returns the slot of ino, or an empty slot if it is not in the table. The pointer is valid until
// the next insert.
func (h *inoTable) find(ino uint64) *slot {
	mask := len(h.slots) - 1
	for i := h.home(ino); ; i = (i + 1) & mask {
		if s := &h.slots[i]; s.ino == ino || s.ino == 0 {
			return s
		}
	}
}

// insert adds ino → n; ino must not be in the table yet.
func (h *inoTable) insert(ino uint64, n, x uint32) {
	if (h.len+1)*4 > len(h.slots)*3 {
		h.grow()
	}
	h.put(slot{ino, n, x})
	h.len++
}

func (h *inoTable) put(s slot) {
	mask := len(h.slots) - 1
	i := h.home(s.ino)
	for h.slots[i].ino != 0 {
		i = (i + 1) & mask
	}
	h.slots[i] = s
}

func (h *inoTable) grow() {
	old := h.slots
	h.slots = make([]slot, 2*len(old))
	h.shift--
	for _, s := range old {
		if s.ino != 0 {
			h.put(s)
		}
	}
}

// remove deletes ino, shifting later entries of its probe sequence back so that no tombstones are needed.
func (h *inoTable) remove(ino uint64) {
	mask := len(h.slots) - 1
	i := h.home(ino)
	for h.slots[i].ino != ino {
		if h.slots[i].ino == 0 {
			return
		}
		i = (i + 1) & mask
	}
	h.len--
	for j := (i + 1) & mask; h.slots[j].ino != 0; j = (j + 1) & mask {
		k := h.home(h.slots[j].ino)
		// The entry at j may move to the hole at i unless its home lies cyclically in (i, j].
		if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
			h.slots[i] = h.slots[j]
			i = j
		}
	}
	h.slots[i] = slot{}
}
