package bpf

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Pinning keeps a probe set running after the process that loaded it exits: every map and every link is
// pinned in <PinPath>/<set>-<fingerprint>, and the next Load with the same object and options opens them
// again instead of attaching new programs. The kernel meanwhile goes on numbering and writing records
// into the pinned ring buffer, which the next reader continues from where the last one stopped.
//
// The fingerprint covers the embedded object and every option the programs were built with, so a new
// sensor build or a changed option never runs against programs that do not match: Load then removes
// the old pins (detaching those programs) and attaches afresh. Removing the directory by hand does the
// same.

// linkPrefix names a link's pin: link_<program>.
const linkPrefix = "link_"

// defaultBPFFS is where a BPF filesystem is usually mounted; Load mounts one there when a pin path below
// it has none.
const defaultBPFFS = "/sys/fs/bpf"

// pinning is what Load decided about pins for one set.
type pinning struct {
	dir   string // where this set's maps and links are pinned; empty: no pinning
	reuse bool   // every link is pinned already: open them, attach nothing
}

// planPins picks the pin directory of set and tells whether what is pinned there can be reused. Pins of
// the same set with another fingerprint are removed: their programs do not match this build or these
// options.
// points are the programs to attach (attachPoints).
func planPins(points map[string]string, set ProbeSet, opts Options, object []byte) (pinning, error) {
	if opts.PinPath == "" {
		return pinning{}, nil
	}
	if err := checkBPFFS(opts.PinPath); err != nil {
		if !errors.Is(err, ErrBadPinPath) || !strings.HasPrefix(opts.PinPath, defaultBPFFS+"/") {
			return pinning{}, err
		}
		// Where systemd would have mounted one: mount it, as other BPF agents do.
		if mountErr := unix.Mount("bpf", defaultBPFFS, "bpf", 0, "mode=0700"); mountErr != nil {
			return pinning{}, fmt.Errorf("%w (mounting one on %s: %v)", err, defaultBPFFS, mountErr)
		}
	}
	dir := filepath.Join(opts.PinPath, string(set)+"-"+fingerprint(points, opts, object))
	stale, err := filepath.Glob(filepath.Join(opts.PinPath, string(set)+"-*"))
	if err != nil {
		return pinning{}, fmt.Errorf("list pinned probes in %s: %w", opts.PinPath, err)
	}
	for _, d := range stale {
		if d == dir {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			return pinning{}, fmt.Errorf("remove stale pinned probes %s: %w", d, err)
		}
	}
	reuse := true
	for name := range points {
		if _, err := os.Stat(filepath.Join(dir, linkPrefix+name)); err != nil {
			reuse = false
			break
		}
	}
	if !reuse {
		// Half-pinned (a load that died midway) or nothing: start clean.
		if err := os.RemoveAll(dir); err != nil {
			return pinning{}, fmt.Errorf("remove partly pinned probes %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return pinning{}, fmt.Errorf("create pin directory: %w", err)
	}
	return pinning{dir: dir, reuse: reuse}, nil
}

// checkBPFFS tells whether dir is on a BPF filesystem (or can be created on one).
func checkBPFFS(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		var st unix.Statfs_t
		err := unix.Statfs(d, &st)
		if errors.Is(err, os.ErrNotExist) && d != "/" {
			continue
		}
		if err != nil {
			return fmt.Errorf("pin path %s: %w", dir, err)
		}
		if st.Type != unix.BPF_FS_MAGIC {
			return fmt.Errorf("pin path %s: %w: %s is not on a BPF filesystem (mount -t bpf bpf /sys/fs/bpf)", dir, ErrBadPinPath, d)
		}
		return nil
	}
}

// fingerprint names what the programs were built from: the object and the options they were loaded with.
func fingerprint(points map[string]string, opts Options, object []byte) string {
	h := sha256.New()
	h.Write(object)
	fmt.Fprintf(h, "ring=%d tracked=%d prefixes=%d mntns=%d wakeup=%d closes=%t", opts.RingSize, opts.TrackedInodes,
		opts.Prefixes, opts.HostMountNS, opts.WakeupBytes, opts.ReportCloses)
	for _, name := range slices.Sorted(maps.Keys(points)) {
		fmt.Fprintf(h, " %s", name) // which optional hooks this kernel has
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// preparePinned marks the maps of spec for pinning and, when the links are reused, drops the programs
// that are already attached: only the iterators, run on demand, are loaded again.
func preparePinned(spec *ebpf.CollectionSpec, pins pinning) {
	if pins.dir == "" {
		return
	}
	for name, m := range spec.Maps {
		if !strings.HasPrefix(name, ".") { // data sections cannot be pinned; they hold load-time constants only
			m.Pinning = ebpf.PinByName
		}
	}
	if !pins.reuse {
		return
	}
	for name, ps := range spec.Programs {
		if ps.AttachType != ebpf.AttachTraceIter {
			delete(spec.Programs, name)
		}
	}
}

// attachPoints returns the programs of spec that are attached to a hook, with their attach points.
// System-call handlers of the tracepoint set are reached by tail call and iterators run on demand: neither
// is attached.
func attachPoints(spec *ebpf.CollectionSpec) map[string]string {
	out := map[string]string{}
	for name, ps := range spec.Programs {
		if ps.AttachType == ebpf.AttachTraceIter {
			continue
		}
		if to := ps.AttachTo; to != "" || ps.Type != ebpf.RawTracepoint {
			out[name] = to
		}
	}
	return out
}

// openPinnedLinks opens the pinned link of every program in names.
func (p *Probes) openPinnedLinks(names []string) error {
	for _, name := range names {
		l, err := link.LoadPinnedLink(filepath.Join(p.pinDir, linkPrefix+name), nil)
		if err != nil {
			return fmt.Errorf("open pinned link of %s: %w", name, err)
		}
		p.links = append(p.links, l)
	}
	return nil
}

// pinLink pins l as program name's link when the probes are pinned.
func (p *Probes) pinLink(name string, l link.Link) error {
	if p.pinDir == "" {
		return nil
	}
	if err := l.Pin(filepath.Join(p.pinDir, linkPrefix+name)); err != nil {
		return fmt.Errorf("pin link of %s: %w", name, err)
	}
	return nil
}

// Unpin removes the probes pinned under pinPath (every set): their programs are detached once no process
// holds them. A missing directory is not an error.
func Unpin(pinPath string) error {
	dirs, err := filepath.Glob(filepath.Join(pinPath, "*-*"))
	if err != nil {
		return fmt.Errorf("unpin probes: %w", err)
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			return fmt.Errorf("unpin probes: %w", err)
		}
	}
	return nil
}
