package pipeline

// inoTable maps an inode number to the index of its node: an open-addressing hash table with linear
// probing that stores only node indices (4 bytes a slot) and reads the keys from the nodes themselves.
type inoTable struct {
	slots []uint32 // node index, 0 when empty
	len   int
	shift uint8
}

const minTableBits = 10

func newInoTable() inoTable {
	return inoTable{slots: make([]uint32, 1<<minTableBits), shift: 64 - minTableBits}
}

func (h *inoTable) home(ino uint64) int {
	// Fibonacci hashing: the high bits of the product mix every bit of ino.
	return int((ino * 0x9e3779b97f4a7c15) >> h.shift)
}

// find returns the node of ino, 0 if there is none.
func (h *inoTable) find(nodes []node, ino uint64) uint32 {
	mask := len(h.slots) - 1
	for i := h.home(ino); ; i = (i + 1) & mask {
		n := h.slots[i]
		if n == 0 || nodes[n].ino == ino {
			return n
		}
	}
}

// insert adds node n, whose inode must not be in the table yet.
func (h *inoTable) insert(nodes []node, n uint32) {
	if (h.len+1)*4 > len(h.slots)*3 {
		h.grow(nodes)
	}
	h.put(nodes[n].ino, n)
	h.len++
}

func (h *inoTable) put(ino uint64, n uint32) {
	mask := len(h.slots) - 1
	i := h.home(ino)
	for h.slots[i] != 0 {
		i = (i + 1) & mask
	}
	h.slots[i] = n
}

func (h *inoTable) grow(nodes []node) {
	old := h.slots
	h.slots = make([]uint32, 2*len(old))
	h.shift--
	for _, n := range old {
		if n != 0 {
			h.put(nodes[n].ino, n)
		}
	}
}

// remove deletes ino, shifting later entries of its probe sequence back so that no tombstones are needed.
func (h *inoTable) remove(nodes []node, ino uint64) {
	mask := len(h.slots) - 1
	i := h.home(ino)
	for {
		n := h.slots[i]
		if n == 0 {
			return
		}
		if nodes[n].ino == ino {
			break
		}
		i = (i + 1) & mask
	}
	h.len--
	for j := (i + 1) & mask; h.slots[j] != 0; j = (j + 1) & mask {
		k := h.home(nodes[h.slots[j]].ino)
		// The entry at j may move to the hole at i if its home is not in (i, j] (cyclically).
		if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
			h.slots[i] = h.slots[j]
			i = j
		}
	}
	h.slots[i] = 0
}
