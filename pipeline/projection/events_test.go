package projection

import (
	"bytes"

	"github.com/factstream/factstream/schemas"
)

// Builders of raw events as a sensor would send them, for tests.

const (
	dirMode  = 0o040755
	fileMode = 0o100644
)

func scanBegin(epoch uint64) schemas.RawEvent {
	return schemas.RawEvent{Kind: schemas.KindScanBegin, ScanEpoch: epoch, Probe: schemas.ProbeScan}
}

func scanRoot(epoch, ino uint64, path string) schemas.RawEvent {
	return schemas.RawEvent{Kind: schemas.KindScanEntry, ScanEpoch: epoch, Probe: schemas.ProbeScan,
		Flags: schemas.FlagScanRoot, Ino: ino, Mode: dirMode, Path: []byte(path)}
}

func scanEntry(epoch, ino, parent uint64, name string, mode uint32) schemas.RawEvent {
	return schemas.RawEvent{Kind: schemas.KindScanEntry, ScanEpoch: epoch, Probe: schemas.ProbeScan,
		Ino: ino, ParentIno: parent, Name: []byte(name), Mode: mode, Nlink: 1}
}

func scanEnd(epoch uint64) schemas.RawEvent {
	return schemas.RawEvent{Kind: schemas.KindScanEnd, ScanEpoch: epoch, Probe: schemas.ProbeScan}
}

func fileEvent(k schemas.Kind, ino, parent uint64, name string) schemas.RawEvent {
	return schemas.RawEvent{Kind: k, Ino: ino, ParentIno: parent, Name: []byte(name),
		Monitored: schemas.MonitoredByParent}
}

func mkdir(ino, parent uint64, name string) schemas.RawEvent {
	ev := fileEvent(schemas.KindMkdir, ino, parent, name)
	ev.Mode = dirMode
	return ev
}

func create(ino, parent uint64, name string) schemas.RawEvent {
	ev := fileEvent(schemas.KindCreation, ino, parent, name)
	ev.Mode = fileMode
	return ev
}

func symlink(ino, parent uint64, name, target string) schemas.RawEvent {
	ev := fileEvent(schemas.KindSymlink, ino, parent, name)
	ev.Mode, ev.Aux = 0o120777, []byte(target)
	return ev
}

func link(ino, oldParent uint64, oldName string, parent uint64, name string) schemas.RawEvent {
	ev := fileEvent(schemas.KindLink, ino, parent, name)
	ev.OldParentIno, ev.OldName, ev.Mode = oldParent, []byte(oldName), fileMode
	return ev
}

func unlink(ino, parent uint64, name string, nlink uint32) schemas.RawEvent {
	ev := fileEvent(schemas.KindUnlink, ino, parent, name)
	ev.Nlink = nlink
	return ev
}

func rmdir(ino, parent uint64, name string) schemas.RawEvent {
	return fileEvent(schemas.KindRmdir, ino, parent, name)
}

func rename(ino, oldParent uint64, oldName string, parent uint64, name string, mode uint32) schemas.RawEvent {
	ev := fileEvent(schemas.KindRename, ino, parent, name)
	ev.OldParentIno, ev.OldName, ev.Mode = oldParent, []byte(oldName), mode
	return ev
}

func replace(ino, oldParent uint64, oldName string, parent uint64, name string, target uint64) schemas.RawEvent {
	ev := rename(ino, oldParent, oldName, parent, name, fileMode)
	ev.TargetIno, ev.Flags = target, schemas.FlagRenameReplaced
	return ev
}

func exchange(ino, oldParent uint64, oldName string, parent uint64, name string, target uint64) schemas.RawEvent {
	ev := rename(ino, oldParent, oldName, parent, name, 0)
	ev.TargetIno, ev.Flags = target, schemas.FlagRenameExchange
	return ev
}

func open(ino, parent uint64, name string) schemas.RawEvent {
	return fileEvent(schemas.KindOpen, ino, parent, name)
}

// Process events of a test shell session, as in package pipeline's stream_test.go.
func procEv(k schemas.Kind, tgid uint32, start uint64, comm string) schemas.RawEvent {
	return schemas.RawEvent{Kind: k, Proc: schemas.Process{Pid: tgid, Tgid: tgid, UID: 1000, GID: 1000, LoginUID: 1000,
		Comm: []byte(comm), Start: start}}
}

func forkEv(tgid uint32, start uint64, comm string, ppid uint32, pstart uint64) schemas.RawEvent {
	ev := procEv(schemas.KindFork, tgid, start, comm)
	ev.PPid, ev.ParentStart = ppid, pstart
	return ev
}

func execEv(tgid uint32, start uint64, exe string, args []string, cgroup string) schemas.RawEvent {
	comm := exe[bytes.LastIndexByte([]byte(exe), '/')+1:]
	ev := procEv(schemas.KindExec, tgid, start, comm)
	ev.Exe, ev.Cgroup = []byte(exe), []byte(cgroup)
	for _, a := range args {
		ev.Args = append(append(ev.Args, a...), 0)
	}
	return ev
}

func exitEv(tgid uint32, start uint64, comm string) schemas.RawEvent {
	return procEv(schemas.KindExit, tgid, start, comm)
}
