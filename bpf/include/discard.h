/* discard.h: discarders, for the tracepoint set. A path argument the probes resolved to a file outside every
 * monitored tree is remembered, so that the same path named again from the same directory (a loop, a build,
 * a log rotation) is dismissed from maps before any dentry walk: the walk is what a path argument costs.
 *
 * A discarder is exact: its key is the whole path as the process passed it (up to DISCARD_PATH_MAX bytes;
 * longer ones are not remembered) and the directory the walk starts from (the task's root, cwd or the
 * directory fd: its dentry, mount, inode and i_generation, so that a freed and reused dentry does not match).
 * It holds as long as nothing happened that can change the answer, told by two generations it must match:
 *   - discard_gen[DISCARD_GEN_PROBES], which the probes bump at every rename, link, mount, umount and
 *     move_mount exit, and when a new directory joins the tracked set (it may lie on a remembered path);
 *   - discard_gen[DISCARD_GEN_USER], which user space sets to a new value after it tracks an inode or
 *     changes the path prefixes.
 * A file created in an untracked directory does not join the tracked set, and one created in a tracked
 * directory is never under a discarded path, so creating files needs no bump. What the tracepoint set does
 * not see (io_uring, kernel threads) cannot bump: a discarder also ends DISCARD_MAX_AGE_NS after it was
 * made, which bounds how long such a change can go unnoticed. */
#pragma once

#include "common.h"

#define DISCARD_PATH_MAX   128 /* bytes of a path argument a discarder remembers (the NUL excluded) */
#define DISCARD_PATH_MASK  0x7f
#define DISCARD_ENTRIES    8192
#define DISCARD_MAX_AGE_NS 1000000000ULL /* 1 s */
#define DISCARD_GEN_PROBES 0
#define DISCARD_GEN_USER   1

struct discard_key {
	__u64 start;     /* the dentry the walk starts from */
	__u64 start_mnt; /* its mount */
	__u64 start_ino;
	__u32 start_gen; /* the start inode's i_generation */
	__u32 len;       /* bytes of path */
	char path[DISCARD_PATH_MAX];
};

struct discard_val {
	__u64 gen[2];  /* discard_gen when the walk began */
	__u64 expires; /* bpf_ktime_get_ns() after which it no longer holds */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, DISCARD_ENTRIES);
	__type(key, struct discard_key);
	__type(value, struct discard_val);
} discarders SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} discard_gen SEC(".maps");

/* The key of the lookup in progress and the generations it began at, until the caller has decided. */
struct discard_pending {
	struct discard_key key;
	struct discard_val val;
	__u8 valid; /* the path fits a key: the decision may be remembered */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct discard_pending);
} discard_scratch SEC(".maps");

static __always_inline __u64 discard_generation(__u32 which)
{
	__u64 *g = bpf_map_lookup_elem(&discard_gen, &which);

	return g ? *g : 0;
}

/* discard_bump invalidates every discarder: something happened that may change what a path names or
 * whether it is monitored. */
static __always_inline void discard_bump(void)
{
	__u32 which = DISCARD_GEN_PROBES;
	__u64 *g = bpf_map_lookup_elem(&discard_gen, &which);

	if (g)
		__sync_fetch_and_add(g, 1);
}

/* discard_check builds the key of the path in path (len bytes, read already) walked from start under mnt,
 * and tells whether a discarder holds for it. Until the next check, discard_remember can store it. */
static __always_inline int discard_check(const char *path, __u32 len, struct dentry *start, struct vfsmount *mnt)
{
	__u32 zero = 0;
	struct discard_pending *p = bpf_map_lookup_elem(&discard_scratch, &zero);
	struct discard_val *v;
	struct inode *inode;

	if (!p)
		return 0;
	p->valid = 0;
	if (len >= DISCARD_PATH_MAX)
		return 0;
	__builtin_memset(&p->key, 0, sizeof(p->key));
	inode = BPF_CORE_READ(start, d_inode);
	p->key.start = (__u64)start;
	p->key.start_mnt = (__u64)mnt;
	p->key.start_ino = BPF_CORE_READ(inode, i_ino);
	p->key.start_gen = BPF_CORE_READ(inode, i_generation);
	p->key.len = len;
	if (bpf_probe_read_kernel(p->key.path, BOUND(len, DISCARD_PATH_MASK), path))
		return 0;
	p->val.gen[DISCARD_GEN_PROBES] = discard_generation(DISCARD_GEN_PROBES);
	p->val.gen[DISCARD_GEN_USER] = discard_generation(DISCARD_GEN_USER);
	p->valid = 1;
	v = bpf_map_lookup_elem(&discarders, &p->key);
	return v && v->gen[DISCARD_GEN_PROBES] == p->val.gen[DISCARD_GEN_PROBES] &&
	       v->gen[DISCARD_GEN_USER] == p->val.gen[DISCARD_GEN_USER] && bpf_ktime_get_ns() < v->expires;
}

/* discard_remember stores a discarder for the path of the last check: it was found outside every monitored
 * tree, by the generations the check read before the walk. */
static __always_inline void discard_remember(void)
{
	__u32 zero = 0;
	struct discard_pending *p = bpf_map_lookup_elem(&discard_scratch, &zero);

	if (!p || !p->valid)
		return;
	p->valid = 0;
	p->val.expires = bpf_ktime_get_ns() + DISCARD_MAX_AGE_NS;
	bpf_map_update_elem(&discarders, &p->key, &p->val, BPF_ANY);
}
