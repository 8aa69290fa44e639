package projection

import "github.com/factstream/factstream/schemas"

// A scan epoch builds a new view of the filesystem in x.next while x.cur keeps answering: scan_begin
// starts it (a new begin abandons an unfinished epoch), scan entries fill it, file events apply to both
// views, and scan_end swaps it in after dropping what is not under a root. Entries may come in any
// order: a parent not seen yet is a placeholder until its own entry arrives. A name removed by an event
// during the epoch is remembered (a tomb) so that an entry the sensor read before the removal does not
// bring it back; an event that adds the name again forgets the tomb.

func (x *Index) applyScan(ev *schemas.RawEvent) {
	switch ev.Kind {
	case schemas.KindScanBegin:
		x.next, x.scan, x.tombs = newTree(), ev.ScanEpoch, nil
		if ev.Ino != 0 && len(ev.Path) > 0 {
			x.next.setAnchor(x.next.ensure(ev.Ino, true), ev.Path)
		}
	case schemas.KindScanEntry:
		if x.next != nil && ev.ScanEpoch == x.scan && !x.tombed(ev) {
			x.next.entry(ev)
		}
	case schemas.KindScanEnd:
		if x.next != nil && ev.ScanEpoch == x.scan {
			x.next.prune()
			x.cur, x.next, x.tombs, x.uncertain = x.next, nil, nil, false
		}
	}
}

// entry adds one scanned name, or a scan root with its path.
func (t *tree) entry(ev *schemas.RawEvent) {
	n := t.ensure(ev.Ino, isDir(ev.Mode))
	if ev.Flags&schemas.FlagScanRoot != 0 || len(ev.Path) > 0 {
		t.setAnchor(n, ev.Path)
		return
	}
	if ev.ParentIno != 0 {
		t.link(n, t.ensure(ev.ParentIno, true), ev.Name)
	}
}

func (x *Index) tomb(ino, parent uint64, name []byte) {
	if x == nil {
		return
	}
	if x.tombs == nil {
		x.tombs = make(map[tomb]struct{})
	}
	x.tombs[tomb{ino, parent, string(name)}] = struct{}{}
}

func (x *Index) untomb(ino, parent uint64, name []byte) {
	if x != nil && len(x.tombs) > 0 {
		delete(x.tombs, tomb{ino, parent, string(name)})
	}
}

func (x *Index) tombed(ev *schemas.RawEvent) bool {
	if len(x.tombs) == 0 {
		return false
	}
	_, whole := x.tombs[tomb{ino: ev.Ino}]
	_, name := x.tombs[tomb{ev.Ino, ev.ParentIno, string(ev.Name)}]
	return whole || name
}

// prune removes every node that no path from a scan root reaches: placeholders whose entry never came,
// and what hangs below them.
func (t *tree) prune() {
	reached := make([]bool, len(t.nodes))
	queue := make([]uint32, 0, len(t.anchors))
	for n := range t.anchors {
		reached[n] = true
		queue = append(queue, n)
	}
	for len(queue) > 0 {
		n := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		x := t.nodes[n].ext
		if x == 0 {
			continue
		}
		for e := t.exts[x].kids; e != 0; e = t.edges[e].nextKid {
			if kid := t.edges[e].node; !reached[kid] {
				reached[kid] = true
				queue = append(queue, kid)
			}
		}
	}
	for n := 1; n < len(t.nodes); n++ {
		if t.nodes[n].ino != 0 && !reached[n] {
			t.remove(uint32(n))
		}
	}
}
