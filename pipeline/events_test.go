package pipeline

import "github.com/factstream/factstream/schemas"

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

func rename(ino, oldParent uint64, oldName string, parent uint64, name string, mode uint32) schemas.RawEvent {
	ev := fileEvent(schemas.KindRename, ino, parent, name)
	ev.OldParentIno, ev.OldName, ev.Mode = oldParent, []byte(oldName), mode
	return ev
}

func open(ino, parent uint64, name string) schemas.RawEvent {
	return fileEvent(schemas.KindOpen, ino, parent, name)
}

func ptr[T any](v T) *T { return &v }
