/* path.h: reading a path by walking dentries and mounts (bpf_d_path is not allowed from most hooks), and the
 * prefix trie of configured paths, matched on whole components. */
#pragma once

#include "common.h"
#include "maps.h"
#include "process.h"

/* The trie holds each configured prefix with a trailing '/' ("/etc/"); a path is looked up with a '/'
 * appended, so "/etc" and "/etc/passwd" match "/etc/" and "/etc-old" does not. */
struct prefix_key {
	__u32 prefixlen; /* in bits */
	__u8 data[PREFIX_MAX_LEN + 1];
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1024);
	__type(key, struct prefix_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} prefixes SEC(".maps");

/* path_walk is the state of one walk, written backwards from the end of path_scratch.buf. */
struct path_walk {
	struct dentry *dentry;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u32 off;       /* where the path written so far starts */
	__u32 truncated; /* the walk ran out of room or depth */
};

static __always_inline struct path_scratch *path_buf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&path_scratch, &zero);
}

static __always_inline struct mount *real_mount(struct vfsmount *vfsmnt)
{
	return (void *)((char *)vfsmnt - bpf_core_field_offset(struct mount, mnt));
}

/* path_step prepends one component, or crosses one mount, and returns 1 when the walk is over. */
static long path_step(__u32 i, struct path_walk *w)
{
	struct dentry *d = w->dentry;
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct mount *mnt = w->mnt;
	struct dentry *parent;
	struct path_scratch *pb;
	struct qstr q;
	__u32 len;

	if (d == w->root_dentry && vfsmnt == w->root_mnt)
		return 1;
	if (d == BPF_CORE_READ(vfsmnt, mnt_root)) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (!up || up == mnt)
			return 1;
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		w->vfsmnt = (void *)((char *)up + bpf_core_field_offset(struct mount, mnt));
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (!parent || parent == d)
		return 1;
	q = BPF_CORE_READ(d, d_name);
	len = q.len;
	if (len > NAME_MAX_LEN || len + 1 > w->off) {
		w->truncated = 1;
		return 1;
	}
	pb = path_buf();
	if (!pb)
		return 1;
	w->off -= len;
	bpf_probe_read_kernel(&pb->buf[BOUND(w->off, PATH_MASK)], BOUND(len, NAME_MASK), q.name);
	w->off -= 1;
	pb->buf[BOUND(w->off, PATH_MASK)] = '/';
	w->dentry = parent;
	return 0;
}

#define READ_PATH_TRUNCATED (1 << 16)

/* read_path_global writes the path of (dentry, vfsmnt), as the current task sees it, into path_scratch and
 * returns its start offset there, with READ_PATH_TRUNCATED set when the walk ran out of room or depth. It is
 * a global function so that the verifier checks the walk once, not once for every place a program reads a
 * path (a rename reads up to three). */
__noinline int read_path_global(__u64 dentry_addr, __u64 vfsmnt_addr)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct vfsmount *vfsmnt = (struct vfsmount *)vfsmnt_addr;
	struct path_walk w = {
		.dentry = (struct dentry *)dentry_addr,
		.vfsmnt = vfsmnt,
		.mnt = real_mount(vfsmnt),
		.root_dentry = BPF_CORE_READ(task, fs, root.dentry),
		.root_mnt = BPF_CORE_READ(task, fs, root.mnt),
		.off = PATH_MAX_LEN,
	};
	struct path_scratch *pb;
	int truncated;

	bpf_loop(PATH_MAX_DEPTH, path_step, &w, 0);
	truncated = w.truncated || w.off == 0;
	if (w.off == PATH_MAX_LEN) { /* the root itself */
		pb = path_buf();
		if (pb) {
			w.off -= 1;
			pb->buf[BOUND(w.off, PATH_MASK)] = '/';
		}
	}
	return (w.off & PATH_MASK) | (truncated ? READ_PATH_TRUNCATED : 0);
}

/* as_scalar is a kernel pointer as a plain number: a global function takes only those, and the LSM set's
 * hook arguments are typed (BTF) pointers, which a cast does not change. */
static __always_inline __u64 as_scalar(const void *ptr)
{
	__u64 v = 0;

	bpf_probe_read_kernel(&v, sizeof(v), &ptr);
	return v;
}

/* read_path writes the path of (dentry, vfsmnt) into path_scratch and returns its start offset there; *len
 * gets its length. */
static __always_inline __u32 read_path(struct dentry *dentry, struct vfsmount *vfsmnt, __u32 *len, __u8 *flags)
{
	int r = read_path_global(as_scalar(dentry), as_scalar(vfsmnt));
	__u32 start = r & PATH_MASK;

	if (r & READ_PATH_TRUNCATED)
		*flags |= FLAG_PATH_TRUNCATED;
	if (start > PATH_MAX_LEN)
		start = PATH_MAX_LEN;
	*len = PATH_MAX_LEN - start;
	return start;
}

/* prefix_match looks up the path at start (len bytes) in the trie. */
static __always_inline int prefix_match(__u32 start, __u32 len)
{
	struct path_scratch *pb = path_buf();
	__u32 n = len;

	if (!pb)
		return 0;
	if (n > PREFIX_MAX_LEN - 1)
		n = PREFIX_MAX_LEN - 1;
	bpf_probe_read_kernel(pb->key.data, BOUND(n, NAME_MASK), &pb->buf[BOUND(start, PATH_MASK)]);
	pb->key.data[BOUND(n, NAME_MASK)] = '/';
	pb->key.prefixlen = (n + 1) * 8;
	return bpf_map_lookup_elem(&prefixes, &pb->key) != 0;
}

/* may_match_path tells whether it is worth building a path to compare with the prefixes: there are some,
 * and the task sees the host's mount namespace (a container's paths are not the host's). */
static __always_inline int may_match_path(void)
{
	if (!prefix_count())
		return 0;
	if (host_mntns && task_mntns((struct task_struct *)bpf_get_current_task()) != host_mntns)
		return 0;
	return 1;
}

/* append_path copies the path at start (len bytes) from path_scratch into the record at off. */
static __always_inline __u32 append_path(struct scratch *s, __u32 off, __u32 start, __u32 len)
{
	struct path_scratch *pb = path_buf();

	if (!pb)
		return 0;
	if (bpf_probe_read_kernel(&s->buf[BOUND(off, OFF_MASK)], BOUND(len, PATH_MASK), &pb->buf[BOUND(start, PATH_MASK)]))
		return 0;
	return len & PATH_MASK;
}

/* read_child_path writes the path of the name at comp_off (comp_len bytes) of lookup_scratch.path inside
 * directory (dir, mnt) into path_scratch, for a file the cache no longer (or not yet) has. */
static __always_inline __u32 read_child_path(struct dentry *dir, struct vfsmount *mnt, __u32 comp_off, __u32 comp_len,
					     __u32 *len, __u8 *flags)
{
	__u32 start = read_path(dir, mnt, len, flags);
	struct path_scratch *pb = path_buf();
	struct lookup_scratch *ls = lookup_buf();
	__u32 end = PATH_MAX_LEN;

	if (!pb || !ls)
		return start;
	if (*len > 1) {
		pb->buf[BOUND(end, 0x1fff)] = '/';
		end++;
	}
	bpf_probe_read_kernel(&pb->buf[BOUND(end, 0x1fff)], BOUND(comp_len, NAME_MASK), &ls->path[BOUND(comp_off, PATH_MASK)]);
	*len = end + comp_len - start;
	if (*len > PATH_MAX_LEN) {
		*len = PATH_MAX_LEN;
		*flags |= FLAG_PATH_TRUNCATED;
	}
	return start;
}
