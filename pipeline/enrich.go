package pipeline

import (
	"github.com/factstream/factstream/schemas"
)

// Enrich turns one raw file event of host (sensor boot boot), with the Change the host's Index returned
// for it, into the FILE_ACTIVITY events BEHAVIOUR.md specifies, and calls emit with each one that
// patterns let through. procs may be nil (no process details). The Activity passed to emit is reused
// and aliases ev, c and procs: encode or copy it before returning.
//
//   - path is the path as the process named it: the event's own Path when the kernel matched it by path
//     or reported the process's view (a container), otherwise the index's host path;
//   - host_path is the index's host path when the file is tracked, empty otherwise;
//   - a rename carries the source in old: its path as the process named it (the kernel's, where the
//     source was not tracked, else the index's) and its host path (empty when the source was outside the
//     tree); a rename out of the tree has the destination as path and no host path;
//     RENAME_EXCHANGE gives two renames, one per inode;
//   - link carries the existing name's path as target, symlink its target;
//   - content (the sensor's hash of a file after its last writer released it) carries the hash when its
//     state is ok, the size, the state, and as old_hash what the index knew before (c.OldContent); its
//     process is the last writer;
//   - a content event of the sensor's scan is a baseline, not news: nothing, unless the index found it
//     to be drift (c.Drift), which gives a drift event (what changed, the hash and size found, the
//     ones known before) with no process, as nobody is known to have made the change;
//   - events whose paths are all outside host's patterns are dropped; an event without any path (an
//     inode the index lost) is kept, as nothing says it is outside.
func Enrich(host, boot string, ev *schemas.RawEvent, c Change, procs *ProcTable, patterns *Patterns, emit func(*schemas.Activity)) {
	if !ev.Kind.Activity() {
		return
	}
	scanned := ev.Kind == schemas.KindContent && ev.Probe == schemas.ProbeScan
	if scanned && !c.Drift {
		return
	}
	var a schemas.Activity
	fillFile(&a, host, ev, c)
	switch {
	case scanned:
		fillDrift(&a, ev, c)
	case procs != nil:
		procs.Fill(boot, &ev.Proc, ev.Seq, &a.Process)
	default:
		a.Process = schemas.ActivityProcess{Pid: ev.Proc.Tgid, Comm: ev.Proc.Comm, UID: ev.Proc.UID,
			GID: ev.Proc.GID, LoginUID: ev.Proc.LoginUID}
	}
	if inScope(host, &a, patterns) {
		emit(&a)
	}
	if ev.Kind == schemas.KindRename && ev.Flags&schemas.FlagRenameExchange != 0 && ev.TargetIno != 0 {
		// The target took the source's old name: its new path is the source's old one and vice versa.
		a.Ino, a.Mode, a.Monitored = ev.TargetIno, 0, ev.OldMonitored
		a.Path, a.HostPath = pathOr(ev.OldPath, c.OldPath), oldHostPath(ev, c)
		a.OldPath, a.OldHostPath = pathOr(ev.Path, c.Path), c.Path
		if inScope(host, &a, patterns) {
			emit(&a)
		}
	}
}

func pathOr(p, fallback []byte) []byte {
	if len(p) > 0 {
		return p
	}
	return fallback
}

// oldHostPath is the host path of a rename's or link's old side: the index's, or the kernel's own path
// where that side matched by path (a host path, as the process is in the host's view).
func oldHostPath(ev *schemas.RawEvent, c Change) []byte {
	if len(c.OldPath) == 0 && ev.OldMonitored == schemas.MonitoredByPath && ev.Flags&schemas.FlagProcessView == 0 {
		return ev.OldPath
	}
	return c.OldPath
}

// fillFile sets the fields that come from the raw event and the index.
func fillFile(a *schemas.Activity, host string, ev *schemas.RawEvent, c Change) {
	*a = schemas.Activity{Time: ev.Time, Host: host, Type: ev.Kind.String(), Path: pathOr(ev.Path, c.Path),
		HostPath: c.Path, Dev: ev.Dev, Ino: ev.Ino, Monitored: ev.Monitored, Probe: ev.Probe}
	switch ev.Kind {
	case schemas.KindRename:
		a.OldPath, a.OldHostPath, a.Mode = pathOr(ev.OldPath, c.OldPath), oldHostPath(ev, c), ev.Mode
	case schemas.KindCreation, schemas.KindMkdir:
		a.Mode, a.UID, a.GID = ev.Mode, ev.UID, ev.GID
	case schemas.KindSymlink:
		a.Mode, a.UID, a.GID, a.Target = ev.Mode, ev.UID, ev.GID, ev.Aux
	case schemas.KindLink:
		a.Mode, a.Target = ev.Mode, pathOr(ev.OldPath, c.OldPath)
	case schemas.KindUnlink:
		a.Mode = ev.Mode
	case schemas.KindPermission:
		a.Mode, a.OldMode = ev.Mode, ev.OldMode
	case schemas.KindOwnership:
		a.UID, a.GID, a.OldUID, a.OldGID = ev.UID, ev.GID, ev.OldUID, ev.OldGID
	case schemas.KindXattrSet, schemas.KindXattrRemove:
		a.Xattr = ev.Aux
	case schemas.KindACLSet:
		a.ACL = ev.Aux
	case schemas.KindMount, schemas.KindUmount:
		a.FSType = ev.Aux
	case schemas.KindContent:
		fillContent(a, ev, c)
	}
}

// fillContent sets what a content event says of the file's content.
func fillContent(a *schemas.Activity, ev *schemas.RawEvent, c Change) {
	if ev.HashState == schemas.HashOK {
		a.Hash = schemas.FormatHash(ev.HashAlg, ev.Digest)
	}
	a.Size, a.OldHash, a.HashState = ev.Size, c.OldContent.Hash(), ev.HashState.String()
}

// fillDrift makes a scan's content event that the index found to be drift a drift event: what changed
// between the content the index knew and the one the scan found.
func fillDrift(a *schemas.Activity, ev *schemas.RawEvent, c Change) {
	a.Type, a.OldSize = schemas.TypeDrift, c.OldContent.Size
	if a.Hash != "" && a.Hash != a.OldHash {
		a.Changed = append(a.Changed, schemas.DriftHash)
	}
	if ev.Size != c.OldContent.Size {
		a.Changed = append(a.Changed, schemas.DriftSize)
	}
}

// inScope reports whether one of the event's paths is in host's patterns: each side's host path, or its
// path when it has none. An event with no path at all is in scope.
func inScope(host string, a *schemas.Activity, patterns *Patterns) bool {
	if patterns.forHost(host) == nil {
		return true
	}
	sides := [2][]byte{pathOr(a.HostPath, a.Path), pathOr(a.OldHostPath, a.OldPath)}
	if len(sides[0]) == 0 && len(sides[1]) == 0 {
		return true
	}
	for _, p := range sides {
		if len(p) > 0 && patterns.Match(host, p) {
			return true
		}
	}
	return false
}

// GapActivity is the FILE_ACTIVITY event saying that host's filesystem dev may be missing changes.
func GapActivity(host string, dev uint64, time int64, reason string, lost uint64) schemas.Activity {
	return schemas.Activity{Time: time, Host: host, Type: schemas.TypeGap, Dev: dev, Reason: reason, Lost: lost}
}
