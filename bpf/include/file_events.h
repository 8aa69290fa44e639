/* file_events.h: what every file hook does with the file it is about: identify it, decide whether it is
 * monitored (cheap maps first, the path only when needed), and write the record. Include after defining
 * PROBE_SET. */
#pragma once

#include "common.h"
#include "events.h"
#include "inode_set.h"
#include "path.h"
#include "process.h"
#include "writers.h"

/* target is one file a hook is about. */
struct target {
	struct dentry *dentry;
	struct vfsmount *mnt; /* 0 where the hook gives no mount: no path can be read */
	__u64 ino;
	__u64 parent_ino;
	__u32 dev;
	__u32 mode;
	__u32 path_start;
	__u32 path_len;
	__u32 comp_off; /* in_parent: the file's name in lookup_scratch.path */
	__u16 comp_len;
	__u8 in_parent; /* dentry is the file's directory: the file is not in the cache */
	__u8 monitored;
	__u8 flags;
};

/* target_init identifies dentry (positive or not yet) under mount mnt. */
static __always_inline void target_init(struct target *t, struct dentry *dentry, struct vfsmount *mnt)
{
	struct inode *inode = BPF_CORE_READ(dentry, d_inode);
	struct inode *dir = BPF_CORE_READ(dentry, d_parent, d_inode);

	__builtin_memset(t, 0, sizeof(*t));
	t->dentry = dentry;
	t->mnt = mnt;
	t->parent_ino = BPF_CORE_READ(dir, i_ino);
	if (inode) {
		t->dev = inode_dev(inode);
		t->ino = BPF_CORE_READ(inode, i_ino);
		t->mode = BPF_CORE_READ(inode, i_mode);
	} else {
		t->dev = inode_dev(dir);
	}
}

/* target_path reads the target's path into path_scratch (once). */
static __always_inline void target_path(struct target *t)
{
	if (!t->mnt || t->path_len)
		return;
	if (t->in_parent)
		t->path_start = read_child_path(t->dentry, t->mnt, t->comp_off, t->comp_len, &t->path_len, &t->flags);
	else
		t->path_start = read_path(t->dentry, t->mnt, &t->path_len, &t->flags);
}

/* target_decide sets and returns why the target is monitored. */
static __always_inline __u8 target_decide(struct target *t)
{
	t->monitored = decide_by_inode(t->dev, t->ino, t->parent_ino);
	if (t->monitored == NOT_MONITORED && t->mnt && may_match_path()) {
		target_path(t);
		if (prefix_match(t->path_start, t->path_len))
			t->monitored = MONITORED_BY_PATH;
	}
	return t->monitored;
}

/* begin_record_bare starts a record about t without its name; it returns 0 when there is no buffer. The
 * offset of the next variable part is in *off. */
static __always_inline struct scratch *begin_record_bare(struct target *t, __u8 kind, __u16 ext_len, __u32 *off)
{
	struct scratch *s = start_record(kind, PROBE_SET, ext_len);
	struct event_hdr *h;

	if (!s)
		return 0;
	h = (void *)s->buf;
	h->monitored = t->monitored;
	h->flags = t->flags;
	h->dev = t->dev;
	h->ino = t->ino;
	h->parent_ino = t->parent_ino;
	h->mode = t->mode;
	*off = sizeof(*h) + ext_len;
	return s;
}

/* begin_record starts a record about t and writes its name. */
static __always_inline struct scratch *begin_record(struct target *t, __u8 kind, __u16 ext_len, __u32 *off)
{
	struct scratch *s = begin_record_bare(t, kind, ext_len, off);
	struct event_hdr *h;

	if (!s)
		return 0;
	h = (void *)s->buf;
	h->name_len = append_qstr(s, *off, t->dentry);
	*off += h->name_len;
	return s;
}

/* foreign_task tells whether the current task lives in another mount namespace than the host's (a
 * container): the paths it names are not host paths, and only the record can say what they were. */
static __always_inline int foreign_task(void)
{
	__u32 ns;

	if (!host_mntns)
		return 0;
	/* An exiting task has dropped its namespaces before the files it still held are released (the LSM
	 * set's file_release at exit): it has no view of its own, and its path is the host's. */
	ns = task_mntns((struct task_struct *)bpf_get_current_task());
	return ns && ns != host_mntns;
}

/* other_mount tells whether mnt is none of the mounts the monitored paths live on (a bind mount, a second
 * mount of the filesystem): the name the process used is then not the host path. */
static __always_inline int other_mount(struct vfsmount *mnt)
{
	__u32 id;

	if (!mount_count())
		return 0;
	id = BPF_CORE_READ(real_mount(mnt), mnt_id);
	return !bpf_map_lookup_elem(&monitored_mounts, &id);
}

/* append_target_path appends t's path at off and returns its length. It is appended where the record needs
 * it (need: t matched by path, or lies outside every tracked tree) and where the name the process used is not
 * the host's: a task in another mount namespace (a container), or a file reached through another mount. The
 * path is read again here: deciding about another file may have reused the path buffer. */
static __always_inline __u32 append_target_path(struct scratch *s, struct target *t, __u32 off, int need)
{
	struct event_hdr *h = (void *)s->buf;
	int view;

	if (!t->mnt)
		return 0;
	view = foreign_task() || (t->monitored != MONITORED_BY_PATH && other_mount(t->mnt));
	if (!need && !view)
		return 0;
	t->path_len = 0;
	target_path(t);
	h->flags |= t->flags;
	if (view)
		h->flags |= FLAG_PATH_PROCESS_VIEW;
	return append_path(s, off, t->path_start, t->path_len);
}

/* needs_path tells whether a side of a move is one the resolver cannot name from its index: matched by path
 * only, or outside every monitored tree. */
static __always_inline int needs_path(struct target *t)
{
	return t->monitored == NOT_MONITORED || t->monitored == MONITORED_BY_PATH;
}

/* end_record appends the path where the record needs one and submits it. */
static __always_inline void end_record(struct scratch *s, struct target *t, __u32 off, enum hook hook)
{
	struct event_hdr *h = (void *)s->buf;

	h->path_len = append_target_path(s, t, off, t->monitored == MONITORED_BY_PATH);
	submit(s, hook);
}

/* end_move ends a rename or link record: the new side's path (t), then the old side's, each only where the
 * resolver cannot name that side itself. A new side outside every monitored tree is flagged. */
static __always_inline void end_move(struct scratch *s, struct target *t, struct target *old, __u32 off, enum hook hook)
{
	struct event_hdr *h = (void *)s->buf;
	struct ext_move *ext = EXT(s, struct ext_move);
	__u32 n;

	if (t->monitored == NOT_MONITORED)
		h->flags |= FLAG_PATH_OUTSIDE;
	h->path_len = append_target_path(s, t, off, needs_path(t));
	off += h->path_len;
	n = append_target_path(s, old, off, needs_path(old));
	ext->old_path_len = n;
	submit_extra(s, n, hook);
}

/* simple_event reports t with no kind-specific part and no second name. */
static __always_inline void simple_event(struct target *t, __u8 kind, enum hook hook)
{
	__u32 off;
	struct scratch *s = begin_record(t, kind, 0, &off);

	if (s)
		end_record(s, t, off, hook);
}

/* set_name2 appends a kernel string as the record's second name. */
static __always_inline void set_name2_kstr(struct scratch *s, __u32 *off, const char *str)
{
	struct event_hdr *h = (void *)s->buf;

	h->name2_len = append_kstr(s, *off, str);
	*off += h->name2_len;
}

static __always_inline void set_name2_dentry(struct scratch *s, __u32 *off, struct dentry *d)
{
	struct event_hdr *h = (void *)s->buf;

	h->name2_len = append_qstr(s, *off, d);
	*off += h->name2_len;
}

/* report_open reports a file opened for writing or created by the open, and tracks a file created in a
 * tracked directory. Read-only opens are not reported. */
static __always_inline void report_open(struct file *file, enum hook hook)
{
	__u32 fmode = BPF_CORE_READ(file, f_mode);
	__u32 fflags = BPF_CORE_READ(file, f_flags);
	struct target t;
	__u8 kind;

	if (fmode & FMODE_CREATED)
		kind = KIND_CREATION;
	else if ((fmode & FMODE_WRITE) || (fflags & O_TRUNC))
		kind = KIND_OPEN;
	else
		return;
	target_init(&t, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt));
	if (!target_decide(&t)) {
		count(hook, COUNTER_IGNORED);
		return;
	}
	if (kind == KIND_CREATION && t.monitored == MONITORED_BY_PARENT)
		track(t.dev, t.ino);
	simple_event(&t, kind, hook);
	if (fmode & FMODE_WRITE)
		writer_opened(file, t.dev, t.ino, t.monitored);
}
