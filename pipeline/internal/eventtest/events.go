package eventtest

import (
	"bytes"

	"github.com/factstream/factstream/schemas"
)

// The modes of a directory and of a regular file.
const (
	DirMode  = 0o040755
	FileMode = 0o100644
)

// ScanBegin starts scan epoch epoch.
func ScanBegin(epoch uint64) schemas.RawEvent {
	return schemas.RawEvent{Kind: schemas.KindScanBegin, ScanEpoch: epoch, Probe: schemas.ProbeScan}
}

// ScanRoot is the scan entry of a monitored root: directory ino at host path path.
func ScanRoot(epoch, ino uint64, path string) schemas.RawEvent {
	return schemas.RawEvent{Kind: schemas.KindScanEntry, ScanEpoch: epoch, Probe: schemas.ProbeScan,
		Flags: schemas.FlagScanRoot, Ino: ino, Mode: DirMode, Path: []byte(path)}
}

// ScanEntry is the scan entry of inode ino, named name in directory parent.
func ScanEntry(epoch, ino, parent uint64, name string, mode uint32) schemas.RawEvent {
	return schemas.RawEvent{Kind: schemas.KindScanEntry, ScanEpoch: epoch, Probe: schemas.ProbeScan,
		Ino: ino, ParentIno: parent, Name: []byte(name), Mode: mode, Nlink: 1}
}

// ScanEnd ends scan epoch epoch.
func ScanEnd(epoch uint64) schemas.RawEvent {
	return schemas.RawEvent{Kind: schemas.KindScanEnd, ScanEpoch: epoch, Probe: schemas.ProbeScan}
}

// FileEvent is an event of kind k on inode ino, named name in directory parent, monitored by its parent.
func FileEvent(k schemas.Kind, ino, parent uint64, name string) schemas.RawEvent {
	return schemas.RawEvent{Kind: k, Ino: ino, ParentIno: parent, Name: []byte(name),
		Monitored: schemas.MonitoredByParent}
}

// Mkdir creates directory ino, named name in parent.
func Mkdir(ino, parent uint64, name string) schemas.RawEvent {
	ev := FileEvent(schemas.KindMkdir, ino, parent, name)
	ev.Mode = DirMode
	return ev
}

// Create creates regular file ino, named name in parent.
func Create(ino, parent uint64, name string) schemas.RawEvent {
	ev := FileEvent(schemas.KindCreation, ino, parent, name)
	ev.Mode = FileMode
	return ev
}

// Symlink creates symbolic link ino to target, named name in parent.
func Symlink(ino, parent uint64, name, target string) schemas.RawEvent {
	ev := FileEvent(schemas.KindSymlink, ino, parent, name)
	ev.Mode, ev.Aux = 0o120777, []byte(target)
	return ev
}

// Link adds the name name in parent to the file named oldName in oldParent.
func Link(ino, oldParent uint64, oldName string, parent uint64, name string) schemas.RawEvent {
	ev := FileEvent(schemas.KindLink, ino, parent, name)
	ev.OldParentIno, ev.OldName, ev.Mode = oldParent, []byte(oldName), FileMode
	return ev
}

// Unlink removes a name of ino, which has nlink names left after it.
func Unlink(ino, parent uint64, name string, nlink uint32) schemas.RawEvent {
	ev := FileEvent(schemas.KindUnlink, ino, parent, name)
	ev.Nlink = nlink
	return ev
}

// Rmdir removes directory ino, named name in parent.
func Rmdir(ino, parent uint64, name string) schemas.RawEvent {
	return FileEvent(schemas.KindRmdir, ino, parent, name)
}

// Rename moves ino, of mode mode, from oldName in oldParent to name in parent.
func Rename(ino, oldParent uint64, oldName string, parent uint64, name string, mode uint32) schemas.RawEvent {
	ev := FileEvent(schemas.KindRename, ino, parent, name)
	ev.OldParentIno, ev.OldName, ev.Mode = oldParent, []byte(oldName), mode
	return ev
}

// Replace is a rename over the file target.
func Replace(ino, oldParent uint64, oldName string, parent uint64, name string, target uint64) schemas.RawEvent {
	ev := Rename(ino, oldParent, oldName, parent, name, FileMode)
	ev.TargetIno, ev.Flags = target, schemas.FlagRenameReplaced
	return ev
}

// Exchange is a rename that swaps ino with target (RENAME_EXCHANGE).
func Exchange(ino, oldParent uint64, oldName string, parent uint64, name string, target uint64) schemas.RawEvent {
	ev := Rename(ino, oldParent, oldName, parent, name, 0)
	ev.TargetIno, ev.Flags = target, schemas.FlagRenameExchange
	return ev
}

// Open opens file ino, named name in parent.
func Open(ino, parent uint64, name string) schemas.RawEvent {
	return FileEvent(schemas.KindOpen, ino, parent, name)
}

// Content is the content event of regular file ino, named name in parent when its last writer released
// it, hashed with SHA-256 in state; digest is its digest when state is ok, ignored otherwise.
func Content(ino, parent uint64, name string, state schemas.HashState, digest []byte, size uint64) schemas.RawEvent {
	ev := FileEvent(schemas.KindContent, ino, parent, name)
	ev.Mode, ev.HashAlg, ev.HashState, ev.Size = FileMode, schemas.HashSHA256, state, size
	if state == schemas.HashOK {
		ev.Digest = digest
	}
	return ev
}

// ScanContent is the content event the sensor's scan publishes for regular file ino, named name in
// parent: no process, probe scan, otherwise as Content.
func ScanContent(ino, parent uint64, name string, state schemas.HashState, digest []byte, size uint64) schemas.RawEvent {
	ev := Content(ino, parent, name, state, digest, size)
	ev.Probe = schemas.ProbeScan
	return ev
}

// Digest is a SHA-256-sized digest made of the byte b, for content events.
func Digest(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// Hash is Digest(b) in FILE_ACTIVITY's form, as a content event with it should carry.
func Hash(b byte) string { return schemas.FormatHash(schemas.HashSHA256, Digest(b)) }

// Proc is a process event of kind k of a process of a test shell session: process tgid started at
// start, running comm as user 1000.
func Proc(k schemas.Kind, tgid uint32, start uint64, comm string) schemas.RawEvent {
	return schemas.RawEvent{Kind: k, Proc: schemas.Process{Pid: tgid, Tgid: tgid, UID: 1000, GID: 1000, LoginUID: 1000,
		Comm: []byte(comm), Start: start}}
}

// Fork is the fork of process tgid from process ppid started at pstart.
func Fork(tgid uint32, start uint64, comm string, ppid uint32, pstart uint64) schemas.RawEvent {
	ev := Proc(schemas.KindFork, tgid, start, comm)
	ev.PPid, ev.ParentStart = ppid, pstart
	return ev
}

// Exec is process tgid running exe with args in cgroup.
func Exec(tgid uint32, start uint64, exe string, args []string, cgroup string) schemas.RawEvent {
	comm := exe[bytes.LastIndexByte([]byte(exe), '/')+1:]
	ev := Proc(schemas.KindExec, tgid, start, comm)
	ev.Exe, ev.Cgroup = []byte(exe), []byte(cgroup)
	for _, a := range args {
		ev.Args = append(append(ev.Args, a...), 0)
	}
	return ev
}

// Exit is the exit of process tgid.
func Exit(tgid uint32, start uint64, comm string) schemas.RawEvent {
	return Proc(schemas.KindExit, tgid, start, comm)
}

// Ptr returns a pointer to a copy of v, for the functions that take events by pointer.
func Ptr[T any](v T) *T { return &v }
