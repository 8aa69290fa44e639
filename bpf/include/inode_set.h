/* inode_set.h: the tracked set of (dev, ino) and the monitoring decision. The set is seeded by user space's
 * scan and grows and shrinks with the file operations the probes see. */
#pragma once

#include "common.h"
#include "events.h"

struct inode_key {
	__u64 ino;
	__u32 dev;
	__u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct inode_key);
	__type(value, __u8);
} tracked SEC(".maps");

static __always_inline int is_tracked(__u32 dev, __u64 ino)
{
	struct inode_key k = {.ino = ino, .dev = dev};

	return ino && bpf_map_lookup_elem(&tracked, &k) != 0;
}

static __always_inline void track(__u32 dev, __u64 ino)
{
	struct inode_key k = {.ino = ino, .dev = dev};
	__u8 one = 1;

	if (ino)
		bpf_map_update_elem(&tracked, &k, &one, BPF_ANY);
}

static __always_inline void untrack(__u32 dev, __u64 ino)
{
	struct inode_key k = {.ino = ino, .dev = dev};

	bpf_map_delete_elem(&tracked, &k);
}

/* decide_by_inode gives the cheap part of the decision: the file or its directory is tracked. */
static __always_inline __u8 decide_by_inode(__u32 dev, __u64 ino, __u64 parent_ino)
{
	if (is_tracked(dev, ino))
		return MONITORED_BY_INODE;
	if (is_tracked(dev, parent_ino))
		return MONITORED_BY_PARENT;
	return NOT_MONITORED;
}
