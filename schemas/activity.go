package schemas

import "encoding/hex"

// ActivityVersion is the version of the enriched batch encoding this package writes and the only one it
// reads. It is independent of the raw Version.
const ActivityVersion = 1

// TypeGap is the FILE_ACTIVITY type of a gap event: the resolver's view of a filesystem may miss changes
// (a loss event, a hole in the sensor's sequence, a dead-lettered message, a stream that no longer holds
// what the resolver needed) until the sensor's next scan of it.
const TypeGap = "gap"

// TypeDrift is the FILE_ACTIVITY type of a drift event: a sensor's scan found a file's content (its
// hash or size) other than what the resolver knew, and no event explains it. The change was made while
// nothing watched (the sensor stopped, a write the probes cannot see, a disk edited offline); nobody is
// known to have made it, so its process is zero.
const TypeDrift = "drift"

// What a drift event's Changed lists.
const (
	DriftHash = "hash"
	DriftSize = "size"
)

// Activity is one enriched FILE_ACTIVITY event, what users read. Type is the name of a file Kind
// (creation, open, unlink, rename, permission, ownership, mkdir, rmdir, symlink, link, xattr_set,
// xattr_remove, acl_set, mount, umount), the name of KindContent (a file's content hash once its last
// writer released it), TypeGap or TypeDrift.
//
// Paths and names are bytes, never text: whatever the kernel reported survives unchanged in the msgpack
// form. Which of the optional fields a type carries is fixed by the type (see README.md); the others are
// zero.
type Activity struct {
	Time int64  // the raw event's time, unix ns
	Host string // the node's name
	Type string

	Path        []byte // as the acting process named it (a container's view inside a container)
	HostPath    []byte // the monitored host path, empty when the file is not tracked
	OldPath     []byte // rename: the source as the process named it
	OldHostPath []byte // rename: the source's host path, empty when it was outside the tree

	Mode    uint32 // st_mode with the file type: creation, mkdir, symlink, unlink, rename, link, permission
	OldMode uint32 // permission
	UID     uint32 // the file's owner: creation, mkdir, symlink, ownership
	GID     uint32
	OldUID  uint32 // ownership
	OldGID  uint32

	Target []byte // symlink: its target; link: the existing path it links to
	Xattr  []byte // xattr_set, xattr_remove: the attribute's name
	ACL    []byte // acl_set: the ACL's name
	FSType []byte // mount, umount: the filesystem type

	Dev, Ino  uint64    // the file: st_dev (kernel encoding) and inode; for gap, Dev is the filesystem
	Monitored Monitored // why the kernel reported it
	Probe     Probe     // which probe set saw it

	Process ActivityProcess // the acting process; zero for gap

	Reason string // gap: why the index is uncertain
	Lost   uint64 // gap: how many records were lost, when known

	Hash      string // content, drift: the digest, as FormatHash writes it; empty unless HashState is ok
	Size      uint64 // content, drift: st_size when hashed
	OldHash   string // content: the file's previous known hash, empty when none; drift: the known hash
	HashState string // content, drift: a HashState's name (ok, too_large, changed_during_hash, unreadable, rate_limited)

	OldSize uint64   // drift: the size of the known hash
	Changed []string // drift: what differs, DriftHash and/or DriftSize, in that order
}

// FormatHash is the FILE_ACTIVITY form of a content digest, "<algorithm>:<lowercase hex>" (e.g.
// "sha256:9f86…"), or "" when there is no digest.
func FormatHash(alg HashAlg, digest []byte) string {
	if len(digest) == 0 {
		return ""
	}
	name := alg.String()
	b := make([]byte, 0, len(name)+1+hex.EncodedLen(len(digest)))
	b = append(append(b, name...), ':')
	return string(hex.AppendEncode(b, digest))
}

// ActivityProcess is the acting process of an Activity: what the raw event says (pid, comm, ids) joined
// with what the resolver's process table knows (exe, args, container, lineage).
type ActivityProcess struct {
	Pid         uint32 // the process id (thread group id)
	Comm        []byte
	Exe         []byte
	Args        [][]byte
	UID         uint32 // effective uid
	GID         uint32 // effective gid
	LoginUID    uint32 // 4294967295 when unset
	ContainerID string // 64 hex digits, empty outside a container
	Lineage     []Ancestor
}

// Ancestor is one process of a lineage: the parent first, then its parent, and so on.
type Ancestor struct {
	Pid  uint32
	Comm []byte
	Exe  []byte
}

// ActivityBatch is what a resolver publishes in one message on ActivitySubject(Host, Type): events of one
// host and one type. After DecodeActivityBatch the byte slices of Events point into memory owned by the
// batch, valid until the next decode into it.
type ActivityBatch struct {
	Host   string
	Type   string
	Events []Activity

	arena []byte
}
