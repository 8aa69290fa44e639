package schemas

import "math"

// appendField writes one field of ev. Empty byte fields are written as nil; Dev is written as nil when it
// equals the batch's.
func appendField(b []byte, ev *RawEvent, f field, batchDev uint64) []byte {
	switch f {
	case fKind:
		return appendUint(b, uint64(ev.Kind))
	case fSeq:
		return appendUint(b, ev.Seq)
	case fTime:
		return appendInt(b, ev.Time)
	case fProbe:
		return appendUint(b, uint64(ev.Probe))
	case fMonitored:
		return appendUint(b, uint64(ev.Monitored))
	case fFlags:
		return appendUint(b, uint64(ev.Flags))
	case fDev:
		if ev.Dev == batchDev {
			return append(b, mpNil)
		}
		return appendUint(b, ev.Dev)
	case fIno:
		return appendUint(b, ev.Ino)
	case fParentIno:
		return appendUint(b, ev.ParentIno)
	case fName:
		return appendBin(b, ev.Name)
	case fPath:
		return appendBin(b, ev.Path)
	case fOldParentIno:
		return appendUint(b, ev.OldParentIno)
	case fOldName:
		return appendBin(b, ev.OldName)
	case fOldPath:
		return appendBin(b, ev.OldPath)
	case fOldMonitored:
		return appendUint(b, uint64(ev.OldMonitored))
	case fTargetIno:
		return appendUint(b, ev.TargetIno)
	case fMode:
		return appendUint(b, uint64(ev.Mode))
	case fOldMode:
		return appendUint(b, uint64(ev.OldMode))
	case fUID:
		return appendUint(b, uint64(ev.UID))
	case fGID:
		return appendUint(b, uint64(ev.GID))
	case fOldUID:
		return appendUint(b, uint64(ev.OldUID))
	case fOldGID:
		return appendUint(b, uint64(ev.OldGID))
	case fNlink:
		return appendUint(b, uint64(ev.Nlink))
	case fAux:
		return appendBin(b, ev.Aux)
	}
	return appendProcessField(b, ev, f)
}

func appendProcessField(b []byte, ev *RawEvent, f field) []byte {
	switch f {
	case fPid:
		return appendUint(b, uint64(ev.Proc.Pid))
	case fTgid:
		return appendUint(b, uint64(ev.Proc.Tgid))
	case fProcUID:
		return appendUint(b, uint64(ev.Proc.UID))
	case fProcGID:
		return appendUint(b, uint64(ev.Proc.GID))
	case fLoginUID:
		return appendUint(b, uint64(ev.Proc.LoginUID))
	case fComm:
		return appendBin(b, ev.Proc.Comm)
	case fProcStart:
		return appendUint(b, ev.Proc.Start)
	case fCgroupID:
		return appendUint(b, ev.Proc.CgroupID)
	case fMntNS:
		return appendUint(b, uint64(ev.Proc.MntNS))
	case fPPid:
		return appendUint(b, uint64(ev.PPid))
	case fParentStart:
		return appendUint(b, ev.ParentStart)
	case fExe:
		return appendBin(b, ev.Exe)
	case fArgs:
		return appendBin(b, ev.Args)
	case fCgroup:
		return appendBin(b, ev.Cgroup)
	case fExitCode:
		return appendInt(b, int64(ev.ExitCode))
	case fScanEpoch:
		return appendUint(b, ev.ScanEpoch)
	case fLost:
		return appendUint(b, ev.Lost)
	case fHook:
		return appendStr(b, ev.Hook)
	}
	return appendContentField(b, ev, f)
}

func appendContentField(b []byte, ev *RawEvent, f field) []byte {
	switch f {
	case fGeneration:
		return appendUint(b, uint64(ev.Generation))
	case fSize:
		return appendUint(b, ev.Size)
	case fMtime:
		return appendInt(b, ev.Mtime)
	case fHashAlg:
		return appendUint(b, uint64(ev.HashAlg))
	case fDigest:
		return appendBin(b, ev.Digest)
	case fHashState:
		return appendUint(b, uint64(ev.HashState))
	}
	panic("schemas: field without encoder: " + f.String())
}

// isZero reports whether f of ev decodes to its zero value when left off the end of an event's array.
func isZero(ev *RawEvent, f field, batchDev uint64) bool {
	switch f {
	case fDev:
		return ev.Dev == batchDev
	case fIno:
		return ev.Ino == 0
	case fParentIno:
		return ev.ParentIno == 0
	case fName:
		return len(ev.Name) == 0
	case fPath:
		return len(ev.Path) == 0
	case fOldParentIno:
		return ev.OldParentIno == 0
	case fOldName:
		return len(ev.OldName) == 0
	case fOldPath:
		return len(ev.OldPath) == 0
	case fOldMonitored:
		return ev.OldMonitored == 0
	case fTargetIno:
		return ev.TargetIno == 0
	case fMode:
		return ev.Mode == 0
	case fOldMode:
		return ev.OldMode == 0
	case fUID:
		return ev.UID == 0
	case fGID:
		return ev.GID == 0
	case fOldUID:
		return ev.OldUID == 0
	case fOldGID:
		return ev.OldGID == 0
	case fNlink:
		return ev.Nlink == 0
	case fAux:
		return len(ev.Aux) == 0
	case fMntNS:
		return ev.Proc.MntNS == 0
	case fPPid:
		return ev.PPid == 0
	case fParentStart:
		return ev.ParentStart == 0
	case fExe:
		return len(ev.Exe) == 0
	case fArgs:
		return len(ev.Args) == 0
	case fCgroup:
		return len(ev.Cgroup) == 0
	case fExitCode:
		return ev.ExitCode == 0
	case fScanEpoch:
		return ev.ScanEpoch == 0
	case fLost:
		return ev.Lost == 0
	case fHook:
		return ev.Hook == ""
	case fGeneration:
		return ev.Generation == 0
	case fSize:
		return ev.Size == 0
	case fMtime:
		return ev.Mtime == 0
	case fHashAlg:
		return ev.HashAlg == 0
	case fDigest:
		return len(ev.Digest) == 0
	case fHashState:
		return ev.HashState == 0
	}
	// Header and most process fields are not worth checking: they are rarely zero at the end of a layout.
	return false
}

// field decodes one field into ev.
func (d *decoder) field(ev *RawEvent, f field) bool {
	r := &d.r
	var ok bool
	switch f {
	case fSeq:
		ev.Seq, ok = r.readUint(math.MaxUint64)
	case fTime:
		ev.Time, ok = r.readSigned(math.MinInt64, math.MaxInt64)
	case fProbe:
		ok = readUint8(r, (*uint8)(&ev.Probe), uint8(ProbeScan))
	case fMonitored:
		ok = readUint8(r, (*uint8)(&ev.Monitored), uint8(MonitoredByInode))
	case fFlags:
		var v uint64
		v, ok = r.readUint(math.MaxUint16)
		ev.Flags = Flags(v)
	case fDev:
		if r.isNil() {
			return true
		}
		ev.Dev, ok = r.readUint(math.MaxUint64)
	case fIno:
		ev.Ino, ok = r.readUint(math.MaxUint64)
	case fParentIno:
		ev.ParentIno, ok = r.readUint(math.MaxUint64)
	case fName:
		ok = d.bytes(&ev.Name)
	case fPath:
		ok = d.bytes(&ev.Path)
	case fOldParentIno:
		ev.OldParentIno, ok = r.readUint(math.MaxUint64)
	case fOldName:
		ok = d.bytes(&ev.OldName)
	case fOldPath:
		ok = d.bytes(&ev.OldPath)
	case fOldMonitored:
		ok = readUint8(r, (*uint8)(&ev.OldMonitored), uint8(MonitoredByInode))
	case fTargetIno:
		ev.TargetIno, ok = r.readUint(math.MaxUint64)
	case fMode:
		ok = readUint32(r, &ev.Mode)
	case fOldMode:
		ok = readUint32(r, &ev.OldMode)
	case fUID:
		ok = readUint32(r, &ev.UID)
	case fGID:
		ok = readUint32(r, &ev.GID)
	case fOldUID:
		ok = readUint32(r, &ev.OldUID)
	case fOldGID:
		ok = readUint32(r, &ev.OldGID)
	case fNlink:
		ok = readUint32(r, &ev.Nlink)
	case fAux:
		ok = d.bytes(&ev.Aux)
	default:
		ok = d.processField(ev, f)
	}
	return ok
}

func (d *decoder) processField(ev *RawEvent, f field) bool {
	r := &d.r
	var ok bool
	switch f {
	case fPid:
		ok = readUint32(r, &ev.Proc.Pid)
	case fTgid:
		ok = readUint32(r, &ev.Proc.Tgid)
	case fProcUID:
		ok = readUint32(r, &ev.Proc.UID)
	case fProcGID:
		ok = readUint32(r, &ev.Proc.GID)
	case fLoginUID:
		ok = readUint32(r, &ev.Proc.LoginUID)
	case fComm:
		ok = d.bytes(&ev.Proc.Comm)
	case fProcStart:
		ev.Proc.Start, ok = r.readUint(math.MaxUint64)
	case fCgroupID:
		ev.Proc.CgroupID, ok = r.readUint(math.MaxUint64)
	case fMntNS:
		ok = readUint32(r, &ev.Proc.MntNS)
	case fPPid:
		ok = readUint32(r, &ev.PPid)
	case fParentStart:
		ev.ParentStart, ok = r.readUint(math.MaxUint64)
	case fExe:
		ok = d.bytes(&ev.Exe)
	case fArgs:
		ok = d.bytes(&ev.Args)
	case fCgroup:
		ok = d.bytes(&ev.Cgroup)
	case fExitCode:
		var v int64
		v, ok = r.readSigned(math.MinInt32, math.MaxInt32)
		ev.ExitCode = int32(v)
	case fScanEpoch:
		ev.ScanEpoch, ok = r.readUint(math.MaxUint64)
	case fLost:
		ev.Lost, ok = r.readUint(math.MaxUint64)
	case fHook:
		var p []byte
		if p, ok = r.readBytes(); ok && string(p) != ev.Hook {
			ev.Hook = string(p)
		}
	default:
		return d.contentField(ev, f)
	}
	return ok
}

func (d *decoder) contentField(ev *RawEvent, f field) bool {
	r := &d.r
	var ok bool
	switch f {
	case fGeneration:
		ok = readUint32(r, &ev.Generation)
	case fSize:
		ev.Size, ok = r.readUint(math.MaxUint64)
	case fMtime:
		ev.Mtime, ok = r.readSigned(math.MinInt64, math.MaxInt64)
	case fHashAlg:
		ok = readUint8(r, (*uint8)(&ev.HashAlg), uint8(HashSHA512))
	case fDigest:
		ok = d.bytes(&ev.Digest)
	case fHashState:
		ok = readUint8(r, (*uint8)(&ev.HashState), uint8(numHashStates-1))
	default:
		return r.fail("no decoder for field %d", f)
	}
	return ok
}

func readUint8(r *reader, p *uint8, hi uint8) bool {
	v, ok := r.readUint(uint64(hi))
	*p = uint8(v)
	return ok
}

func readUint32(r *reader, p *uint32) bool {
	v, ok := r.readUint(math.MaxUint32)
	*p = uint32(v)
	return ok
}
