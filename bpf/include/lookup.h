/* lookup.h: resolving a path argument of a system call to dentries, for probes that only see the call's
 * arguments (tracepoints). It walks the dentry cache from the directory fd, the task's cwd or its root,
 * component by component, crossing mounts; it never takes locks and never sleeps, so it finds only what the
 * dentry cache holds (a file the call itself just created or looked up is always there). */
#pragma once

#include "common.h"
#include "discard.h"
#include "path.h"
#include "process.h"

#define LOOKUP_MAX_COMPONENTS 40  /* components of one path argument */
#define LOOKUP_MAX_CHILDREN   1024 /* children of one directory scanned for a name (newest first) */
#define LOOKUP_MAX_MOUNTS     64   /* mounts scanned to cross one mount point */
#define AT_FDCWD              -100
#define MAX_SLASHES           8    /* consecutive '/' between two components */

/* Where a dentry keeps its children: an hlist d_children linked through d_sib since 6.8, a list_head
 * d_subdirs linked through d_child before. The loader reads the kernel's layout from its BTF and sets these
 * before load, so no relocation names a field the running kernel lacks. */
const volatile __u32 dentry_children_hlist = 1; /* 1: hlist (6.8 and later), 0: list_head */
const volatile __u32 dentry_children_off = 0;   /* offset of d_children or d_subdirs in struct dentry */
const volatile __u32 dentry_sibling_off = 0;    /* offset of d_sib or d_child in struct dentry */

enum lookup_status {
	LOOKUP_FOUND = 0,     /* dentry is the file */
	LOOKUP_MISSING_LAST,  /* the directory exists, the last component does not (in the cache) */
	LOOKUP_FAILED,        /* an intermediate directory was not found, or the path was unusable */
	LOOKUP_SYMLINK,       /* an intermediate component is a symlink: not followed */
	LOOKUP_DISCARDED,     /* not walked: a discarder says the path is outside every monitored tree */
};

/* lookup is the state and result of one resolution. */
struct lookup {
	struct dentry *dentry;   /* the file (LOOKUP_FOUND) */
	struct dentry *parent;   /* the directory holding the last component */
	struct vfsmount *mnt;    /* the mount of parent (and of dentry) */
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
	__u32 pos;      /* next byte of the path to read */
	__u32 len;      /* bytes of the path */
	__u32 name_off; /* the last component in lookup_scratch.path */
	__u32 name_len;
	__u8 status;
	__u8 done;
	__u8 discard_checked; /* a discarder was looked for: discard_remember may store one */
	/* finding the next component: skip slashes, read the name, skip the slashes after it */
	__u32 scan_pos;   /* the byte looked at */
	__u32 scan_start; /* the component's first byte */
	__u32 scan_end;   /* one past its last byte */
	__u8 scan_phase;  /* 0: before the name, 1: in it, 2: after it */
};

/* The walk's state lives here, not on the stack: older verifiers allow 512 bytes for a handler and all the
 * callbacks below it. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lookup);
} lookup_state SEC(".maps");

static __always_inline struct lookup *walk_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lookup_state, &zero);
}

/* child_scan is the state of scanning one directory's children for a name. */
struct child_scan {
	void *node;    /* the next list node (hlist_node or list_head) */
	void *head;    /* the list head, for list_head lists */
	struct dentry *found;
	__u32 off;     /* the name in lookup_scratch.path */
	__u32 len;
};

/* name_cmp is the state of comparing the candidate name in cand with path[off, off+len). */
struct name_cmp {
	__u32 off;
	__u32 len;
	int equal;
};

/* word_equal compares the eight bytes at k of both names, as far as len reaches. */
static __always_inline int word_equal(struct lookup_scratch *ls, __u32 off, __u32 len, __u32 k)
{
	__u64 a, b, mask = ~0ULL;

	__builtin_memcpy(&a, &ls->cand[BOUND(k, NAME_MASK)], sizeof(a));
	__builtin_memcpy(&b, &ls->path[BOUND(off + k, PATH_MASK)], sizeof(b));
	if (len - k < 8)
		mask = (1ULL << ((len - k) * 8)) - 1;
	return !((a ^ b) & mask);
}

/* word_step compares the eight bytes after the first w + 1 words; it returns 1 when the comparison is
 * over. A loop callback, so that the verifier checks one word, not every word of the longest name. */
static long word_step(__u32 w, void *ctx)
{
	struct name_cmp *nc = ctx;
	struct lookup_scratch *ls = lookup_buf();
	__u32 k = (w + 1) * 8;

	if (k >= nc->len)
		return 1;
	if (!ls || !word_equal(ls, nc->off, nc->len, k)) {
		nc->equal = 0;
		return 1;
	}
	return 0;
}

/* names_equal compares the candidate name in cand with path[off, off+len). The first word is compared
 * here, which settles most candidates (and every name of up to eight bytes) without the loop. */
static __always_inline int names_equal(struct lookup_scratch *ls, __u32 off, __u32 len)
{
	struct name_cmp nc = {.off = off, .len = len, .equal = 1};

	if (!word_equal(ls, off, len, 0))
		return 0;
	if (len <= 8)
		return 1;
	bpf_loop((NAME_MAX_LEN + 1) / 8 - 1, word_step, &nc, 0);
	return nc.equal;
}

static __always_inline struct dentry *child_of_node(void *node)
{
	return (void *)((char *)node - dentry_sibling_off);
}

/* next_node follows a list node; both list kinds keep "next" first. */
static __always_inline void *next_node(struct child_scan *cs, void *node)
{
	void *next = 0;

	bpf_probe_read_kernel(&next, sizeof(next), node);
	return next == cs->head ? 0 : next;
}

/* child_step looks at one child; it returns 1 when the scan is over. */
static long child_step(__u32 i, void *ctx)
{
	struct child_scan *cs = ctx;
	struct lookup_scratch *ls;
	struct dentry *child;

	if (!cs->node)
		return 1;
	child = child_of_node(cs->node);
	cs->node = next_node(cs, cs->node);
	if (BPF_CORE_READ(child, d_name.len) != cs->len || !BPF_CORE_READ(child, d_inode))
		return 0;
	ls = lookup_buf();
	if (!ls)
		return 1;
	bpf_probe_read_kernel(ls->cand, BOUND(cs->len, NAME_MASK), BPF_CORE_READ(child, d_name.name));
	if (!names_equal(ls, cs->off, cs->len))
		return 0;
	cs->found = child;
	return 1;
}

/* find_child returns the positive child of dir named by path[off, off+len), or 0. */
static __always_inline struct dentry *find_child(struct dentry *dir, __u32 off, __u32 len)
{
	struct child_scan cs = {.off = off, .len = len};
	void *head = (char *)dir + dentry_children_off;

	if (!dentry_sibling_off)
		return 0;
	if (!dentry_children_hlist)
		cs.head = head; /* a list_head: the list ends where it began */
	cs.node = next_node(&cs, head);
	bpf_loop(LOOKUP_MAX_CHILDREN, child_step, &cs, 0);
	return cs.found;
}

/* mount_scan finds the mount whose mount point is dentry among the children of a mount. */
struct mount_scan {
	struct list_head *node;
	struct list_head *head;
	struct dentry *mountpoint;
	struct mount *found;
};

static long mount_step(__u32 i, void *ctx)
{
	struct mount_scan *ms = ctx;
	struct list_head *node = ms->node;
	struct mount *m;

	if (!node || node == ms->head)
		return 1;
	m = (void *)((char *)node - bpf_core_field_offset(struct mount, mnt_child));
	ms->node = BPF_CORE_READ(node, next);
	if (BPF_CORE_READ(m, mnt_mountpoint) == ms->mountpoint) {
		ms->found = m; /* the last one mounted there is on top: keep looking */
	}
	return 0;
}

/* dcache_mounted is the d_flags bit of a mount point: bit 16 while it was a macro, bit 15 since d_flags
 * became enum dentry_flags (6.14); CO-RE reads the running kernel's value where the enum exists. */
static __always_inline __u32 dcache_mounted(void)
{
	if (bpf_core_enum_value_exists(enum dentry_flags, DCACHE_MOUNTED))
		return bpf_core_enum_value(enum dentry_flags, DCACHE_MOUNTED);
	return 0x00010000;
}

/* cross_mount moves l onto what is mounted on dentry, if anything. */
static __always_inline struct dentry *cross_mount(struct lookup *l, struct dentry *dentry)
{
	struct mount *mnt = real_mount(l->mnt);
	struct mount_scan ms = {.mountpoint = dentry};

	if (!(BPF_CORE_READ(dentry, d_flags) & dcache_mounted()))
		return dentry;
	ms.head = __builtin_preserve_access_index(&mnt->mnt_mounts);
	ms.node = BPF_CORE_READ(mnt, mnt_mounts.next);
	bpf_loop(LOOKUP_MAX_MOUNTS, mount_step, &ms, 0);
	if (!ms.found)
		return dentry;
	l->mnt = (void *)((char *)ms.found + bpf_core_field_offset(struct mount, mnt));
	return READ_VIA(l->mnt, mnt_root);
}

/* go_up moves l->parent to its parent directory ("..") within the task's root. */
static __always_inline void go_up(struct lookup *l)
{
	struct dentry *d = l->parent;
	struct vfsmount *vfsmnt = l->mnt;
	struct mount *mnt;

	if (d == l->root_dentry && vfsmnt == l->root_mnt)
		return;
	if (d == BPF_CORE_READ(vfsmnt, mnt_root)) {
		mnt = real_mount(vfsmnt);
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

		if (!up || up == mnt)
			return;
		d = BPF_CORE_READ(mnt, mnt_mountpoint);
		l->mnt = (void *)((char *)up + bpf_core_field_offset(struct mount, mnt));
	}
	l->parent = BPF_CORE_READ(d, d_parent);
}

/* scan_step looks at one byte of the path for the next component. Its state is in lookup_state, not in the
 * loop's context: verifiers before 6.7 check a callback for its first call only, and would take the phase's
 * starting value for the only one, dropping the other branches as dead. */
static long scan_step(__u32 i, void *ctx)
{
	struct lookup *l = walk_state();
	struct lookup_scratch *ls = lookup_buf();
	char c;

	if (!l || !ls || l->scan_pos >= l->len)
		return 1;
	c = ls->path[BOUND(l->scan_pos, PATH_MASK)];
	if (l->scan_phase == 0 && c != '/') {
		l->scan_phase = 1;
		l->scan_start = l->scan_pos;
	} else if (l->scan_phase == 1 && c == '/') {
		l->scan_phase = 2;
		l->scan_end = l->scan_pos;
	} else if (l->scan_phase == 2 && c != '/') {
		return 1;
	}
	l->scan_pos++;
	return 0;
}

/* component_step resolves one component of the path; it returns 1 when the walk is over. */
static long component_step(__u32 i, void *ctx)
{
	struct lookup *l = walk_state();
	struct lookup_scratch *ls = lookup_buf();
	struct dentry *child;
	__u32 start;

	if (!ls || !l)
		return 1;
	l->scan_pos = l->pos;
	l->scan_phase = 0;
	l->scan_start = 0;
	l->scan_end = 0;
	bpf_loop(NAME_MAX_LEN + 2 * MAX_SLASHES, scan_step, &i, 0);
	if (l->scan_phase == 0) { /* only slashes were left: the last component was the previous one */
		l->done = 1;
		return 1;
	}
	if (l->scan_phase == 1) {
		if (l->scan_pos < l->len) { /* longer than a name can be */
			l->status = LOOKUP_FAILED;
			return 1;
		}
		l->scan_end = l->scan_pos;
	}
	start = l->scan_start;
	l->pos = l->scan_pos;
	l->name_off = start;
	l->name_len = l->scan_end - start;
	if (l->name_len > NAME_MAX_LEN) {
		l->status = LOOKUP_FAILED;
		return 1;
	}
	if (l->scan_pos >= l->len) { /* the last component: stop before it, the caller decides */
		l->done = 1;
		return 1;
	}
	if (l->name_len == 1 && ls->path[BOUND(start, PATH_MASK)] == '.')
		return 0;
	if (l->name_len == 2 && ls->path[BOUND(start, PATH_MASK)] == '.' && ls->path[BOUND(start + 1, PATH_MASK)] == '.') {
		go_up(l);
		return 0;
	}
	child = find_child(l->parent, start, l->name_len);
	if (!child) {
		l->status = LOOKUP_FAILED;
		return 1;
	}
	if ((BPF_CORE_READ(child, d_inode, i_mode) & S_IFMT) == S_IFLNK) {
		l->status = LOOKUP_SYMLINK;
		return 1;
	}
	l->parent = cross_mount(l, child);
	return 0;
}

/* fd_file returns the struct file of the current task's descriptor fd. */
static __always_inline struct file *fd_file(int fd)
{
	return task_file((struct task_struct *)bpf_get_current_task(), fd);
}

/* lookup_walk resolves the user path upath relative to dirfd and fills l; l->status says how far it got.
 * With may_discard, a path a discarder holds for is not walked (LOOKUP_DISCARDED). */
static __always_inline void lookup_walk(struct lookup *l, int dirfd, const char *upath, int may_discard)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct lookup_scratch *ls = lookup_buf();
	long n;

	if (!ls)
		return;
	n = bpf_probe_read_user_str(ls->path, PATH_MASK + 1, upath);
	if (n <= 1)
		return;
	l->len = n - 1;
	l->root_dentry = BPF_CORE_READ(task, fs, root.dentry);
	l->root_mnt = BPF_CORE_READ(task, fs, root.mnt);
	if (ls->path[0] == '/') {
		l->parent = l->root_dentry;
		l->mnt = l->root_mnt;
	} else if (dirfd == AT_FDCWD) {
		l->parent = BPF_CORE_READ(task, fs, pwd.dentry);
		l->mnt = BPF_CORE_READ(task, fs, pwd.mnt);
	} else {
		struct file *f = fd_file(dirfd);

		if (!f)
			return;
		l->parent = BPF_CORE_READ(f, f_path.dentry);
		l->mnt = BPF_CORE_READ(f, f_path.mnt);
	}
	if (may_discard) {
		l->discard_checked = 1;
		if (discard_check(ls->path, l->len, l->parent, l->mnt)) {
			l->status = LOOKUP_DISCARDED;
			return;
		}
	}
	l->status = LOOKUP_FOUND;
	bpf_loop(LOOKUP_MAX_COMPONENTS, component_step, &dirfd, 0); /* the state is in lookup_state */
	if (l->status != LOOKUP_FOUND || !l->done || !l->name_len) {
		if (l->status == LOOKUP_FOUND)
			l->status = LOOKUP_FAILED;
		return;
	}
	l->dentry = find_child(l->parent, l->name_off, l->name_len);
	if (!l->dentry)
		l->status = LOOKUP_MISSING_LAST;
}

/* A global function, so that the verifier checks the walk once, not at every call. */
__noinline int lookup_path_global(int dirfd, __u64 upath_addr, int may_discard)
{
	struct lookup *l = walk_state();

	if (!l)
		return 0;
	__builtin_memset(l, 0, sizeof(*l));
	l->status = LOOKUP_FAILED;
	lookup_walk(l, dirfd, (const char *)upath_addr, may_discard);
	return 0;
}

/* lookup_path resolves upath relative to dirfd; the result, in this CPU's lookup_state, is valid until the
 * next lookup (0 only if the state cannot be had). */
static __always_inline struct lookup *lookup_path(int dirfd, const char *upath)
{
	lookup_path_global(dirfd, (__u64)upath, 0);
	return walk_state();
}

/* lookup_or_discard is lookup_path for a caller that needs nothing of a file outside every monitored tree:
 * a path a discarder holds for ends as LOOKUP_DISCARDED, unwalked. Once the caller has found a walked path
 * outside, lookup_discard makes a discarder of it. */
static __always_inline struct lookup *lookup_or_discard(int dirfd, const char *upath)
{
	lookup_path_global(dirfd, (__u64)upath, 1);
	return walk_state();
}

/* lookup_discard remembers that the path of l, walked, lies outside every monitored tree. */
static __always_inline void lookup_discard(struct lookup *l)
{
	if (l && l->discard_checked && (l->status == LOOKUP_FOUND || l->status == LOOKUP_MISSING_LAST))
		discard_remember();
}
