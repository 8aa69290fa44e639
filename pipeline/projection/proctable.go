package projection

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/factstream/factstream/schemas"
)

// Defaults of ProcLimits.
const (
	DefaultProcRetain = 1 << 16 // sensor sequence numbers an exited process is kept for
	DefaultMaxProcs   = 1 << 17 // processes per host and boot
	DefaultMaxImages  = 4       // exec images kept per process
	DefaultMaxLineage = 8       // ancestors reported per event
	BootsKept         = 2       // boots of a host a ProcTable keeps (the sensor boots a view tracks)
)

// ProcLimits bound a ProcTable. Zero fields take the defaults above.
type ProcLimits struct {
	// Retain is how long, in the host's sensor sequence, an exited process stays for late file events.
	Retain uint64
	// MaxProcs bounds the processes of one boot; beyond it the oldest exited, then the least recently
	// seen, go first.
	MaxProcs int
	// MaxImages bounds the exec images kept per process (a file event is enriched with the image that
	// was current at its sequence).
	MaxImages int
	// MaxLineage bounds the ancestors reported per event.
	MaxLineage int
}

func (l ProcLimits) withDefaults() ProcLimits {
	l.Retain = cmp.Or(l.Retain, DefaultProcRetain)
	l.MaxProcs = cmp.Or(l.MaxProcs, DefaultMaxProcs)
	l.MaxImages = cmp.Or(l.MaxImages, DefaultMaxImages)
	l.MaxLineage = cmp.Or(l.MaxLineage, DefaultMaxLineage)
	return l
}

// ProcTable is the process table of one host, rebuilt from exec, fork and exit events: per process
// (boot, tgid, start time), its parent and the images it ran (exe, args, cgroup, container id), each with
// the sensor sequence from which it holds, so that a file event is enriched with what was true at its own
// sequence even when the process event was read later. Everything is a function of the events applied
// and their sequence numbers, never of the wall clock.
//
// A ProcTable is not safe for concurrent use.
type ProcTable struct {
	lim   ProcLimits
	boots []*bootProcs // in order of first appearance, at most BootsKept
}

type bootProcs struct {
	id        string
	procs     map[procKey]*proc
	exited    []exitRec // in order of exit sequence
	watermark uint64    // highest sequence of the host's process subject seen
}

type procKey struct {
	tgid  uint32
	start uint64
}

type exitRec struct {
	key procKey
	seq uint64
}

type proc struct {
	ppid   uint32
	pstart uint64
	exit   uint64 // exit sequence, 0 while running
	seen   uint64 // last sequence that named it
	images []image
}

// image is what a process ran from sequence seq on. Its byte slices are never changed in place, so
// enriched events may alias them.
type image struct {
	seq       uint64
	comm      []byte
	exe       []byte
	args      []byte // NUL-terminated arguments
	cgroup    []byte
	container string
}

// NewProcTable returns an empty table.
func NewProcTable(lim ProcLimits) *ProcTable {
	return &ProcTable{lim: lim.withDefaults()}
}

// Len returns the number of processes known, over all boots.
func (t *ProcTable) Len() int {
	n := 0
	for _, b := range t.boots {
		n += len(b.procs)
	}
	return n
}

func (t *ProcTable) boot(id string, create bool) *bootProcs {
	for _, b := range t.boots {
		if b.id == id {
			return b
		}
	}
	if !create {
		return nil
	}
	b := &bootProcs{id: id, procs: make(map[procKey]*proc)}
	if len(t.boots) == BootsKept {
		t.boots = slices.Delete(t.boots, 0, 1)
	}
	t.boots = append(t.boots, b)
	return b
}

// Watermark returns the highest sequence seen on the host's process subject in boot: every process event
// of a lower sequence has been applied, as a sensor publishes each subject in sequence order.
func (t *ProcTable) Watermark(boot string) uint64 {
	if b := t.boot(boot, false); b != nil {
		return b.watermark
	}
	return 0
}

// Observe records that seq was seen on the host's process subject (dev 0) in boot.
func (t *ProcTable) Observe(boot string, seq uint64) {
	b := t.boot(boot, true)
	b.watermark = max(b.watermark, seq)
}

// Apply applies an exec, fork or exit event of boot. Other kinds are ignored. It reports whether the
// event was new: an event at or below the watermark was applied already and is skipped.
func (t *ProcTable) Apply(boot string, ev *schemas.RawEvent) bool {
	if !ev.Kind.Process() {
		return false
	}
	b := t.boot(boot, true)
	if ev.Seq <= b.watermark && b.watermark != 0 {
		return false
	}
	b.watermark = ev.Seq
	k := procKey{ev.Proc.Tgid, ev.Proc.Start}
	switch ev.Kind {
	case schemas.KindFork:
		t.fork(b, k, ev)
	case schemas.KindExec:
		t.exec(b, k, ev)
	case schemas.KindExit:
		if p := b.procs[k]; p != nil && p.exit == 0 {
			p.exit, p.seen = ev.Seq, ev.Seq
			b.exited = append(b.exited, exitRec{k, ev.Seq})
		}
	}
	t.bound(b)
	return true
}

// fork adds a child with its parent's image at the fork.
func (t *ProcTable) fork(b *bootProcs, k procKey, ev *schemas.RawEvent) {
	if b.procs[k] != nil {
		return
	}
	c := &proc{ppid: ev.PPid, pstart: ev.ParentStart, seen: ev.Seq}
	im := image{seq: ev.Seq, comm: bytes.Clone(ev.Proc.Comm)}
	if p := b.procs[procKey{ev.PPid, ev.ParentStart}]; p != nil {
		if pi := p.imageAt(ev.Seq); pi != nil {
			im.exe, im.args, im.cgroup, im.container = pi.exe, pi.args, pi.cgroup, pi.container
		}
	}
	if len(ev.Cgroup) > 0 {
		im.cgroup = bytes.Clone(ev.Cgroup)
		im.container = ContainerID(ev.Cgroup)
	}
	c.images = []image{im}
	b.procs[k] = c
}

// exec adds an image to a process, creating it when it was unknown.
func (t *ProcTable) exec(b *bootProcs, k procKey, ev *schemas.RawEvent) {
	p := b.procs[k]
	if p == nil {
		p = &proc{ppid: ev.PPid, pstart: ev.ParentStart}
		b.procs[k] = p
	}
	p.seen = ev.Seq
	im := image{seq: ev.Seq, comm: bytes.Clone(ev.Proc.Comm), exe: bytes.Clone(ev.Exe), args: bytes.Clone(ev.Args),
		cgroup: bytes.Clone(ev.Cgroup), container: ContainerID(ev.Cgroup)}
	if len(ev.Cgroup) == 0 && len(p.images) > 0 {
		last := &p.images[len(p.images)-1]
		im.cgroup, im.container = last.cgroup, last.container
	}
	if len(p.images) == t.lim.MaxImages {
		p.images = slices.Delete(p.images, 0, 1)
	}
	p.images = append(p.images, im)
}

// imageAt returns the image current at sequence q: the last one that began before q. Nil when every
// known image began after q.
func (p *proc) imageAt(q uint64) *image {
	for i := len(p.images) - 1; i >= 0; i-- {
		if p.images[i].seq < q {
			return &p.images[i]
		}
	}
	return nil
}

// Evict removes the exited processes of boot whose exit is more than Retain below floor. The caller
// passes as floor the lowest sequence it may still look up (the oldest file event it holds, or the
// watermark), so that what is evicted depends only on the events, and never something a held event
// needs.
func (t *ProcTable) Evict(boot string, floor uint64) {
	b := t.boot(boot, false)
	if b == nil {
		return
	}
	i := 0
	for ; i < len(b.exited); i++ {
		e := b.exited[i]
		if e.seq+t.lim.Retain >= floor {
			break
		}
		if p := b.procs[e.key]; p != nil && p.exit == e.seq {
			delete(b.procs, e.key)
		}
	}
	b.exited = slices.Delete(b.exited, 0, i)
}

// bound keeps a boot within MaxProcs: the oldest exited go first, then the least recently seen running
// ones (their exit was lost), an eighth of the table at a time.
func (t *ProcTable) bound(b *bootProcs) {
	if len(b.procs) <= t.lim.MaxProcs {
		return
	}
	drop := max(len(b.procs)/8, 1)
	for len(b.exited) > 0 && drop > 0 {
		e := b.exited[0]
		b.exited = b.exited[1:]
		if p := b.procs[e.key]; p != nil && p.exit == e.seq {
			delete(b.procs, e.key)
			drop--
		}
	}
	if drop == 0 {
		return
	}
	keys := make([]procKey, 0, len(b.procs))
	for k := range b.procs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y procKey) int {
		return cmp.Or(cmp.Compare(b.procs[x].seen, b.procs[y].seen), compareKeys(x, y))
	})
	for _, k := range keys[:drop] {
		delete(b.procs, k)
	}
}

func compareKeys(x, y procKey) int {
	return cmp.Or(cmp.Compare(x.tgid, y.tgid), cmp.Compare(x.start, y.start))
}

// Fill completes out, the acting process of an event of boot at sequence q, with what the table knows:
// exe, args, container id and lineage as they were at q. The process's own fields (pid, comm, ids) come
// from the event; Fill sets them too. The byte slices it sets alias the table.
func (t *ProcTable) Fill(boot string, ev *schemas.Process, q uint64, out *schemas.ActivityProcess) {
	*out = schemas.ActivityProcess{Pid: ev.Tgid, Comm: ev.Comm, UID: ev.UID, GID: ev.GID, LoginUID: ev.LoginUID}
	b := t.boot(boot, false)
	if b == nil {
		return
	}
	p := b.procs[procKey{ev.Tgid, ev.Start}]
	if p == nil {
		return
	}
	if im := p.imageAt(q); im != nil {
		out.Exe, out.ContainerID = im.exe, im.container
		out.Args = splitArgs(out.Args[:0], im.args)
	}
	seen := map[procKey]bool{{ev.Tgid, ev.Start}: true}
	for k := (procKey{p.ppid, p.pstart}); len(out.Lineage) < t.lim.MaxLineage && !seen[k]; {
		seen[k] = true
		a := schemas.Ancestor{Pid: k.tgid}
		anc := b.procs[k]
		if anc == nil {
			if k.tgid != 0 {
				out.Lineage = append(out.Lineage, a)
			}
			break
		}
		if im := anc.imageAt(q); im != nil {
			a.Comm, a.Exe = im.comm, im.exe
		}
		out.Lineage = append(out.Lineage, a)
		k = procKey{anc.ppid, anc.pstart}
	}
}

// splitArgs splits NUL-terminated arguments; a last argument without its NUL (truncated) counts too.
func splitArgs(dst [][]byte, args []byte) [][]byte {
	for len(args) > 0 {
		i := bytes.IndexByte(args, 0)
		if i < 0 {
			return append(dst, args)
		}
		dst = append(dst, args[:i:i])
		args = args[i+1:]
	}
	return dst
}
