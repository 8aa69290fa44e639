/* stash.h: the two-hook pairs. path_mkdir, path_symlink and path_mknod see the new dentry before it has an
 * inode; they stash what they know keyed by thread, and d_instantiate, in the same thread, completes the event
 * with the inode. A stash is consumed only by the d_instantiate of its own dentry, and is always deleted then
 * (also when the inode is NULL); a newer stash of the thread replaces it; the thread's exit removes it. */
#pragma once

#include "common.h"

struct stash {
	struct dentry *dentry;
	struct vfsmount *mnt;
	const char *target; /* symlink: the link's content */
	__u64 parent_ino;
	__u32 dev;
	__u8 kind;
	__u8 monitored;
	__u8 flags;
	__u8 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct stash);
} stashes SEC(".maps");
