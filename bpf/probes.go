package bpf

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// ProbeSet names a set of probes.
type ProbeSet string

// The probe sets. ProbeSetAuto picks LSM where it loads, else tracepoints.
const (
	ProbeSetAuto       ProbeSet = "auto"
	ProbeSetLSM        ProbeSet = "lsm"
	ProbeSetTracepoint ProbeSet = "tracepoint"
)

// DefaultRingSize is Options.RingSize when it is zero: 8 MiB, some 60,000 short records.
const DefaultRingSize = 8 << 20

// Options configure Load. The zero value is usable: every field has a default.
type Options struct {
	// Set is the probe set to load: auto (the default), lsm or tracepoint.
	Set ProbeSet
	// RingSize is the ring buffer's size in bytes, a power of two and a multiple of the page size.
	// Default DefaultRingSize.
	RingSize uint32
	// TrackedInodes bounds the tracked (dev, ino) set. Default 262144.
	TrackedInodes uint32
	// Prefixes bounds the path-prefix trie. Default 1024.
	Prefixes uint32
	// HostMountNS is the inode number of the host's mount namespace: path prefixes are matched only for tasks
	// in it, since a container's paths are not the host's. 0 matches every task.
	HostMountNS uint32
	// WakeupBytes: a record wakes a reader blocked in ReadInto only once this many bytes wait in the ring
	// buffer; below that it waits for the reader's deadline (SetDeadline), so a reader that sets one must
	// poll. Waking the reader for every record (0, the default) is what costs most on a busy monitored
	// path. Must be less than RingSize.
	WakeupBytes uint32
	// ReportCloses asks for a KindCloseWrite record at the last release of every file opened for writing on
	// a monitored inode, for hashing what its last writer left. Off, the programs that watch releases are
	// not loaded and cost nothing.
	ReportCloses bool
	// PinPath, a directory on a BPF filesystem, pins the set's maps and links there so that the probes keep
	// recording after Close and after the process dies; the next Load with the same options continues with
	// them (Reused). Empty: the probes go with the process. See Unpin.
	PinPath string
	// VerifierLog asks for the verifier's log on load failures (large).
	VerifierLog bool
}

func (o *Options) setDefaults() error {
	switch o.Set {
	case "":
		o.Set = ProbeSetAuto
	case ProbeSetAuto, ProbeSetLSM, ProbeSetTracepoint:
	default:
		return fmt.Errorf("probe set %q: want auto, lsm or tracepoint", o.Set)
	}
	if o.RingSize == 0 {
		o.RingSize = DefaultRingSize
	}
	page := uint32(os.Getpagesize())
	if o.RingSize&(o.RingSize-1) != 0 || o.RingSize%page != 0 {
		return fmt.Errorf("ring size %d: must be a power of two and a multiple of the page size %d", o.RingSize, page)
	}
	if o.WakeupBytes >= o.RingSize {
		return fmt.Errorf("wakeup bytes %d: must be less than the ring size %d", o.WakeupBytes, o.RingSize)
	}
	if o.TrackedInodes == 0 {
		o.TrackedInodes = 262144
	}
	if o.Prefixes == 0 {
		o.Prefixes = 1024
	}
	if o.PinPath != "" && !filepath.IsAbs(o.PinPath) {
		return fmt.Errorf("pin path %q: %w: not absolute", o.PinPath, ErrBadPinPath)
	}
	return nil
}

// Probes are loaded and attached probes. Create with Load; Close when done.
type Probes struct {
	set      ProbeSet
	why      string
	coll     *ebpf.Collection // the programs; the objects Go uses moved to objs and tp
	objs     probeObjects
	tp       tpObjects // tracepoint set only
	links    []link.Link
	attachTo map[string]string // program name → attach point, for the programs that are attached
	reader   *ringbuf.Reader
	rec      ringbuf.Record // ReadInto's buffer
	pinDir   string         // where the maps and links are pinned; empty: not pinned
	reused   bool           // the links were pinned by an earlier Load, which this one continues

	userGen atomic.Uint64 // the last value written to discard_gen[1] (tracepoint set)

	mu         sync.Mutex // guards prefixes, mountCount and the runtime_settings map
	prefixes   map[string]struct{}
	mountCount int // entries in the monitored_mounts map

	closeOnce sync.Once
	closeErr  error
}

// Load loads a probe set, attaches every program and opens the ring buffer. On failure it closes whatever
// it had opened; an *UnavailableError says why a set cannot run on this kernel. With ProbeSetAuto it loads
// the LSM set where it can and the tracepoint set otherwise; Why says which and why.
func Load(opts Options) (*Probes, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, fmt.Errorf("load probes: %w", err)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("load probes: remove memlock limit: %w", err)
	}
	if opts.Set != ProbeSetAuto {
		p, err := loadSet(opts.Set, opts)
		if p != nil {
			p.why = "requested"
		}
		return p, err
	}
	p, err := loadSet(ProbeSetLSM, opts)
	if err == nil {
		p.why = "auto: BPF-LSM loads on this kernel"
		return p, nil
	}
	if !errors.Is(err, ErrUnavailable) {
		return nil, err
	}
	p, tpErr := loadSet(ProbeSetTracepoint, opts)
	if tpErr != nil {
		return nil, fmt.Errorf("load probes: no probe set runs here: %w", errors.Join(err, tpErr))
	}
	p.why = "auto: " + err.Error()
	if ue := (*UnavailableError)(nil); errors.As(err, &ue) {
		p.why = "auto: " + ue.Summary()
	}
	return p, nil
}

// embeddedSpec reads a set's embedded object: its spec, and its bytes (which name pinned probes).
func embeddedSpec(set ProbeSet) (*ebpf.CollectionSpec, []byte, error) {
	if set == ProbeSetLSM {
		spec, err := loadLsm()
		return spec, _LsmBytes, err
	}
	spec, err := loadTracepoint()
	return spec, _TracepointBytes, err
}

// loadSet loads one probe set.
func loadSet(set ProbeSet, opts Options) (*Probes, error) {
	if set == ProbeSetLSM {
		if err := lsmAvailable(); err != nil {
			return nil, err
		}
	}
	spec, object, err := embeddedSpec(set)
	if err != nil {
		return nil, fmt.Errorf("load %s probes: read embedded object: %w", set, err)
	}
	if err := configure(spec, set, opts); err != nil {
		return nil, fmt.Errorf("load %s probes: %w", set, err)
	}
	points := attachPoints(spec)
	pins, err := planPins(points, set, opts, object)
	if err != nil {
		return nil, fmt.Errorf("load %s probes: %w", set, err)
	}
	p := &Probes{set: set, prefixes: map[string]struct{}{}, pinDir: pins.dir, reused: pins.reuse, attachTo: points}
	preparePinned(spec, pins)
	if err := p.open(spec, opts); err != nil {
		p.Close()
		if pins.dir != "" && !pins.reuse {
			_ = os.RemoveAll(pins.dir) // nothing half-loaded stays attached
		}
		return nil, err
	}
	return p, nil
}

// configure sets map sizes and load-time constants on spec, and drops programs for hooks and system calls
// this kernel lacks.
func configure(spec *ebpf.CollectionSpec, set ProbeSet, opts Options) error {
	var objs specObjects
	if err := spec.Assign(&objs); err != nil {
		return fmt.Errorf("find the objects to configure: %w", err)
	}
	objs.Events.MaxEntries = opts.RingSize
	objs.Tracked.MaxEntries = opts.TrackedInodes
	objs.Prefixes.MaxEntries = opts.Prefixes
	if err := objs.HostMntns.Set(opts.HostMountNS); err != nil {
		return fmt.Errorf("set host mount namespace: %w", err)
	}
	if err := objs.WakeupBytes.Set(opts.WakeupBytes); err != nil {
		return fmt.Errorf("set wakeup bytes: %w", err)
	}
	if err := objs.ReportCloses.Set(opts.ReportCloses); err != nil {
		return fmt.Errorf("set report closes: %w", err)
	}
	kernel, err := btf.LoadKernelSpec()
	if err != nil {
		return &UnavailableError{Set: set, Reason: "the kernel has no BTF (/sys/kernel/btf/vmlinux)", Err: err}
	}
	if set == ProbeSetTracepoint {
		if err := setDentryLayout(spec, kernel); err != nil {
			return &UnavailableError{Set: set, Reason: "cannot read struct dentry's layout from the kernel's BTF", Err: err}
		}
	}
	for name, prog := range spec.Programs {
		var fn *btf.Func
		if prog.Type == ebpf.LSM && kernel.TypeByName("bpf_lsm_"+name, &fn) != nil {
			delete(spec.Programs, name) // e.g. inode_set_acl before 6.2
		}
	}
	keepReleasePrograms(spec, kernel, opts.ReportCloses)
	return nil
}

// releasePrograms watch the release of files open for writing (Options.ReportCloses): the tracepoint
// set's handlers of the calls that give a descriptor up, and the LSM set's file_release with its fallback.
var releasePrograms = []string{"enter_close", "enter_close_range", "enter_dup2", "enter_dup3", "file_release", "fput_final"}

// keepReleasePrograms drops the release programs unless closes are reported, and fput_final (an fentry on
// __fput, which calls the file_release hook) where the kernel has file_release (6.8 on) or no __fput to
// attach to.
func keepReleasePrograms(spec *ebpf.CollectionSpec, kernel *btf.Spec, report bool) {
	if !report {
		for _, name := range releasePrograms {
			delete(spec.Programs, name)
		}
		return
	}
	var fn *btf.Func
	if _, ok := spec.Programs["file_release"]; ok || kernel.TypeByName("__fput", &fn) != nil {
		delete(spec.Programs, "fput_final")
	}
}

// setDentryLayout tells the tracepoint set where this kernel's dentries keep their children.
func setDentryLayout(spec *ebpf.CollectionSpec, kernel *btf.Spec) error {
	var dentry *btf.Struct
	if err := kernel.TypeByName("dentry", &dentry); err != nil {
		return err
	}
	offsets := map[string]uint32{}
	for _, m := range dentry.Members {
		offsets[m.Name] = m.Offset.Bytes()
	}
	hlist, children, sibling := uint32(1), "d_children", "d_sib"
	if _, ok := offsets[children]; !ok {
		hlist, children, sibling = 0, "d_subdirs", "d_child"
	}
	if _, ok := offsets[children]; !ok {
		return fmt.Errorf("struct dentry has neither d_children nor d_subdirs")
	}
	if _, ok := offsets[sibling]; !ok {
		return fmt.Errorf("struct dentry has no %s", sibling)
	}
	var layout dentryLayoutSpec
	if err := spec.Assign(&layout); err != nil {
		return err
	}
	for _, v := range []struct {
		spec  *ebpf.VariableSpec
		value uint32
	}{{layout.ChildrenHlist, hlist}, {layout.ChildrenOff, offsets[children]}, {layout.SiblingOff, offsets[sibling]}} {
		if err := v.spec.Set(v.value); err != nil {
			return fmt.Errorf("set %s: %w", v.spec.Name, err)
		}
	}
	return nil
}

// verboseVerifierError is a verifier error whose message is the verifier's whole log, still an
// *ebpf.VerifierError to errors.As (a caller that must tell a refused program from a kernel that cannot
// run the set looks for it).
type verboseVerifierError struct{ err *ebpf.VerifierError }

func (e verboseVerifierError) Error() string { return fmt.Sprintf("verifier: %+v", e.err) }
func (e verboseVerifierError) Unwrap() error { return e.err }

// open loads the collection, attaches its programs and opens the ring buffer reader.
func (p *Probes) open(spec *ebpf.CollectionSpec, opts Options) error {
	var collOpts ebpf.CollectionOptions
	collOpts.Maps.PinPath = p.pinDir
	if opts.VerifierLog {
		collOpts.Programs.LogLevel = ebpf.LogLevelInstruction
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, collOpts)
	if err != nil {
		var verr *ebpf.VerifierError
		if errors.As(err, &verr) {
			return fmt.Errorf("load %s probes: %w", p.set, verboseVerifierError{verr})
		}
		if errors.Is(err, unix.EPERM) && spec.Programs["file_open"] != nil {
			return &UnavailableError{Set: ProbeSetLSM, Reason: "the kernel refuses programs that need a BPF trampoline (EPERM at load)", Err: err}
		}
		return fmt.Errorf("load %s probes: %w", p.set, err)
	}
	p.coll = coll
	if err := p.assignObjects(coll); err != nil {
		return fmt.Errorf("load %s probes: %w", p.set, err)
	}
	if p.reused {
		// The pinned programs run on, with the pinned system-call tables they were loaded with.
		err = p.openPinnedLinks(slices.Sorted(maps.Keys(p.attachTo)))
	} else {
		err = fillSyscallTables(coll, p.tp)
		if err == nil {
			err = p.attachAll()
		}
	}
	if err != nil {
		return fmt.Errorf("load %s probes: %w", p.set, err)
	}
	if err := p.loadPrefixes(); err != nil {
		return fmt.Errorf("load %s probes: %w", p.set, err)
	}
	if err := p.loadUserGen(); err != nil {
		return fmt.Errorf("load %s probes: %w", p.set, err)
	}
	p.reader, err = ringbuf.NewReader(p.objs.Events)
	if err != nil {
		return fmt.Errorf("load %s probes: open ring buffer: %w", p.set, err)
	}
	return nil
}

// attachAll attaches every program that has an attach point, and pins its link when the probes are pinned.
func (p *Probes) attachAll() error {
	for name, to := range p.attachTo {
		l, err := attach(p.coll.Programs[name], to)
		if err != nil {
			return fmt.Errorf("attach %s: %w", name, err)
		}
		p.links = append(p.links, l)
		if err := p.pinLink(name, l); err != nil {
			return err
		}
	}
	return nil
}

// detachAll detaches every program, keeping them loaded (for measuring what attaching costs).
func (p *Probes) detachAll() error {
	err := closeLinks(p.links)
	p.links = nil
	return err
}

// closeLinks detaches links concurrently: each tracepoint link waits for an RCU grace period on its own, so
// detaching 80 of them one after another takes seconds.
func closeLinks(links []link.Link) error {
	errs := make([]error, len(links))
	var wg sync.WaitGroup
	for i, l := range links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.Close()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func attach(prog *ebpf.Program, to string) (link.Link, error) {
	switch prog.Type() {
	case ebpf.LSM:
		return link.AttachLSM(link.LSMOptions{Program: prog})
	case ebpf.RawTracepoint:
		return link.AttachRawTracepoint(link.RawTracepointOptions{Name: to, Program: prog})
	}
	return link.AttachTracing(link.TracingOptions{Program: prog})
}

// lsmAvailable reports why BPF-LSM programs cannot run, if the active LSM list says so.
func lsmAvailable() error {
	const lsmList = "/sys/kernel/security/lsm"
	data, err := os.ReadFile(lsmList)
	if errors.Is(err, os.ErrNotExist) {
		if mountErr := unix.Mount("none", "/sys/kernel/security", "securityfs", 0, ""); mountErr == nil {
			data, err = os.ReadFile(lsmList)
		}
	}
	if err != nil {
		return &UnavailableError{Set: ProbeSetLSM, Reason: "cannot read the active LSM list " + lsmList, Err: err}
	}
	for _, name := range strings.Split(strings.TrimSpace(string(data)), ",") {
		if name == "bpf" {
			return nil
		}
	}
	return &UnavailableError{Set: ProbeSetLSM, Reason: fmt.Sprintf("bpf is not an active LSM (%s: %q); boot with lsm=...,bpf", lsmList, strings.TrimSpace(string(data)))}
}

// Reused tells whether Load continued probes pinned by an earlier Load (Options.PinPath): they recorded
// while nobody read them, and the ring buffer holds what they wrote since the last reader stopped.
func (p *Probes) Reused() bool { return p.reused }

// Pinned tells whether the probes are pinned (Options.PinPath): they keep recording after Close.
func (p *Probes) Pinned() bool { return p.pinDir != "" }

// Instance identifies the loaded probes' record sequence within this boot: the kernel id of the map that
// numbers records. Reused probes have the instance of the Load they continue; fresh probes have a new one
// and start their sequence again at 1.
func (p *Probes) Instance() uint64 {
	info, err := p.objs.Sequence.Info()
	if err != nil {
		return 0
	}
	id, _ := info.ID()
	return uint64(id)
}

// Set names the probe set that runs.
func (p *Probes) Set() ProbeSet { return p.set }

// Why says why this set runs (requested, or what auto found).
func (p *Probes) Why() string { return p.why }

// ReadInto blocks until a record arrives and decodes it into ev. It returns ErrClosed once the probes are
// closed, and os.ErrDeadlineExceeded after a deadline set with SetDeadline. One goroutine reads: the record
// buffer is the Probes' own, reused, so that reading allocates nothing.
func (p *Probes) ReadInto(ev *Event) error {
	rec := &p.rec
	if err := p.reader.ReadInto(rec); err != nil {
		if errors.Is(err, ringbuf.ErrClosed) {
			return ErrClosed
		}
		return fmt.Errorf("read ring buffer: %w", err)
	}
	return ev.Decode(rec.RawSample)
}

// SetDeadline makes ReadInto return os.ErrDeadlineExceeded at t when no record arrives; zero clears it.
func (p *Probes) SetDeadline(t time.Time) { p.reader.SetDeadline(t) }

// Track adds (dev, ino) to the tracked set; dev is st_dev as stat(2) reports it.
func (p *Probes) Track(dev, ino uint64) error {
	one := uint8(1)
	if err := p.objs.Tracked.Update(inodeKey(dev, ino), &one, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("track inode %d:%d: %w", dev, ino, err)
	}
	if err := p.dropDiscarders(); err != nil {
		return fmt.Errorf("track inode %d:%d: %w", dev, ino, err)
	}
	return nil
}

// dropDiscarders ends every discarder of the tracepoint set (include/discard.h) after a change that can make
// a path it dismissed monitored: a new tracked inode, a new prefix. Each call writes a value never written
// before, after the change, so a discarder made before the change cannot match it.
func (p *Probes) dropDiscarders() error {
	if p.tp.DiscardGen == nil {
		return nil
	}
	if err := p.tp.DiscardGen.Update(uint32(1), p.userGen.Add(1), ebpf.UpdateAny); err != nil {
		return fmt.Errorf("drop discarders: %w", err)
	}
	return nil
}

// Untrack removes (dev, ino) from the tracked set; a missing entry is not an error.
func (p *Probes) Untrack(dev, ino uint64) error {
	err := p.objs.Tracked.Delete(inodeKey(dev, ino))
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("untrack inode %d:%d: %w", dev, ino, err)
	}
	return nil
}

// Tracked tells whether (dev, ino) is in the tracked set.
func (p *Probes) Tracked(dev, ino uint64) (bool, error) {
	var v uint8
	err := p.objs.Tracked.Lookup(inodeKey(dev, ino), &v)
	if errors.Is(err, ebpf.ErrKeyNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up inode %d:%d: %w", dev, ino, err)
	}
	return true, nil
}

// TrackedCount counts the tracked set's entries (a full iteration: for tests and status, not hot paths).
func (p *Probes) TrackedCount() (int, error) {
	var (
		k lsmInodeKey
		v uint8
		n int
	)
	it := p.objs.Tracked.Iterate()
	for it.Next(&k, &v) {
		n++
	}
	if err := it.Err(); err != nil {
		return 0, fmt.Errorf("count tracked inodes: %w", err)
	}
	return n, nil
}

// TrackPath stats path (without following a final symlink) and tracks its inode.
func (p *Probes) TrackPath(path string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return fmt.Errorf("track %q: %w", path, err)
	}
	return p.Track(st.Dev, st.Ino)
}

func inodeKey(dev, ino uint64) *lsmInodeKey {
	return &lsmInodeKey{Ino: ino, Dev: uint32(dev)}
}

// AddPrefix makes every path at or below prefix (whole components: "/etc" matches "/etc/passwd", not
// "/etc-old") monitored by path. prefix must be absolute and shorter than 255 bytes.
func (p *Probes) AddPrefix(prefix string) error {
	key, err := prefixKey(prefix)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.objs.Prefixes.Update(key, uint32(1), ebpf.UpdateAny); err != nil {
		return fmt.Errorf("add prefix %q: %w", prefix, err)
	}
	p.prefixes[filepath.Clean(prefix)] = struct{}{}
	if err := p.writeSettings(); err != nil {
		return err
	}
	return p.dropDiscarders()
}

// RemovePrefix undoes AddPrefix; a prefix that was never added is not an error.
func (p *Probes) RemovePrefix(prefix string) error {
	key, err := prefixKey(prefix)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	err = p.objs.Prefixes.Delete(key)
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("remove prefix %q: %w", prefix, err)
	}
	delete(p.prefixes, filepath.Clean(prefix))
	return p.writeSettings()
}

// writeSettings writes the runtime settings the programs read: how many prefixes and monitored mounts there
// are. Callers hold mu.
func (p *Probes) writeSettings() error {
	v := lsmSettings{PrefixCount: uint32(len(p.prefixes)), MountCount: uint32(p.mountCount)}
	if err := p.objs.RuntimeSettings.Update(uint32(0), &v, ebpf.UpdateAny); err != nil {
		return fmt.Errorf("set runtime settings: %w", err)
	}
	return nil
}

// SetMounts names the mounts (by mount id, as statx's STATX_MNT_ID and /proc/self/mountinfo give it) the
// monitored paths live on, replacing any earlier set. A monitored file reached through any other mount (a
// bind mount, a second mount of its filesystem) is then reported with the path the process used, flagged
// FlagPathProcessView. With no ids every mount counts as a monitored one.
func (p *Probes) SetMounts(ids []uint32) error {
	m := p.objs.MonitoredMounts
	if len(ids) > int(m.MaxEntries()) {
		return fmt.Errorf("set monitored mounts: %w: %d mounts, the map holds %d", ErrTooManyMounts, len(ids), m.MaxEntries())
	}
	want := make(map[uint32]struct{}, len(ids))
	for _, id := range ids {
		want[id] = struct{}{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var stale []uint32
	var (
		k uint32
		v uint8
	)
	it := m.Iterate()
	for it.Next(&k, &v) {
		if _, ok := want[k]; !ok {
			stale = append(stale, k)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("set monitored mounts: read the map: %w", err)
	}
	for _, id := range stale {
		if err := m.Delete(id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("set monitored mounts: remove mount %d: %w", id, err)
		}
	}
	for id := range want {
		if err := m.Update(id, uint8(1), ebpf.UpdateAny); err != nil {
			return fmt.Errorf("set monitored mounts: add mount %d: %w", id, err)
		}
	}
	p.mountCount = len(want)
	return p.writeSettings()
}

// Prefixes returns the path prefixes the probes match, sorted: those added with AddPrefix and, for reused
// probes, those an earlier run left.
func (p *Probes) Prefixes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Sorted(maps.Keys(p.prefixes))
}

// loadUserGen continues the discarders' user generation of reused probes, so that no value repeats.
func (p *Probes) loadUserGen() error {
	if p.tp.DiscardGen == nil {
		return nil
	}
	var g uint64
	if err := p.tp.DiscardGen.Lookup(uint32(1), &g); err != nil {
		return fmt.Errorf("read the discarders' generation: %w", err)
	}
	p.userGen.Store(g)
	return nil
}

// loadPrefixes reads the prefixes already in the trie (reused probes) and sets the count to match.
func (p *Probes) loadPrefixes() error {
	var (
		k lsmPrefixKey
		v uint32
	)
	it := p.objs.Prefixes.Iterate()
	for it.Next(&k, &v) {
		n := min(int(k.Prefixlen/8), len(k.Data))
		prefix := string(k.Data[:n])
		if prefix != "/" {
			prefix = strings.TrimSuffix(prefix, "/")
		}
		p.prefixes[prefix] = struct{}{}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read path prefixes: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writeSettings()
}

// prefixKey builds the trie key of prefix: its bytes with a '/' after the last component.
func prefixKey(prefix string) (*lsmPrefixKey, error) {
	if !filepath.IsAbs(prefix) {
		return nil, fmt.Errorf("prefix %q: %w: not absolute", prefix, ErrBadPrefix)
	}
	clean := filepath.Clean(prefix)
	if clean != "/" {
		clean += "/"
	}
	var k lsmPrefixKey
	if len(clean) > len(k.Data)-1 {
		return nil, fmt.Errorf("prefix %q: %w: longer than %d bytes", prefix, ErrBadPrefix, len(k.Data)-2)
	}
	copy(k.Data[:], clean)
	k.Prefixlen = uint32(len(clean)) * 8
	return &k, nil
}

// Counters reads the counters of every hook of the set that runs.
func (p *Probes) Counters() (Counters, error) {
	return readCounters(p.objs.Counters, p.set)
}

// Close detaches every program and closes the ring buffer and maps; pinned probes stay attached and keep
// recording. It is safe to call more than once.
func (p *Probes) Close() error {
	p.closeOnce.Do(func() {
		var errs []error
		if p.reader != nil {
			errs = append(errs, p.reader.Close())
		}
		errs = append(errs, closeLinks(p.links))
		errs = append(errs, p.objs.close(), p.tp.close())
		if p.coll != nil {
			p.coll.Close()
		}
		p.closeErr = errors.Join(errs...)
	})
	return p.closeErr
}
