package schemas

// field names one encoded field of a RawEvent. The order of fields in a kind's layout is the wire format:
// change it only with a new Version. Within a version a field is only ever added at the end of a layout, so
// that every stream written before it still decodes (the new field reads as zero).
type field uint8

const (
	fKind field = iota
	fSeq
	fTime
	fProbe
	fMonitored
	fFlags
	fDev
	fIno
	fParentIno
	fName
	fPath
	fOldParentIno
	fOldName
	fOldMonitored
	fTargetIno
	fMode
	fOldMode
	fUID
	fGID
	fOldUID
	fOldGID
	fNlink
	fAux
	fPid
	fTgid
	fProcUID
	fProcGID
	fLoginUID
	fComm
	fProcStart
	fCgroupID
	fMntNS
	fPPid
	fParentStart
	fExe
	fArgs
	fCgroup
	fExitCode
	fScanEpoch
	fLost
	fHook
	fOldPath
	fGeneration
	fSize
	fMtime
	fHashAlg
	fDigest
	fHashState
	numFields
)

var fieldNames = [numFields]string{
	fKind: "kind", fSeq: "seq", fTime: "time", fProbe: "probe", fMonitored: "monitored", fFlags: "flags",
	fDev: "dev", fIno: "ino", fParentIno: "parent_ino", fName: "name", fPath: "path",
	fOldParentIno: "old_parent_ino", fOldName: "old_name", fOldMonitored: "old_monitored",
	fTargetIno: "target_ino", fMode: "mode", fOldMode: "old_mode", fUID: "uid", fGID: "gid",
	fOldUID: "old_uid", fOldGID: "old_gid", fNlink: "nlink", fAux: "aux",
	fPid: "pid", fTgid: "tgid", fProcUID: "proc_uid", fProcGID: "proc_gid", fLoginUID: "loginuid",
	fComm: "comm", fProcStart: "proc_start", fCgroupID: "cgroup_id", fMntNS: "mntns",
	fPPid: "ppid", fParentStart: "parent_start", fExe: "exe", fArgs: "args", fCgroup: "cgroup",
	fExitCode: "exit_code", fScanEpoch: "scan_epoch", fLost: "lost", fHook: "hook", fOldPath: "old_path",
	fGeneration: "generation", fSize: "size", fMtime: "mtime", fHashAlg: "hash_alg", fDigest: "digest",
	fHashState: "hash_state",
}

func (f field) String() string { return fieldNames[f] }

// Groups of fields shared by several layouts.
var (
	header  = []field{fKind, fSeq, fTime, fProbe, fMonitored, fFlags}
	file    = []field{fDev, fIno, fParentIno, fName, fPath}
	process = []field{fPid, fTgid, fProcUID, fProcGID, fLoginUID, fComm, fProcStart, fCgroupID, fMntNS}
)

func fileLayout(specific ...field) []field    { return join(header, file, process, specific) }
func processLayout(specific ...field) []field { return join(header, process, specific) }
func scanLayout(specific ...field) []field    { return join(header, specific) }

func join(groups ...[]field) []field {
	var l []field
	for _, g := range groups {
		l = append(l, g...)
	}
	return l
}

// layouts lists, per kind, the fields of its encoded array in order. Fields that are not listed are not
// encoded and decode as zero. Trailing zero fields are left off the array.
var layouts = [numKinds][]field{
	KindCreation:    fileLayout(fMode, fUID, fGID),
	KindOpen:        fileLayout(),
	KindUnlink:      fileLayout(fNlink, fMode),
	KindRename:      fileLayout(fOldParentIno, fOldName, fOldMonitored, fTargetIno, fMode, fOldPath),
	KindPermission:  fileLayout(fMode, fOldMode),
	KindOwnership:   fileLayout(fUID, fGID, fOldUID, fOldGID),
	KindMkdir:       fileLayout(fMode, fUID, fGID),
	KindRmdir:       fileLayout(),
	KindSymlink:     fileLayout(fAux, fMode, fUID, fGID),
	KindLink:        fileLayout(fOldParentIno, fOldName, fOldMonitored, fNlink, fMode, fOldPath),
	KindXattrSet:    fileLayout(fAux),
	KindXattrRemove: fileLayout(fAux),
	KindACLSet:      fileLayout(fAux),
	KindMount:       fileLayout(fAux),
	KindUmount:      fileLayout(fAux),
	KindExec:        processLayout(fPPid, fParentStart, fExe, fArgs, fCgroup),
	KindFork:        processLayout(fPPid, fParentStart, fCgroup),
	KindExit:        processLayout(fExitCode),
	KindScanBegin:   scanLayout(fDev, fScanEpoch, fIno, fPath),
	KindScanEntry:   scanLayout(fDev, fScanEpoch, fIno, fParentIno, fName, fMode, fNlink, fUID, fGID, fPath),
	KindScanEnd:     scanLayout(fDev, fScanEpoch),
	KindLoss:        scanLayout(fDev, fLost, fHook),
	KindContent:     fileLayout(fMode, fGeneration, fSize, fMtime, fHashAlg, fDigest, fHashState, fAux),
}
