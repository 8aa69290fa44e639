package sensor

import (
	"fmt"
	"unsafe"

	"github.com/factstream/factstream/bpf"
	"github.com/factstream/factstream/schemas"
	"golang.org/x/sys/unix"
)

// BootClock turns the kernel's CLOCK_BOOTTIME timestamps into wall-clock time with an offset measured
// once, so every event of a run is stamped consistently (a later wall-clock step does not reorder them).
type BootClock struct {
	offset int64 // wall ns minus boot ns
}

// NewBootClock measures the offset between CLOCK_REALTIME and CLOCK_BOOTTIME, keeping the tightest of
// a few samples.
func NewBootClock() (BootClock, error) {
	best, bestSpan := int64(0), int64(-1)
	for range 5 {
		var a, boot, b unix.Timespec
		if err := unix.ClockGettime(unix.CLOCK_REALTIME, &a); err != nil {
			return BootClock{}, fmt.Errorf("reading the wall clock: %w", err)
		}
		if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot); err != nil {
			return BootClock{}, fmt.Errorf("reading the boot clock: %w", err)
		}
		if err := unix.ClockGettime(unix.CLOCK_REALTIME, &b); err != nil {
			return BootClock{}, fmt.Errorf("reading the wall clock: %w", err)
		}
		span := b.Nano() - a.Nano()
		if bestSpan < 0 || span < bestSpan {
			best, bestSpan = a.Nano()+span/2-boot.Nano(), span
		}
	}
	return BootClock{offset: best}, nil
}

// FixedBootClock is a clock with a given offset, for tests.
func FixedBootClock(offset int64) BootClock { return BootClock{offset: offset} }

// Wall returns the unix ns of a CLOCK_BOOTTIME reading.
func (c BootClock) Wall(bootNs uint64) int64 { return int64(bootNs) + c.offset }

// Now returns the current wall time in unix ns.
func (c BootClock) Now() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	return c.Wall(uint64(ts.Nano()))
}

// rawKinds maps each kernel kind to its raw-event kind: the one table between the two, indexed by the
// kernel's number (TestKindTable checks that it covers every kind of both, one to one).
var rawKinds = [...]schemas.Kind{
	bpf.KindCreation: schemas.KindCreation, bpf.KindOpen: schemas.KindOpen, bpf.KindUnlink: schemas.KindUnlink,
	bpf.KindRename: schemas.KindRename, bpf.KindPermission: schemas.KindPermission,
	bpf.KindOwnership: schemas.KindOwnership, bpf.KindMkdir: schemas.KindMkdir, bpf.KindRmdir: schemas.KindRmdir,
	bpf.KindSymlink: schemas.KindSymlink, bpf.KindLink: schemas.KindLink, bpf.KindXattrSet: schemas.KindXattrSet,
	bpf.KindXattrRemove: schemas.KindXattrRemove, bpf.KindACLSet: schemas.KindACLSet, bpf.KindMount: schemas.KindMount,
	bpf.KindUmount: schemas.KindUmount, bpf.KindExec: schemas.KindExec, bpf.KindFork: schemas.KindFork,
	bpf.KindExit: schemas.KindExit, bpf.KindCloseWrite: schemas.KindContent,
}

// kindOf maps a kernel kind to its raw-event kind; zero for a kind this sensor does not know.
func kindOf(k bpf.Kind) schemas.Kind {
	if int(k) < len(rawKinds) {
		return rawKinds[k]
	}
	return 0
}

// probeOf maps the kernel's probe-set number.
func probeOf(p uint8) schemas.Probe {
	if p == 2 {
		return schemas.ProbeTracepoint
	}
	return schemas.ProbeLSM
}

// flagsOf maps the kernel's flags. FLAG_MOUNT_MOVE has no raw-event flag yet (schemas version 1) and is
// not carried.
func flagsOf(ev *bpf.Event) schemas.Flags {
	var f schemas.Flags
	if ev.Has(bpf.FlagRenameExchange) {
		f |= schemas.FlagRenameExchange
	}
	if ev.Has(bpf.FlagRenameReplace) {
		f |= schemas.FlagRenameReplaced
	}
	if ev.Has(bpf.FlagPathTruncated) {
		f |= schemas.FlagTruncated
	}
	if ev.Has(bpf.FlagStatxInode) {
		f |= schemas.FlagStatxInode
	}
	if ev.Has(bpf.FlagPathProcessView) {
		f |= schemas.FlagProcessView
	}
	if ev.Has(bpf.FlagPathOutside) {
		f |= schemas.FlagPathOutside
	}
	return f
}

// Convert fills dst from the kernel record ev, stamping wall time with clock. It leaves Seq to the
// batcher. The byte slices of dst alias ev's buffer and its Comm: encode or copy dst before ev is read
// into again. It fails only for a kind this sensor does not know.
func Convert(dst *schemas.RawEvent, ev *bpf.Event, clock BootClock) error {
	kind := kindOf(ev.EventKind())
	if kind == 0 {
		return fmt.Errorf("converting record #%d: %w: %v", ev.Seq, schemas.ErrUnknownKind, ev.EventKind())
	}
	*dst = schemas.RawEvent{
		Kind:      kind,
		Probe:     probeOf(ev.Probe),
		Monitored: schemas.Monitored(ev.Monitored),
		Flags:     flagsOf(ev),
		Time:      clock.Wall(ev.TimeNs),
		Proc: schemas.Process{
			Pid: ev.Pid, Tgid: ev.Tgid, UID: ev.Uid, GID: ev.Gid, LoginUID: ev.Loginuid, Comm: commOf(ev),
			Start: ev.ProcStart, CgroupID: ev.CgroupId, MntNS: ev.Mntns,
		},
	}
	if kind.Process() {
		convertProcess(dst, ev)
		return nil
	}
	dst.Dev, dst.Ino, dst.ParentIno = uint64(ev.Dev), ev.Ino, ev.ParentIno
	dst.Name, dst.Path = ev.Name, ev.Path
	convertFile(dst, ev)
	return nil
}

// convertFile fills the kind-specific fields of a file event: only those its layout carries (a field
// the layout lacks would not survive the wire).
func convertFile(dst *schemas.RawEvent, ev *bpf.Event) {
	switch dst.Kind {
	case schemas.KindCreation, schemas.KindMkdir:
		// The probes do not read the new inode's owner; it is the creating process's (fs)uid and gid
		// unless the directory is setgid, which the resolver can see from the parent's mode.
		dst.Mode, dst.UID, dst.GID = ev.Mode, ev.Uid, ev.Gid
	case schemas.KindSymlink:
		dst.Aux, dst.Mode, dst.UID, dst.GID = ev.Name2, ev.Mode, ev.Uid, ev.Gid
	case schemas.KindRename, schemas.KindLink:
		dst.OldParentIno, dst.OldName, dst.OldPath, dst.Mode = ev.Move.OldParentIno, ev.Name2, ev.OldPath, ev.Mode
		dst.OldMonitored = schemas.Monitored(ev.Move.OldMonitored)
		if dst.Kind == schemas.KindRename {
			dst.TargetIno = ev.Move.TargetIno
		}
	case schemas.KindUnlink:
		dst.Nlink, dst.Mode = ev.Unlink.Nlink, ev.Mode
	case schemas.KindPermission:
		dst.Mode, dst.OldMode = ev.Perm.Mode, ev.Perm.OldMode
	case schemas.KindOwnership:
		dst.UID, dst.GID, dst.OldUID, dst.OldGID = ev.Owner.Uid, ev.Owner.Gid, ev.Owner.OldUid, ev.Owner.OldGid
	case schemas.KindXattrSet, schemas.KindXattrRemove, schemas.KindACLSet, schemas.KindMount, schemas.KindUmount:
		dst.Aux = ev.Name2
	case schemas.KindContent:
		// A last release after a write: the content event it becomes once the file is hashed.
		dst.Mode, dst.Generation, dst.Size = ev.Mode, ev.Close.Generation, ev.Close.Size
	}
}

// convertProcess fills the fields of exec, fork and exit.
func convertProcess(dst *schemas.RawEvent, ev *bpf.Event) {
	switch dst.Kind {
	case schemas.KindExec:
		dst.PPid, dst.ParentStart = ev.Proc.ParentTgid, ev.Proc.ParentStart
		dst.Exe, dst.Args, dst.Cgroup = ev.Name, ev.Name2, ev.Path
	case schemas.KindFork:
		dst.PPid, dst.ParentStart, dst.Cgroup = ev.Proc.ParentTgid, ev.Proc.ParentStart, ev.Path
	case schemas.KindExit:
		dst.ExitCode = int32(ev.Proc.ExitCode)
	}
}

// commOf returns the command name up to its NUL, aliasing ev.Comm.
func commOf(ev *bpf.Event) []byte {
	n := 0
	for n < len(ev.Comm) && ev.Comm[n] != 0 {
		n++
	}
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&ev.Comm[0])), n)
}
