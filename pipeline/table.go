package pipeline

// inoTable maps an inode number to the index of its node: an open-addressing hash table with linear
// probing. Keys sit in their own array so that a probe reads consecutive memory and touches the node
// array only on a hit.
type inoTable struct {
	keys  []uint64 // inode, 0 when the slot is empty (no inode is 0)
	vals  []uint32 // node index
	len   int
	shift uint8
}

const minTableBits = 10

func newInoTable() inoTable {
	return inoTable{keys: make([]uint64, 1<<minTableBits), vals: make([]uint32, 1<<minTableBits),
		shift: 64 - minTableBits}
}

func (h *inoTable) home(ino uint64) int {
	// Fibonacci hashing: the high bits of the product mix every bit of ino.
	return int((ino * 0x9e3779b97f4a7c15) >> h.shift)
}

// find returns the node of ino, 0 if there is none.
func (h *inoTable) find(ino uint64) uint32 {
	mask := len(h.keys) - 1
	for i := h.home(ino); ; i = (i + 1) & mask {
		switch h.keys[i] {
		case ino:
			return h.vals[i]
		case 0:
			return 0
		}
	}
}

// insert adds ino → n; ino must not be in the table yet.
func (h *inoTable) insert(ino uint64, n uint32) {
	if (h.len+1)*4 > len(h.keys)*3 {
		h.grow()
	}
	h.put(ino, n)
	h.len++
}

func (h *inoTable) put(ino uint64, n uint32) {
	mask := len(h.keys) - 1
	i := h.home(ino)
	for h.keys[i] != 0 {
		i = (i + 1) & mask
	}
	h.keys[i], h.vals[i] = ino, n
}

func (h *inoTable) grow() {
	keys, vals := h.keys, h.vals
	h.keys, h.vals = make([]uint64, 2*len(keys)), make([]uint32, 2*len(keys))
	h.shift--
	for i, k := range keys {
		if k != 0 {
			h.put(k, vals[i])
		}
	}
}

// remove deletes ino, shifting later entries of its probe sequence back so that no tombstones are needed.
func (h *inoTable) remove(ino uint64) {
	mask := len(h.keys) - 1
	i := h.home(ino)
	for h.keys[i] != ino {
		if h.keys[i] == 0 {
			return
		}
		i = (i + 1) & mask
	}
	h.len--
	for j := (i + 1) & mask; h.keys[j] != 0; j = (j + 1) & mask {
		k := h.home(h.keys[j])
		// The entry at j may move to the hole at i unless its home lies cyclically in (i, j].
		if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
			h.keys[i], h.vals[i] = h.keys[j], h.vals[j]
			i = j
		}
	}
	h.keys[i], h.vals[i] = 0, 0
}
