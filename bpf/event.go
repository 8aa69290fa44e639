package bpf

import (
	"fmt"
	"unsafe"
)

// Header is the fixed part of every record, generated from struct event_hdr.
type Header = lsmEventHdr

// Kind-specific fixed parts, generated from their C structs.
type (
	ExtMove   = lsmExtMove   // rename, link
	ExtMode   = lsmExtMode   // permission
	ExtOwner  = lsmExtOwner  // ownership
	ExtUnlink = lsmExtUnlink // unlink
	ExtMount  = lsmExtMount  // mount, umount
	ExtProc   = lsmExtProc   // exec, fork, exit
	ExtClose  = lsmExtClose  // close_write
)

// Kind is what happened.
type Kind uint8

// The kinds, as the kernel numbers them.
const (
	KindCreation    = Kind(lsmEventKindKIND_CREATION)
	KindOpen        = Kind(lsmEventKindKIND_OPEN)
	KindUnlink      = Kind(lsmEventKindKIND_UNLINK)
	KindRename      = Kind(lsmEventKindKIND_RENAME)
	KindPermission  = Kind(lsmEventKindKIND_PERMISSION)
	KindOwnership   = Kind(lsmEventKindKIND_OWNERSHIP)
	KindMkdir       = Kind(lsmEventKindKIND_MKDIR)
	KindRmdir       = Kind(lsmEventKindKIND_RMDIR)
	KindSymlink     = Kind(lsmEventKindKIND_SYMLINK)
	KindLink        = Kind(lsmEventKindKIND_LINK)
	KindXattrSet    = Kind(lsmEventKindKIND_XATTR_SET)
	KindXattrRemove = Kind(lsmEventKindKIND_XATTR_REMOVE)
	KindACLSet      = Kind(lsmEventKindKIND_ACL_SET)
	KindMount       = Kind(lsmEventKindKIND_MOUNT)
	KindUmount      = Kind(lsmEventKindKIND_UMOUNT)
	KindExec        = Kind(lsmEventKindKIND_EXEC)
	KindFork        = Kind(lsmEventKindKIND_FORK)
	KindExit        = Kind(lsmEventKindKIND_EXIT)
	// KindCloseWrite is the last release of a file opened for writing on a monitored inode (only with
	// Options.ReportCloses).
	KindCloseWrite = Kind(lsmEventKindKIND_CLOSE_WRITE)
)

var kindNames = [...]string{
	KindCreation: "creation", KindOpen: "open", KindUnlink: "unlink", KindRename: "rename",
	KindPermission: "permission", KindOwnership: "ownership", KindMkdir: "mkdir", KindRmdir: "rmdir",
	KindSymlink: "symlink", KindLink: "link", KindXattrSet: "xattr_set", KindXattrRemove: "xattr_remove",
	KindACLSet: "acl_set", KindMount: "mount", KindUmount: "umount", KindExec: "exec", KindFork: "fork",
	KindExit: "exit", KindCloseWrite: "close_write",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Monitored is why a file event was reported.
type Monitored uint8

// The reasons, strongest last.
const (
	NotMonitored      = Monitored(lsmMonitoredNOT_MONITORED)
	MonitoredByPath   = Monitored(lsmMonitoredMONITORED_BY_PATH)
	MonitoredByParent = Monitored(lsmMonitoredMONITORED_BY_PARENT)
	MonitoredByInode  = Monitored(lsmMonitoredMONITORED_BY_INODE)
)

func (m Monitored) String() string {
	switch m {
	case NotMonitored:
		return "not"
	case MonitoredByPath:
		return "path"
	case MonitoredByParent:
		return "parent"
	case MonitoredByInode:
		return "inode"
	}
	return fmt.Sprintf("monitored(%d)", uint8(m))
}

// Flags qualify an event.
type Flags uint8

// The flags.
const (
	FlagRenameExchange = Flags(lsmEventFlagsFLAG_RENAME_EXCHANGE)
	FlagRenameReplace  = Flags(lsmEventFlagsFLAG_RENAME_REPLACE)
	// FlagPathOutside: rename, link: the new side lies outside every monitored tree, and Path names it.
	FlagPathOutside   = Flags(lsmEventFlagsFLAG_PATH_OUTSIDE)
	FlagPathTruncated = Flags(lsmEventFlagsFLAG_PATH_TRUNCATED)
	FlagMountMove     = Flags(lsmEventFlagsFLAG_MOUNT_MOVE)
	FlagStatxInode    = Flags(lsmEventFlagsFLAG_STATX_INODE)
	// FlagPathProcessView: the path is the acting task's view from another mount namespace (a
	// container), not a host path.
	FlagPathProcessView = Flags(lsmEventFlagsFLAG_PATH_PROCESS_VIEW)
)

// Event is one decoded record. Name, Name2 and Path alias the event's own buffer: they stay valid until the
// event is read into again.
type Event struct {
	Header
	Move   ExtMove
	Perm   ExtMode
	Owner  ExtOwner
	Unlink ExtUnlink
	Mount  ExtMount
	Proc   ExtProc
	Close  ExtClose

	Name  []byte // the dentry name; exec: the executable's path
	Name2 []byte // rename, link: the old name; symlink: the target; xattr, acl: the attribute; mount: fs type; exec: argv, NUL-separated
	Path  []byte // the full path, when matched by path, outside (FlagPathOutside) or named through another mount or from a container (FlagPathProcessView); exec: the cgroup name
	// OldPath: rename, link: the old side's path, only where that side is not tracked (matched by path, or
	// outside every monitored tree).
	OldPath []byte

	buf []byte
}

// EventKind is the header's kind, typed.
func (e *Event) EventKind() Kind { return Kind(e.Kind) }

// Why is the header's monitored reason, typed.
func (e *Event) Why() Monitored { return Monitored(e.Monitored) }

// Has tells whether the event carries flag f.
func (e *Event) Has(f Flags) bool { return Flags(e.Flags)&f != 0 }

// CommString is the process's command name.
func (e *Event) CommString() string { return string(commBytes(e.Comm)) }

// commBytes returns a task comm as the kernel copies it (NUL-padded C chars) without its padding.
func commBytes(comm [16]int8) []byte {
	b := make([]byte, 0, len(comm))
	for _, c := range comm {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return b
}

// headerSize is the size of struct event_hdr; a test pins it.
const headerSize = int(unsafe.Sizeof(Header{}))

// Decode parses record into e, copying it into e's buffer.
func (e *Event) Decode(record []byte) error {
	if len(record) < headerSize {
		return fmt.Errorf("decode record: %w: %d bytes, header needs %d", ErrMalformed, len(record), headerSize)
	}
	e.buf = append(e.buf[:0], record...)
	e.Header = *(*Header)(unsafe.Pointer(&e.buf[0]))
	off := headerSize + int(e.ExtLen)
	if off > len(e.buf) {
		return fmt.Errorf("decode %v record: %w: kind-specific part of %d bytes, have %d", Kind(e.Kind), ErrMalformed, e.ExtLen, len(e.buf)-headerSize)
	}
	if err := e.decodeExt(e.buf[headerSize:off]); err != nil {
		return err
	}
	end := off + int(e.NameLen) + int(e.Name2Len) + int(e.PathLen) + int(e.Move.OldPathLen)
	if int(e.Size) != end || end > len(e.buf) {
		return fmt.Errorf("decode %v record: %w: size %d, parts add up to %d, have %d bytes", Kind(e.Kind), ErrMalformed, e.Size, end, len(e.buf))
	}
	e.Name, off = e.buf[off:off+int(e.NameLen):off+int(e.NameLen)], off+int(e.NameLen)
	e.Name2, off = e.buf[off:off+int(e.Name2Len):off+int(e.Name2Len)], off+int(e.Name2Len)
	e.Path, off = e.buf[off:off+int(e.PathLen):off+int(e.PathLen)], off+int(e.PathLen)
	e.OldPath = e.buf[off:end:end]
	return nil
}

// decodeExt reads the kind-specific part into the field for the kind and zeroes the others.
func (e *Event) decodeExt(ext []byte) error {
	e.Move, e.Perm, e.Owner, e.Unlink, e.Mount, e.Proc, e.Close = ExtMove{}, ExtMode{}, ExtOwner{}, ExtUnlink{}, ExtMount{}, ExtProc{}, ExtClose{}
	if len(ext) == 0 {
		return nil
	}
	var dst unsafe.Pointer
	var size uintptr
	switch Kind(e.Kind) {
	case KindRename, KindLink:
		dst, size = unsafe.Pointer(&e.Move), unsafe.Sizeof(e.Move)
	case KindPermission:
		dst, size = unsafe.Pointer(&e.Perm), unsafe.Sizeof(e.Perm)
	case KindOwnership:
		dst, size = unsafe.Pointer(&e.Owner), unsafe.Sizeof(e.Owner)
	case KindUnlink:
		dst, size = unsafe.Pointer(&e.Unlink), unsafe.Sizeof(e.Unlink)
	case KindMount, KindUmount:
		dst, size = unsafe.Pointer(&e.Mount), unsafe.Sizeof(e.Mount)
	case KindExec, KindFork, KindExit:
		dst, size = unsafe.Pointer(&e.Proc), unsafe.Sizeof(e.Proc)
	case KindCloseWrite:
		dst, size = unsafe.Pointer(&e.Close), unsafe.Sizeof(e.Close)
	default:
		return fmt.Errorf("decode %v record: %w: %d bytes of kind-specific data where none belong", Kind(e.Kind), ErrMalformed, len(ext))
	}
	if uintptr(len(ext)) != size {
		return fmt.Errorf("decode %v record: %w: kind-specific part is %d bytes, want %d", Kind(e.Kind), ErrMalformed, len(ext), size)
	}
	copy(unsafe.Slice((*byte)(dst), size), ext)
	return nil
}

// String is a one-line description for logs and test failures.
func (e *Event) String() string {
	return fmt.Sprintf("#%d %v %s dev=%d ino=%d parent=%d name=%q name2=%q path=%q old_path=%q monitored=%v flags=%#x pid=%d comm=%s size=%d",
		e.Seq, Kind(e.Kind), e.probeName(), e.Dev, e.Ino, e.ParentIno, e.Name, e.Name2, e.Path, e.OldPath, Monitored(e.Monitored),
		e.Flags, e.Tgid, e.CommString(), e.Size)
}

func (e *Event) probeName() string {
	if e.Probe == uint8(lsmProbeSetPROBE_TRACEPOINT) {
		return string(ProbeSetTracepoint)
	}
	return string(ProbeSetLSM)
}
