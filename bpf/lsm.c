//go:build ignore

// SPDX-License-Identifier: GPL-2.0
/* lsm.c: the probe set on BPF-LSM hooks. Every program observes and returns 0: nothing is ever denied. */

#define PROBE_SET PROBE_LSM

#include "include/common.h"
#include "include/file_events.h"
#include "include/stash.h"
#include "include/proc_events.h"

char LICENSE[] SEC("license") = "GPL";

SEC("lsm/file_open")
int BPF_PROG(file_open, struct file *file)
{
	count(HOOK_FILE_OPEN, COUNTER_TOTAL);
	report_open(file, HOOK_FILE_OPEN);
	return 0;
}

/* file_release and fput_final report the last release of a file opened for writing (report_closes): the
 * loader keeps file_release where the kernel has the hook (6.8 on) and fput_final, on the final put that
 * calls it, elsewhere. */
SEC("lsm/file_release")
int BPF_PROG(file_release, struct file *file)
{
	count(HOOK_FILE_RELEASE, COUNTER_TOTAL);
	report_release(file, HOOK_FILE_RELEASE);
	return 0;
}

SEC("fentry/__fput")
int BPF_PROG(fput_final, struct file *file)
{
	count(HOOK_FILE_RELEASE, COUNTER_TOTAL);
	report_release(file, HOOK_FILE_RELEASE);
	return 0;
}

/* stash_new keeps a new dentry's context until d_instantiate gives it an inode. */
static __always_inline void stash_new(const struct path *dir, struct dentry *dentry, __u8 kind, const char *target,
				      enum hook hook)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct stash st = {};
	struct target t;

	count(hook, COUNTER_TOTAL);
	target_init(&t, dentry, BPF_CORE_READ(dir, mnt));
	if (!target_decide(&t)) {
		bpf_map_delete_elem(&stashes, &id); /* no older stash of this thread can be completed now */
		count(hook, COUNTER_IGNORED);
		return;
	}
	st.dentry = dentry;
	st.mnt = t.mnt;
	st.target = target;
	st.parent_ino = t.parent_ino;
	st.dev = t.dev;
	st.kind = kind;
	st.monitored = t.monitored;
	st.flags = t.flags;
	if (bpf_map_update_elem(&stashes, &id, &st, BPF_ANY))
		count(hook, COUNTER_ERROR);
}

SEC("lsm/path_mkdir")
int BPF_PROG(path_mkdir, const struct path *dir, struct dentry *dentry, umode_t mode)
{
	stash_new(dir, dentry, KIND_MKDIR, 0, HOOK_PATH_MKDIR);
	return 0;
}

SEC("lsm/path_symlink")
int BPF_PROG(path_symlink, const struct path *dir, struct dentry *dentry, const char *old_name)
{
	stash_new(dir, dentry, KIND_SYMLINK, old_name, HOOK_PATH_SYMLINK);
	return 0;
}

/* mknod_syscall tells mknod(2) from open(O_CREAT), which passes through path_mknod too (may_o_create) and
 * is reported by file_open. */
static __always_inline int mknod_syscall(void)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	long nr = BPF_CORE_READ(regs, orig_ax);

	return nr == NR_MKNOD || nr == NR_MKNODAT;
}

SEC("lsm/path_mknod")
int BPF_PROG(path_mknod, const struct path *dir, struct dentry *dentry, umode_t mode, unsigned int dev)
{
	__u32 type = mode & S_IFMT;

	if (type != 0 && type != S_IFREG)
		return 0; /* devices, fifos and sockets are not files users watch */
	if (!mknod_syscall())
		return 0;
	stash_new(dir, dentry, KIND_CREATION, 0, HOOK_PATH_MKNOD);
	return 0;
}

/* completion_counter names the d_instantiate counter of a stashed kind. */
static __always_inline enum counter completion_counter(__u8 kind)
{
	if (kind == KIND_MKDIR)
		return COUNTER_MKDIR;
	if (kind == KIND_SYMLINK)
		return COUNTER_SYMLINK;
	return COUNTER_MKNOD;
}

SEC("lsm/d_instantiate")
int BPF_PROG(d_instantiate, struct dentry *dentry, struct inode *inode)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct stash *found = bpf_map_lookup_elem(&stashes, &id);
	struct stash st;
	struct target t;
	__u32 off;
	struct scratch *s;

	if (!found)
		return 0;
	count(HOOK_D_INSTANTIATE, COUNTER_TOTAL);
	if (found->dentry != dentry) {
		count(HOOK_D_INSTANTIATE, COUNTER_IGNORED); /* another dentry of this thread (e.g. a lower layer) */
		return 0;
	}
	st = *found;
	bpf_map_delete_elem(&stashes, &id);
	if (!inode) {
		count(HOOK_D_INSTANTIATE, COUNTER_ERROR);
		return 0;
	}
	count(HOOK_D_INSTANTIATE, completion_counter(st.kind));
	target_init(&t, dentry, st.mnt);
	t.ino = BPF_CORE_READ(inode, i_ino);
	t.mode = BPF_CORE_READ(inode, i_mode);
	t.dev = inode_dev(inode);
	t.parent_ino = st.parent_ino;
	t.monitored = st.monitored;
	t.flags = st.flags;
	if (st.monitored == MONITORED_BY_PARENT)
		track(t.dev, t.ino); /* the seed: a new directory in a tracked one is tracked at once */
	s = begin_record(&t, st.kind, 0, &off);
	if (!s)
		return 0;
	if (st.target)
		set_name2_kstr(s, &off, st.target);
	end_record(s, &t, off, HOOK_D_INSTANTIATE);
	return 0;
}

SEC("lsm/path_link")
int BPF_PROG(path_link, struct dentry *old_dentry, const struct path *new_dir, struct dentry *new_dentry)
{
	struct target old, t;
	struct ext_move *ext;
	struct scratch *s;
	__u32 off;

	count(HOOK_PATH_LINK, COUNTER_TOTAL);
	target_init(&old, old_dentry, BPF_CORE_READ(new_dir, mnt));
	target_init(&t, new_dentry, BPF_CORE_READ(new_dir, mnt));
	t.ino = old.ino;
	t.mode = old.mode;
	old.monitored = decide_by_inode(old.dev, old.ino, old.parent_ino);
	if (!target_decide(&t) && !old.monitored) {
		count(HOOK_PATH_LINK, COUNTER_IGNORED);
		return 0;
	}
	if (is_tracked(t.dev, t.parent_ino))
		track(t.dev, t.ino);
	s = begin_record(&t, KIND_LINK, sizeof(*ext), &off);
	if (!s)
		return 0;
	ext = EXT(s, struct ext_move);
	ext->old_parent_ino = old.parent_ino;
	ext->old_monitored = old.monitored;
	set_name2_dentry(s, &off, old_dentry);
	end_move(s, &t, &old, off, HOOK_PATH_LINK);
	return 0;
}

SEC("lsm/path_unlink")
int BPF_PROG(path_unlink, const struct path *dir, struct dentry *dentry)
{
	struct target t;
	struct ext_unlink *ext;
	struct scratch *s;
	__u32 nlink, off;

	count(HOOK_PATH_UNLINK, COUNTER_TOTAL);
	target_init(&t, dentry, BPF_CORE_READ(dir, mnt));
	if ((t.mode & S_IFMT) == S_IFDIR) {
		count(HOOK_PATH_UNLINK, COUNTER_IGNORED); /* the hook runs before the kernel's EISDIR */
		return 0;
	}
	if (!target_decide(&t)) {
		count(HOOK_PATH_UNLINK, COUNTER_IGNORED);
		return 0;
	}
	nlink = BPF_CORE_READ(dentry, d_inode, i_nlink);
	if (nlink <= 1)
		untrack(t.dev, t.ino);
	s = begin_record(&t, KIND_UNLINK, sizeof(*ext), &off);
	if (!s)
		return 0;
	ext = EXT(s, struct ext_unlink);
	ext->nlink = nlink;
	end_record(s, &t, off, HOOK_PATH_UNLINK);
	return 0;
}

SEC("lsm/path_rmdir")
int BPF_PROG(path_rmdir, const struct path *dir, struct dentry *dentry)
{
	struct target t;

	count(HOOK_PATH_RMDIR, COUNTER_TOTAL);
	target_init(&t, dentry, BPF_CORE_READ(dir, mnt));
	if (!target_decide(&t)) {
		count(HOOK_PATH_RMDIR, COUNTER_IGNORED);
		return 0;
	}
	untrack(t.dev, t.ino);
	simple_event(&t, KIND_RMDIR, HOOK_PATH_RMDIR);
	return 0;
}

/* rename_track keeps the tracked set right after a rename: what lands in a tracked directory is tracked,
 * what leaves the tracked tree is not, and a replaced target that loses its last link is forgotten. */
static __always_inline void rename_track(struct target *src, struct target *dst, __u64 dst_ino, int exchange)
{
	struct dentry *dst_dentry = dst->dentry;

	if (is_tracked(dst->dev, dst->parent_ino))
		track(dst->dev, src->ino);
	else
		untrack(dst->dev, src->ino);
	if (!dst_ino)
		return;
	if (exchange) {
		if (is_tracked(src->dev, src->parent_ino))
			track(src->dev, dst_ino);
		else
			untrack(src->dev, dst_ino);
	} else if (BPF_CORE_READ(dst_dentry, d_inode, i_nlink) <= 1) {
		untrack(dst->dev, dst_ino);
	}
}

SEC("lsm/path_rename")
int BPF_PROG(path_rename, const struct path *old_dir, struct dentry *old_dentry, const struct path *new_dir,
	     struct dentry *new_dentry, unsigned int flags)
{
	struct target src, dst;
	struct ext_move *ext;
	struct scratch *s;
	__u64 dst_ino;
	__u32 off;
	int exchange = flags & RENAME_EXCHANGE;

	count(HOOK_PATH_RENAME, COUNTER_TOTAL);
	target_init(&src, old_dentry, BPF_CORE_READ(old_dir, mnt));
	target_init(&dst, new_dentry, BPF_CORE_READ(new_dir, mnt));
	dst_ino = dst.ino;
	dst.ino = 0; /* the destination side is judged by its directory and its path */
	target_decide(&dst);
	target_decide(&src);
	dst.ino = src.ino;
	dst.mode = src.mode;
	if (!src.monitored && !dst.monitored) {
		count(HOOK_PATH_RENAME, COUNTER_IGNORED);
		return 0;
	}
	rename_track(&src, &dst, dst_ino, exchange);
	if (exchange)
		dst.flags |= FLAG_RENAME_EXCHANGE;
	else if (dst_ino)
		dst.flags |= FLAG_RENAME_REPLACE;
	s = begin_record(&dst, KIND_RENAME, sizeof(*ext), &off);
	if (!s)
		return 0;
	ext = EXT(s, struct ext_move);
	ext->old_parent_ino = src.parent_ino;
	ext->target_ino = dst_ino;
	ext->old_monitored = src.monitored;
	set_name2_dentry(s, &off, old_dentry);
	end_move(s, &dst, &src, off, HOOK_PATH_RENAME);
	return 0;
}

/* attr_target identifies the file of a path hook and decides; 0 means not monitored. */
static __always_inline int attr_target(struct target *t, const struct path *path, enum hook hook)
{
	count(hook, COUNTER_TOTAL);
	target_init(t, BPF_CORE_READ(path, dentry), BPF_CORE_READ(path, mnt));
	if (!target_decide(t)) {
		count(hook, COUNTER_IGNORED);
		return 0;
	}
	return 1;
}

SEC("lsm/path_chmod")
int BPF_PROG(path_chmod, const struct path *path, umode_t mode)
{
	struct target t;
	struct ext_mode *ext;
	struct scratch *s;
	__u32 off;

	if (!attr_target(&t, path, HOOK_PATH_CHMOD))
		return 0;
	s = begin_record(&t, KIND_PERMISSION, sizeof(*ext), &off);
	if (!s)
		return 0;
	ext = EXT(s, struct ext_mode);
	ext->mode = mode;
	ext->old_mode = t.mode;
	end_record(s, &t, off, HOOK_PATH_CHMOD);
	return 0;
}

SEC("lsm/path_chown")
int BPF_PROG(path_chown, const struct path *path, unsigned long uid, unsigned long gid)
{
	struct target t;
	struct ext_owner *ext;
	struct scratch *s;
	struct inode *inode;
	__u32 off;

	if (!attr_target(&t, path, HOOK_PATH_CHOWN))
		return 0;
	s = begin_record(&t, KIND_OWNERSHIP, sizeof(*ext), &off);
	if (!s)
		return 0;
	inode = BPF_CORE_READ(path, dentry, d_inode);
	ext = EXT(s, struct ext_owner);
	ext->uid = (__u32)uid;
	ext->gid = (__u32)gid;
	ext->old_uid = BPF_CORE_READ(inode, i_uid.val);
	ext->old_gid = BPF_CORE_READ(inode, i_gid.val);
	end_record(s, &t, off, HOOK_PATH_CHOWN);
	return 0;
}

/* xattr_event reports a change of an attribute called name on dentry (no mount: no path). */
static __always_inline void xattr_event(struct dentry *dentry, const char *name, __u8 kind, enum hook hook)
{
	struct target t;
	struct scratch *s;
	__u32 off;

	count(hook, COUNTER_TOTAL);
	target_init(&t, dentry, 0);
	if (!target_decide(&t)) {
		count(hook, COUNTER_IGNORED);
		return;
	}
	s = begin_record(&t, kind, 0, &off);
	if (!s)
		return;
	set_name2_kstr(s, &off, name);
	end_record(s, &t, off, hook);
}

/* is_acl_name tells a POSIX ACL attribute ("system.posix_acl_access", "..._default") from others: before
 * 6.2 ACLs are set through setxattr, later through inode_set_acl. */
static __always_inline int is_acl_name(const char *name)
{
	char buf[18] = {};

	bpf_probe_read_kernel_str(buf, sizeof(buf), name);
	return buf[0] == 's' && buf[6] == '.' && buf[7] == 'p' && buf[12] == '_' && buf[13] == 'a' && buf[14] == 'c' &&
	       buf[15] == 'l' && buf[16] == '_';
}

SEC("lsm/inode_setxattr")
int BPF_PROG(inode_setxattr, void *idmap, struct dentry *dentry, const char *name)
{
	xattr_event(dentry, name, is_acl_name(name) ? KIND_ACL_SET : KIND_XATTR_SET, HOOK_INODE_SETXATTR);
	return 0;
}

SEC("lsm/inode_removexattr")
int BPF_PROG(inode_removexattr, void *idmap, struct dentry *dentry, const char *name)
{
	xattr_event(dentry, name, KIND_XATTR_REMOVE, HOOK_INODE_REMOVEXATTR);
	return 0;
}

SEC("lsm/inode_set_acl")
int BPF_PROG(inode_set_acl, void *idmap, struct dentry *dentry, const char *acl_name)
{
	xattr_event(dentry, acl_name, KIND_ACL_SET, HOOK_INODE_SET_ACL);
	return 0;
}

/* mount_event reports something mounted on, moved to or unmounted from (dentry, mnt). */
static __always_inline void mount_event(struct dentry *dentry, struct vfsmount *mnt, const char *fstype, __u64 mflags,
					__u8 kind, __u8 flags, enum hook hook)
{
	struct target t;
	struct ext_mount *ext;
	struct scratch *s;
	__u32 off;

	count(hook, COUNTER_TOTAL);
	target_init(&t, dentry, mnt);
	if (!target_decide(&t)) {
		count(hook, COUNTER_IGNORED);
		return;
	}
	t.flags |= flags;
	s = begin_record(&t, kind, sizeof(*ext), &off);
	if (!s)
		return;
	ext = EXT(s, struct ext_mount);
	ext->flags = mflags;
	if (fstype)
		set_name2_kstr(s, &off, fstype);
	end_record(s, &t, off, hook);
}

SEC("lsm/sb_mount")
int BPF_PROG(sb_mount, const char *dev_name, const struct path *path, const char *type, unsigned long flags)
{
	mount_event(BPF_CORE_READ(path, dentry), BPF_CORE_READ(path, mnt), type, flags, KIND_MOUNT, 0, HOOK_SB_MOUNT);
	return 0;
}

SEC("lsm/sb_umount")
int BPF_PROG(sb_umount, struct vfsmount *mnt, int flags)
{
	struct mount *m = real_mount(mnt);
	struct mount *parent = BPF_CORE_READ(m, mnt_parent);

	mount_event(BPF_CORE_READ(m, mnt_mountpoint), (void *)((char *)parent + bpf_core_field_offset(struct mount, mnt)), 0,
		    flags, KIND_UMOUNT, 0, HOOK_SB_UMOUNT);
	return 0;
}

SEC("lsm/move_mount")
int BPF_PROG(move_mount, const struct path *from_path, const struct path *to_path)
{
	mount_event(BPF_CORE_READ(to_path, dentry), BPF_CORE_READ(to_path, mnt), 0, 0, KIND_MOUNT, FLAG_MOUNT_MOVE,
		    HOOK_MOVE_MOUNT);
	return 0;
}
