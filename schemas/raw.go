package schemas

import "strconv"

// Kind is what a raw event reports. The zero Kind is invalid; the values are part of the wire format.
type Kind uint8

// Kinds of raw events. File kinds carry the names of BEHAVIOUR.md's FILE_ACTIVITY types; process kinds
// (exec, fork, exit) feed the resolver's process table; scan kinds carry a sensor's view of a filesystem
// in epochs; loss reports what the kernel or the sensor dropped; content is a file's content hash, taken by
// the sensor after the last writer released the file.
const (
	KindCreation Kind = iota + 1
	KindOpen
	KindUnlink
	KindRename
	KindPermission
	KindOwnership
	KindMkdir
	KindRmdir
	KindSymlink
	KindLink
	KindXattrSet
	KindXattrRemove
	KindACLSet
	KindMount
	KindUmount
	KindExec
	KindFork
	KindExit
	KindScanBegin
	KindScanEntry
	KindScanEnd
	KindLoss
	KindContent

	numKinds = iota + 1
)

var kindNames = [numKinds]string{
	KindCreation:    "creation",
	KindOpen:        "open",
	KindUnlink:      "unlink",
	KindRename:      "rename",
	KindPermission:  "permission",
	KindOwnership:   "ownership",
	KindMkdir:       "mkdir",
	KindRmdir:       "rmdir",
	KindSymlink:     "symlink",
	KindLink:        "link",
	KindXattrSet:    "xattr_set",
	KindXattrRemove: "xattr_remove",
	KindACLSet:      "acl_set",
	KindMount:       "mount",
	KindUmount:      "umount",
	KindExec:        "exec",
	KindFork:        "fork",
	KindExit:        "exit",
	KindScanBegin:   "scan_begin",
	KindScanEntry:   "scan_entry",
	KindScanEnd:     "scan_end",
	KindLoss:        "loss",
	KindContent:     "content",
}

// String returns the type name used in FILE_ACTIVITY subjects and documents, e.g. "xattr_set".
func (k Kind) String() string {
	if k.Valid() {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Valid reports whether k is a kind this version of the schema knows.
func (k Kind) Valid() bool { return k > 0 && k < numKinds }

// File reports whether k is about a file (and carries Dev, Ino, ParentIno and Name).
func (k Kind) File() bool { return k >= KindCreation && k <= KindUmount }

// Activity reports whether k becomes a FILE_ACTIVITY event of the type k.String(): a file kind, or
// content (which is about a file too, but changes no name, so File is false for it).
func (k Kind) Activity() bool { return k.File() || k == KindContent }

// Process reports whether k is about a process (exec, fork, exit) and carries no file.
func (k Kind) Process() bool { return k >= KindExec && k <= KindExit }

// Probe is the family of probes that saw an event.
type Probe uint8

// Probes.
const (
	ProbeLSM        Probe = 1 // BPF-LSM hooks
	ProbeTracepoint Probe = 2 // tracepoints
	ProbeScan       Probe = 3 // the sensor's scan of the monitored paths, not the kernel
)

// Monitored is why the kernel considered a file monitored, strongest first: inode > parent > path.
type Monitored uint8

// Monitored reasons.
const (
	NotMonitored      Monitored = 0
	MonitoredByPath   Monitored = 1 // the path matched a configured pattern; Path is set
	MonitoredByParent Monitored = 2 // the parent directory is a tracked inode
	MonitoredByInode  Monitored = 3 // the inode itself is tracked
)

// Flags qualify an event.
type Flags uint16

// Flag bits.
const (
	// FlagRenameExchange marks a rename with RENAME_EXCHANGE: Ino and TargetIno swapped names.
	FlagRenameExchange Flags = 1 << iota
	// FlagRenameReplaced marks a rename that replaced an existing target, TargetIno.
	FlagRenameReplaced
	// FlagStatxInode says Ino was read with statx after the fact, not from the kernel's dentry.
	FlagStatxInode
	// FlagTruncated says a name, path or argument list was cut short by the probe's bounds.
	FlagTruncated
	// FlagScanRoot marks the scan entry of a scan root: its Path is the root's host path.
	FlagScanRoot
	// FlagProcessView says Path is the path as a process in another mount namespace (a container) named
	// the file: what the user sees as `path`, never a host path, so the index does not learn from it.
	FlagProcessView
	// FlagPathOutside marks a rename or link whose new side lies outside every monitored tree: Path is where
	// the file went, as the process named it, and it has no host path.
	FlagPathOutside
)

// Process is the acting process of an event, as the kernel knows it at the time. For fork it is the new
// child; for exec, the process after the exec.
type Process struct {
	Pid      uint32 // thread id, as the kernel's pid
	Tgid     uint32 // thread group id, what user space calls the pid
	UID      uint32 // effective uid
	GID      uint32 // effective gid
	LoginUID uint32 // audit login uid, 4294967295 when unset
	Comm     []byte // task comm, at most 16 bytes
	Start    uint64 // process start time, ns since boot; with Tgid it names a process uniquely per boot
	CgroupID uint64 // cgroup v2 id
	MntNS    uint32 // mount namespace inode number
}

// RawEvent is one record of the raw stream. It is flat: a field not used by the event's Kind is zero and is
// not encoded (see the layouts in README.md). Every name, path and argument is bytes, never text, so that
// any byte sequence the kernel reports survives unchanged.
type RawEvent struct {
	Kind      Kind
	Probe     Probe
	Monitored Monitored
	Flags     Flags
	Seq       uint64 // the sensor's sequence, unique per host and boot
	Time      int64  // wall clock, unix ns

	// The file, for file kinds and scan entries.
	Dev       uint64 // st_dev, the kernel's new_encode_dev form; zero on the wire means the batch's Dev
	Ino       uint64
	ParentIno uint64 // the directory holding Name
	Name      []byte // the dentry name
	Path      []byte // full path, only when matched by path, for scan roots, and as a scan_begin's root

	// Kind-specific file fields.
	OldParentIno uint64    // rename: the source directory; link: the existing link's directory
	OldName      []byte    // rename: the source name; link: the existing link's name
	OldMonitored Monitored // rename, link: why the source side was monitored
	TargetIno    uint64    // rename: the inode that was replaced or exchanged
	Mode         uint32    // st_mode with the file type: new mode, type of a created or moved file
	OldMode      uint32    // permission: the mode before
	UID, GID     uint32    // the file's owner: new owner, creator
	OldUID       uint32    // ownership: the owner before
	OldGID       uint32    // ownership: the group before
	Nlink        uint32    // unlink, link: links before the operation; scan entries: st_nlink
	Aux          []byte    // symlink target, xattr or ACL name, mount fs type
	OldPath      []byte    // rename, link: the old side's path as the process named it, only where that side is not tracked

	Proc Process // the acting process (file and process kinds)

	// Process kinds.
	PPid        uint32 // exec, fork: the parent's tgid
	ParentStart uint64 // exec, fork: the parent's start time
	Exe         []byte // exec: the executable's path
	Args        []byte // exec: the arguments, each followed by a NUL, as in /proc/<pid>/cmdline
	Cgroup      []byte // exec, fork: the cgroup path, from which the resolver derives a container id
	ExitCode    int32  // exit: the exit status as wait(2) reports it

	ScanEpoch uint64 // scan kinds: the epoch, increasing per host and boot

	Lost uint64 // loss: how many records were dropped
	Hook string // loss: where (a hook or "spool")

	// Content: the file's identity beyond (Dev, Ino), and what its content was once its last writer was done.
	Generation uint32    // i_generation: with Ino, what a file handle names
	Size       uint64    // st_size when hashed
	Mtime      int64     // st_mtime when hashed, unix ns
	HashAlg    HashAlg   // the digest's algorithm
	Digest     []byte    // the digest, only with HashOK
	HashState  HashState // whether Digest is the content, or why there is none
}

// HashAlg is a content digest's algorithm. The values are part of the wire format.
type HashAlg uint8

// Algorithms.
const (
	HashSHA256 HashAlg = 1
	HashSHA512 HashAlg = 2
)

// String is the algorithm's name, as in FILE_ACTIVITY's "sha256:<hex>".
func (a HashAlg) String() string {
	switch a {
	case HashSHA256:
		return "sha256"
	case HashSHA512:
		return "sha512"
	}
	return "hash(" + strconv.Itoa(int(a)) + ")"
}

// ParseHashAlg is the algorithm named s ("sha256", "sha512").
func ParseHashAlg(s string) (HashAlg, bool) {
	for _, a := range []HashAlg{HashSHA256, HashSHA512} {
		if a.String() == s {
			return a, true
		}
	}
	return 0, false
}

// HashState says whether a content event's digest is the file's content, or why there is none. The values
// are part of the wire format; the names are FILE_ACTIVITY's hash_state.
type HashState uint8

// States.
const (
	HashOK                HashState = 1 // Digest is the whole content
	HashTooLarge          HashState = 2 // over the sensor's hash.max_size: not read
	HashChangedDuringHash HashState = 3 // the file changed while it was read: the sensor tries again once it is quiet
	HashUnreadable        HashState = 4 // it could not be opened or read, or the inode found is not the event's (Aux says why)
	HashRateLimited       HashState = 5 // the hasher's queue was full: not hashed this time

	numHashStates = iota + 1
)

var hashStateNames = [numHashStates]string{
	HashOK: "ok", HashTooLarge: "too_large", HashChangedDuringHash: "changed_during_hash",
	HashUnreadable: "unreadable", HashRateLimited: "rate_limited",
}

func (s HashState) String() string {
	if s > 0 && s < numHashStates {
		return hashStateNames[s]
	}
	return "hash_state(" + strconv.Itoa(int(s)) + ")"
}
