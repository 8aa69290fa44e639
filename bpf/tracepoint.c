//go:build ignore

// SPDX-License-Identifier: GPL-2.0
/* tracepoint.c: the probe set on system-call tracepoints, for kernels where BPF-LSM programs cannot run. Two
 * dispatchers on the raw sys_enter and sys_exit tracepoints tail-call a handler per system call, found by
 * its number in a program array the loader fills (two links to attach and detach, not eighty). An entry
 * handler keeps a call's arguments (and, for calls that remove or change a file, what the file was); the
 * exit handler reports only successful calls, resolving files through the returned descriptor or the dentry
 * cache. It produces the same records as lsm.c, with probe = PROBE_TRACEPOINT. */

#define PROBE_SET PROBE_TRACEPOINT

#include "include/common.h"
#include "include/file_events.h"
#include "include/lookup.h"
#include "include/stash.h"
#include "include/proc_events.h"

char LICENSE[] SEC("license") = "GPL";

#define AT_REMOVEDIR 0x200

/* call is a system call between its entry and exit. */
struct call {
	const char *path;  /* the file's path; rename, link: the new path */
	const char *path2; /* rename, link: the old path; symlink: the target; xattr: the attribute; mount: fs type */
	__u64 ino;         /* what the entry found of the file (or of the rename source) */
	__u64 parent_ino;
	__u64 target_ino;  /* rename: the file at the destination */
	__s32 dirfd;
	__s32 dirfd2;
	__s32 fd;   /* calls on a descriptor; -1 otherwise */
	__u32 arg;  /* mode (chmod, mknod), uid (chown), flags (unlinkat, renameat2, mount) */
	__u32 arg2; /* gid (chown) */
	__u32 dev;
	__u32 mode;
	__u32 uid;
	__u32 gid;
	__u32 nlink;        /* links of the file (unlink) or of the rename's target */
	__u8 monitored;     /* the entry's decision (unlink, rmdir, rename source) */
	__u8 found;         /* the entry found the file */
	__u8 walk_at_exit;  /* unlink, rmdir: the record needs the file's path, so the exit walks again */
	__u8 name_len;      /* unlink, rmdir: the last component of path, as the entry found it */
	__u16 name_off;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* pid_tgid */
	__type(value, struct call);
} calls SEC(".maps");

/* The call a handler works on lives here, not on the stack: with the lookup's callbacks, the stack of a
 * handler would pass the 512 bytes older verifiers allow. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct call);
} call_scratch SEC(".maps");

/* A move seen at a rename's entry, so that a mkdir whose new directory was renamed before the mkdir's exit
 * still finds its inode. */
struct move_key {
	__u64 parent_ino;
	__u32 dev;
	__u32 name_hash;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct move_key);
	__type(value, __u64); /* the inode that moved */
} recent_moves SEC(".maps");

#define SYSCALL_MAX 512 /* system call numbers handled */

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, SYSCALL_MAX);
	__type(key, __u32);
	__type(value, __u32);
} sys_enter_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, SYSCALL_MAX);
	__type(key, __u32);
	__type(value, __u32);
} sys_exit_calls SEC(".maps");

/* sys_enter: args[0] is the task's pt_regs, args[1] the system call number. */
SEC("raw_tp/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	long nr = ctx->args[1];

	if (nr >= 0 && nr < SYSCALL_MAX)
		bpf_tail_call(ctx, &sys_enter_calls, nr);
	return 0;
}

/* sys_exit: args[0] is the task's pt_regs (orig_ax holds the number), args[1] the return value. */
SEC("raw_tp/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long nr = BPF_CORE_READ(regs, orig_ax);

	if (nr >= 0 && nr < SYSCALL_MAX)
		bpf_tail_call(ctx, &sys_exit_calls, nr);
	return 0;
}

/* Handlers have no attach point of their own: the loader puts enter_NAME and exit_NAME at NAME's number. */
#define SYS_ENTER(name) SEC("raw_tp") int enter_##name(struct bpf_raw_tracepoint_args *ctx)
#define SYS_EXIT(name) SEC("raw_tp") int exit_##name(struct bpf_raw_tracepoint_args *ctx)
#define ARG(n) sys_arg(ctx, n)
#define RET ((long)ctx->args[1])

/* sys_arg reads argument n of the system call from the registers of the x86-64 calling convention. */
static __always_inline __u64 sys_arg(struct bpf_raw_tracepoint_args *ctx, int n)
{
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];

	switch (n) {
	case 0:
		return BPF_CORE_READ(regs, di);
	case 1:
		return BPF_CORE_READ(regs, si);
	case 2:
		return BPF_CORE_READ(regs, dx);
	case 3:
		return BPF_CORE_READ(regs, r10);
	case 4:
		return BPF_CORE_READ(regs, r8);
	}
	return BPF_CORE_READ(regs, r9);
}

static __always_inline void save_call(struct call *c)
{
	__u64 id = bpf_get_current_pid_tgid();

	bpf_map_update_elem(&calls, &id, c, BPF_ANY);
}

/* new_call returns this CPU's call buffer, cleared, for an entry handler to fill and save. */
static __always_inline struct call *new_call(__s32 dirfd, __s32 dirfd2, __s32 fd, __u64 path, __u64 path2, __u32 arg, __u32 arg2)
{
	__u32 zero = 0;
	struct call *c = bpf_map_lookup_elem(&call_scratch, &zero);

	if (!c)
		return 0;
	__builtin_memset(c, 0, sizeof(*c));
	c->dirfd = dirfd;
	c->dirfd2 = dirfd2;
	c->fd = fd;
	c->path = (void *)path;
	c->path2 = (void *)path2;
	c->arg = arg;
	c->arg2 = arg2;
	return c;
}

/* take_call moves this thread's call into this CPU's call buffer; 0 when there is none. */
static __always_inline struct call *take_call(void)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0;
	struct call *found = bpf_map_lookup_elem(&calls, &id);
	struct call *c = bpf_map_lookup_elem(&call_scratch, &zero);

	if (!found || !c)
		return 0;
	*c = *found;
	bpf_map_delete_elem(&calls, &id);
	return c;
}

static __always_inline void save_path_call(__s32 dirfd, __u64 path, __u64 path2, __u32 arg, __u32 arg2)
{
	struct call *c = new_call(dirfd, AT_FDCWD, -1, path, path2, arg, arg2);

	if (c)
		save_call(c);
}

static __always_inline void save_fd_call(__s32 fd, __u64 path2, __u32 arg, __u32 arg2)
{
	struct call *c = new_call(AT_FDCWD, AT_FDCWD, fd, 0, path2, arg, arg2);

	if (c)
		save_call(c);
}

/* hash_step folds one byte of a name into an FNV-1a hash. */
struct hash_ctx {
	__u32 off, len, hash;
};

static long hash_step(__u32 i, void *ctx)
{
	struct hash_ctx *h = ctx;
	struct lookup_scratch *ls = lookup_buf();

	if (i >= h->len || !ls)
		return 1;
	h->hash = (h->hash ^ (__u8)ls->path[BOUND(h->off + i, PATH_MASK)]) * 16777619;
	return 0;
}

static __always_inline __u32 name_hash(__u32 off, __u32 len)
{
	struct hash_ctx h = {.off = off, .len = len, .hash = 2166136261};

	bpf_loop(NAME_MAX_LEN, hash_step, &h, 0);
	return h.hash;
}

/* append_component writes the last component of the looked-up path as the record's name or name2. */
static __always_inline __u16 append_component(struct scratch *s, __u32 off, struct lookup *l)
{
	struct lookup_scratch *ls = lookup_buf();

	if (!ls || bpf_probe_read_kernel(&s->buf[BOUND(off, OFF_MASK)], BOUND(l->name_len, NAME_MASK),
					 &ls->path[BOUND(l->name_off, PATH_MASK)]))
		return 0;
	return l->name_len;
}

/* append_ustr appends a NUL-terminated user string of at most AUX_MAX_LEN bytes, without the NUL. */
static __always_inline __u32 append_ustr(struct scratch *s, __u32 off, const char *str)
{
	long n = bpf_probe_read_user_str(&s->buf[BOUND(off, OFF_MASK)], AUX_MAX_LEN, str);

	return n > 0 ? (__u32)n - 1 : 0;
}

/* target_of_lookup fills t from a lookup: the file when found, else its directory and name. */
static __always_inline int target_of_lookup(struct target *t, struct lookup *l)
{
	if (l->status == LOOKUP_FOUND) {
		target_init(t, l->dentry, l->mnt);
		t->comp_off = l->name_off;
		t->comp_len = l->name_len;
		return 1;
	}
	if (l->status != LOOKUP_MISSING_LAST)
		return 0;
	__builtin_memset(t, 0, sizeof(*t));
	t->dentry = l->parent;
	t->mnt = l->mnt;
	t->in_parent = 1;
	t->comp_off = l->name_off;
	t->comp_len = l->name_len;
	t->parent_ino = READ_VIA(l->parent, d_inode, i_ino);
	t->dev = inode_dev(READ_VIA(l->parent, d_inode));
	return 1;
}

enum call_resolution {
	CALL_UNRESOLVED = 0,
	CALL_RESOLVED,
	CALL_DISCARDED, /* a discarder says the path is outside every monitored tree */
};

/* resolve_call finds the file a call is about, through its descriptor or its path. */
static __always_inline enum call_resolution resolve_call(struct call *c, struct target *t)
{
	struct lookup *l;

	if (c->fd >= 0) {
		struct file *f = fd_file(c->fd);

		if (!f)
			return CALL_UNRESOLVED;
		target_init(t, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
		return CALL_RESOLVED;
	}
	l = lookup_or_discard(c->dirfd, c->path);
	if (!l)
		return CALL_UNRESOLVED;
	if (l->status == LOOKUP_DISCARDED)
		return CALL_DISCARDED;
	return l->status == LOOKUP_FOUND && target_of_lookup(t, l) ? CALL_RESOLVED : CALL_UNRESOLVED;
}

/* name_record starts a record whose name is the file's: the dentry's, or the path's last component. */
static __always_inline struct scratch *name_record(struct target *t, __u8 kind, __u16 ext_len, __u32 *off, struct lookup *l,
						   int from_path)
{
	struct scratch *s;
	struct event_hdr *h;

	if (!from_path)
		return begin_record(t, kind, ext_len, off);
	s = begin_record_bare(t, kind, ext_len, off);
	if (!s)
		return 0;
	h = (void *)s->buf;
	h->name_len = append_component(s, *off, l);
	*off += h->name_len;
	return s;
}

/* ---- open, openat, openat2, creat: the descriptor says everything, at exit ---- */

static __always_inline int open_exit(long ret)
{
	struct file *f;

	count(HOOK_SYS_OPEN, COUNTER_TOTAL);
	if (ret < 0)
		return 0;
	f = fd_file(ret);
	if (!f) {
		count(HOOK_SYS_OPEN, COUNTER_ERROR);
		return 0;
	}
	report_open(f, HOOK_SYS_OPEN);
	return 0;
}

SYS_EXIT(open) { return open_exit(RET); }
SYS_EXIT(openat) { return open_exit(RET); }
SYS_EXIT(openat2) { return open_exit(RET); }
SYS_EXIT(creat) { return open_exit(RET); }

/* ---- close, close_range, dup2, dup3: a descriptor given up, at entry (only with report_closes) ---- */

#define CLOSE_RANGE_CLOEXEC (1U << 2)

SYS_ENTER(close)
{
	count(HOOK_SYS_CLOSE, COUNTER_TOTAL);
	release_fd(ARG(0), HOOK_SYS_CLOSE);
	return 0;
}

SYS_ENTER(close_range)
{
	count(HOOK_SYS_CLOSE, COUNTER_TOTAL);
	if (!(ARG(2) & CLOSE_RANGE_CLOEXEC))
		release_fds((struct task_struct *)bpf_get_current_task(), ARG(0), ARG(1), HOOK_SYS_CLOSE);
	return 0;
}

/* dup_enter: dup2 and dup3 close the descriptor they replace. */
static __always_inline int dup_enter(int fd, int replaced)
{
	count(HOOK_SYS_CLOSE, COUNTER_TOTAL);
	if (fd != replaced)
		release_fd(replaced, HOOK_SYS_CLOSE);
	return 0;
}

SYS_ENTER(dup2) { return dup_enter(ARG(0), ARG(1)); }
SYS_ENTER(dup3) { return dup_enter(ARG(0), ARG(1)); }

/* ---- mkdir, mknod, symlink: find the new file in the cache at exit ---- */

/* moved_ino finds a new file that was renamed away before the creating call's exit. */
static __always_inline __u64 moved_ino(struct target *t)
{
	struct move_key k = {.parent_ino = t->parent_ino, .dev = t->dev, .name_hash = name_hash(t->comp_off, t->comp_len)};
	__u64 *ino = bpf_map_lookup_elem(&recent_moves, &k);

	return ino ? *ino : 0;
}

static __always_inline int created_exit(long ret, __u8 kind, enum hook hook)
{
	struct call *c;
	struct lookup *l;
	struct target t;
	struct scratch *s;
	__u32 off;

	c = take_call();
	if (!c)
		return 0;
	count(hook, COUNTER_TOTAL);
	if (ret != 0)
		return 0;
	l = lookup_or_discard(c->dirfd, c->path);
	if (!l)
		return 0;
	if (l->status == LOOKUP_DISCARDED) {
		count(hook, COUNTER_IGNORED);
		count(hook, COUNTER_DISCARDED);
		return 0;
	}
	if (!target_of_lookup(&t, l)) {
		count(hook, COUNTER_ERROR);
		return 0;
	}
	if (t.in_parent) {
		t.ino = moved_ino(&t);
		if (!t.ino)
			t.flags |= FLAG_INODE_MISSING;
	}
	t.monitored = decide_by_inode(t.dev, 0, t.parent_ino);
	if (!t.monitored && may_match_path()) {
		target_path(&t);
		if (prefix_match(t.path_start, t.path_len))
			t.monitored = MONITORED_BY_PATH;
	}
	if (!t.monitored) {
		if (!is_tracked(t.dev, t.ino)) /* the decision above did not ask */
			lookup_discard(l);
		count(hook, COUNTER_IGNORED);
		return 0;
	}
	if (t.monitored == MONITORED_BY_PARENT) {
		track(t.dev, t.ino);
		if (kind == KIND_MKDIR) /* a discarded path may run through it */
			discard_bump();
	}
	s = name_record(&t, kind, 0, &off, l, 1);
	if (!s)
		return 0;
	if (kind == KIND_SYMLINK) {
		struct event_hdr *h = (void *)s->buf;

		h->name2_len = append_ustr(s, off, c->path2);
		off += h->name2_len;
	}
	end_record(s, &t, off, hook);
	return 0;
}

SYS_ENTER(mkdir) { save_path_call(AT_FDCWD, ARG(0), 0, 0, 0); return 0; }
SYS_ENTER(mkdirat) { save_path_call(ARG(0), ARG(1), 0, 0, 0); return 0; }
SYS_EXIT(mkdir) { return created_exit(RET, KIND_MKDIR, HOOK_SYS_MKDIR); }
SYS_EXIT(mkdirat) { return created_exit(RET, KIND_MKDIR, HOOK_SYS_MKDIR); }

static __always_inline void mknod_enter(__s32 dirfd, __u64 path, __u32 mode)
{
	__u32 type = mode & S_IFMT;

	if (type == 0 || type == S_IFREG) /* devices, fifos and sockets are not files users watch */
		save_path_call(dirfd, path, 0, mode, 0);
}

SYS_ENTER(mknod) { mknod_enter(AT_FDCWD, ARG(0), ARG(1)); return 0; }
SYS_ENTER(mknodat) { mknod_enter(ARG(0), ARG(1), ARG(2)); return 0; }
SYS_EXIT(mknod) { return created_exit(RET, KIND_CREATION, HOOK_SYS_MKNOD); }
SYS_EXIT(mknodat) { return created_exit(RET, KIND_CREATION, HOOK_SYS_MKNOD); }

SYS_ENTER(symlink) { save_path_call(AT_FDCWD, ARG(1), ARG(0), 0, 0); return 0; }
SYS_ENTER(symlinkat) { save_path_call(ARG(1), ARG(2), ARG(0), 0, 0); return 0; }
SYS_EXIT(symlink) { return created_exit(RET, KIND_SYMLINK, HOOK_SYS_SYMLINK); }
SYS_EXIT(symlinkat) { return created_exit(RET, KIND_SYMLINK, HOOK_SYS_SYMLINK); }

/* ---- unlink, unlinkat, rmdir: what the file was, at entry; the report at a successful exit ---- */

static __always_inline void remove_enter(__s32 dirfd, __u64 path, __u32 flags)
{
	struct lookup *l;
	struct target t;
	struct call *c = new_call(dirfd, AT_FDCWD, -1, path, 0, flags, 0);

	if (!c)
		return;
	l = lookup_or_discard(dirfd, (void *)path);
	if (!l)
		return;
	if (l->status == LOOKUP_DISCARDED) {
		count(flags & AT_REMOVEDIR ? HOOK_SYS_RMDIR : HOOK_SYS_UNLINK, COUNTER_DISCARDED);
		return;
	}
	if (!target_of_lookup(&t, l)) {
		count(flags & AT_REMOVEDIR ? HOOK_SYS_RMDIR : HOOK_SYS_UNLINK, COUNTER_ERROR);
		return;
	}
	if (!target_decide(&t)) {
		lookup_discard(l);
		return;
	}
	if (!(flags & AT_REMOVEDIR) && !t.in_parent && (t.mode & S_IFMT) == S_IFDIR)
		return; /* unlink of a directory fails with EISDIR (Go's os.Remove tries it before rmdir) */
	c->found = !t.in_parent;
	c->ino = t.ino;
	c->parent_ino = t.parent_ino;
	c->dev = t.dev;
	c->mode = t.mode;
	c->monitored = t.monitored;
	if (c->found)
		c->nlink = READ_VIA(l->dentry, d_inode, i_nlink);
	c->name_off = l->name_off;
	c->name_len = l->name_len;
	c->walk_at_exit = t.monitored == MONITORED_BY_PATH || foreign_task() || other_mount(t.mnt);
	save_call(c);
}

/* saved_name is a lookup holding only the last component of the call's path, where the entry found it: the
 * exit of a removal that needs no path names the file without walking again. 0 if the path cannot be read. */
static __always_inline struct lookup *saved_name(struct call *c)
{
	struct lookup *l = walk_state();
	struct lookup_scratch *ls = lookup_buf();

	if (!l || !ls || bpf_probe_read_user_str(ls->path, PATH_MASK + 1, c->path) <= c->name_off + c->name_len)
		return 0;
	__builtin_memset(l, 0, sizeof(*l));
	l->name_off = c->name_off;
	l->name_len = c->name_len;
	return l;
}

static __always_inline int remove_exit(long ret)
{
	struct call *c;
	struct lookup *l;
	struct target t;
	struct scratch *s;
	__u32 off;
	int rmdir;
	enum hook hook;

	c = take_call();
	if (!c)
		return 0;
	rmdir = c->arg & AT_REMOVEDIR;
	hook = rmdir ? HOOK_SYS_RMDIR : HOOK_SYS_UNLINK;
	count(hook, COUNTER_TOTAL);
	/* remove_enter saves only calls it decided are monitored: one without that decision was left by another
	 * system call whose exit this thread never ran (a program run the kernel skipped), not this one's */
	if (ret != 0 || !c->monitored)
		return 0;
	if (c->found && (rmdir || c->nlink <= 1))
		untrack(c->dev, c->ino);
	if (c->walk_at_exit) {
		l = lookup_path(c->dirfd, c->path);
		if (!l)
			return 0;
		if (!target_of_lookup(&t, l)) {
			count(hook, COUNTER_ERROR);
			return 0;
		}
	} else {
		l = saved_name(c);
		if (!l) {
			count(hook, COUNTER_ERROR);
			return 0;
		}
		__builtin_memset(&t, 0, sizeof(t)); /* no mount: end_record appends no path */
	}
	t.ino = c->ino;
	t.parent_ino = c->parent_ino;
	t.dev = c->dev;
	t.mode = c->mode;
	t.monitored = c->monitored;
	if (!c->found)
		t.flags |= FLAG_INODE_MISSING;
	if (rmdir) {
		s = name_record(&t, KIND_RMDIR, 0, &off, l, 1);
	} else {
		s = name_record(&t, KIND_UNLINK, sizeof(struct ext_unlink), &off, l, 1);
		if (s)
			EXT(s, struct ext_unlink)->nlink = c->nlink;
	}
	if (s)
		end_record(s, &t, off, hook);
	return 0;
}

SYS_ENTER(unlink) { remove_enter(AT_FDCWD, ARG(0), 0); return 0; }
SYS_ENTER(unlinkat) { remove_enter(ARG(0), ARG(1), ARG(2)); return 0; }
SYS_ENTER(rmdir) { remove_enter(AT_FDCWD, ARG(0), AT_REMOVEDIR); return 0; }
SYS_EXIT(unlink) { return remove_exit(RET); }
SYS_EXIT(unlinkat) { return remove_exit(RET); }
SYS_EXIT(rmdir) { return remove_exit(RET); }

/* ---- rename, renameat, renameat2 ---- */

static __always_inline void rename_enter(__s32 olddfd, __u64 oldpath, __s32 newdfd, __u64 newpath, __u32 flags)
{
	struct lookup *l;
	struct target src;
	struct call *c = new_call(newdfd, olddfd, -1, newpath, oldpath, flags, 0);

	if (!c)
		return;
	l = lookup_path(olddfd, (void *)oldpath);
	if (!l)
		return;
	if (target_of_lookup(&src, l)) {
		c->found = !src.in_parent;
		c->ino = src.ino;
		c->parent_ino = src.parent_ino;
		c->dev = src.dev;
		c->mode = src.mode;
		c->monitored = target_decide(&src);
		if (c->found) {
			struct move_key k = {.parent_ino = src.parent_ino, .dev = src.dev, .name_hash = name_hash(l->name_off, l->name_len)};

			bpf_map_update_elem(&recent_moves, &k, &c->ino, BPF_ANY);
		}
	}
	l = lookup_path(newdfd, (void *)newpath);
	if (!l)
		return;
	if (l->status == LOOKUP_FOUND) {
		c->target_ino = READ_VIA(l->dentry, d_inode, i_ino);
		c->nlink = READ_VIA(l->dentry, d_inode, i_nlink);
	}
	save_call(c);
}

/* rename_keep_tracked is rename_track of lsm.c, from what the entry saw. */
static __always_inline void rename_keep_tracked(struct call *c, struct target *dst)
{
	if (is_tracked(dst->dev, dst->parent_ino))
		track(dst->dev, dst->ino);
	else
		untrack(dst->dev, dst->ino);
	if (!c->target_ino)
		return;
	if (c->arg & RENAME_EXCHANGE) {
		if (is_tracked(c->dev, c->parent_ino))
			track(c->dev, c->target_ino);
		else
			untrack(c->dev, c->target_ino);
	} else if (c->nlink <= 1) {
		untrack(dst->dev, c->target_ino);
	}
}

/* old_side makes t the old side of a rename or link from the lookup of its old name, for its path. */
static __always_inline void old_side(struct target *t, struct lookup *l, __u8 monitored)
{
	if (!target_of_lookup(t, l))
		__builtin_memset(t, 0, sizeof(*t));
	t->monitored = monitored;
}

static __always_inline int rename_exit(long ret)
{
	struct call *c;
	struct lookup *l;
	struct target dst, src;
	struct ext_move *ext;
	struct scratch *s;
	struct event_hdr *h;
	__u32 off;

	discard_bump(); /* whatever it did, paths may name other files now */
	c = take_call();
	if (!c)
		return 0;
	count(HOOK_SYS_RENAME, COUNTER_TOTAL);
	if (ret != 0)
		return 0;
	l = lookup_path(c->dirfd, c->path);
	if (!l)
		return 0;
	if (!target_of_lookup(&dst, l)) {
		count(HOOK_SYS_RENAME, COUNTER_ERROR);
		return 0;
	}
	if (dst.in_parent) { /* moved again already: keep what the entry saw */
		dst.ino = c->ino;
		dst.mode = c->mode;
		dst.flags |= c->found ? 0 : FLAG_INODE_MISSING;
	}
	dst.monitored = decide_by_inode(dst.dev, 0, dst.parent_ino);
	if (!dst.monitored && may_match_path()) {
		target_path(&dst);
		if (prefix_match(dst.path_start, dst.path_len))
			dst.monitored = MONITORED_BY_PATH;
	}
	if (!dst.monitored && !c->monitored) {
		count(HOOK_SYS_RENAME, COUNTER_IGNORED);
		return 0;
	}
	rename_keep_tracked(c, &dst);
	if (c->arg & RENAME_EXCHANGE)
		dst.flags |= FLAG_RENAME_EXCHANGE;
	else if (c->target_ino)
		dst.flags |= FLAG_RENAME_REPLACE;
	s = name_record(&dst, KIND_RENAME, sizeof(*ext), &off, l, 1);
	if (!s)
		return 0;
	h = (void *)s->buf;
	ext = EXT(s, struct ext_move);
	ext->old_parent_ino = c->parent_ino;
	ext->target_ino = c->target_ino;
	ext->old_monitored = c->monitored;
	l = lookup_path(c->dirfd2, c->path2); /* the old name, and its directory for a path */
	if (!l)
		return 0;
	h->name2_len = append_component(s, off, l);
	off += h->name2_len;
	if (!c->found && l->parent && dst.ino) {
		/* the entry did not see the source (it was being created): remember the move now */
		struct move_key k = {.parent_ino = c->parent_ino, .dev = dst.dev, .name_hash = name_hash(l->name_off, l->name_len)};

		k.parent_ino = READ_VIA(l->parent, d_inode, i_ino);
		bpf_map_update_elem(&recent_moves, &k, &dst.ino, BPF_ANY);
	}
	old_side(&src, l, c->monitored);
	end_move(s, &dst, &src, off, HOOK_SYS_RENAME);
	return 0;
}

SYS_ENTER(rename) { rename_enter(AT_FDCWD, ARG(0), AT_FDCWD, ARG(1), 0); return 0; }
SYS_ENTER(renameat) { rename_enter(ARG(0), ARG(1), ARG(2), ARG(3), 0); return 0; }
SYS_ENTER(renameat2) { rename_enter(ARG(0), ARG(1), ARG(2), ARG(3), ARG(4)); return 0; }
SYS_EXIT(rename) { return rename_exit(RET); }
SYS_EXIT(renameat) { return rename_exit(RET); }
SYS_EXIT(renameat2) { return rename_exit(RET); }

/* ---- link, linkat ---- */

static __always_inline int link_exit(long ret)
{
	struct call *c;
	struct lookup *l;
	struct target t, old;
	struct ext_move *ext;
	struct scratch *s;
	struct event_hdr *h;
	__u64 old_parent = 0;
	__u8 old_monitored = 0;
	__u32 off;

	discard_bump(); /* a tracked inode may have a new name */
	c = take_call();
	if (!c)
		return 0;
	count(HOOK_SYS_LINK, COUNTER_TOTAL);
	if (ret != 0)
		return 0;
	l = lookup_path(c->dirfd, c->path);
	if (!l)
		return 0;
	if (l->status != LOOKUP_FOUND || !target_of_lookup(&t, l)) {
		count(HOOK_SYS_LINK, COUNTER_ERROR);
		return 0;
	}
	target_decide(&t);
	l = lookup_path(c->dirfd2, c->path2);
	if (!l)
		return 0;
	if (l->status == LOOKUP_FOUND || l->status == LOOKUP_MISSING_LAST) {
		old_parent = READ_VIA(l->parent, d_inode, i_ino);
		old_monitored = decide_by_inode(t.dev, t.ino, old_parent);
	}
	if (!t.monitored && !old_monitored) {
		count(HOOK_SYS_LINK, COUNTER_IGNORED);
		return 0;
	}
	if (is_tracked(t.dev, t.parent_ino))
		track(t.dev, t.ino);
	s = begin_record(&t, KIND_LINK, sizeof(*ext), &off);
	if (!s)
		return 0;
	h = (void *)s->buf;
	ext = EXT(s, struct ext_move);
	ext->old_parent_ino = old_parent;
	ext->old_monitored = old_monitored;
	h->name2_len = append_component(s, off, l);
	off += h->name2_len;
	old_side(&old, l, old_monitored);
	end_move(s, &t, &old, off, HOOK_SYS_LINK);
	return 0;
}

SYS_ENTER(link) { save_path_call(AT_FDCWD, ARG(1), ARG(0), 0, 0); return 0; }
SYS_ENTER(linkat)
{
	struct call *c = new_call(ARG(2), ARG(0), -1, ARG(3), ARG(1), 0, 0);

	if (c)
		save_call(c);
	return 0;
}
SYS_EXIT(link) { return link_exit(RET); }
SYS_EXIT(linkat) { return link_exit(RET); }

/* ---- chmod, chown: the old values at entry, the report at a successful exit ---- */

static __always_inline void attr_enter(struct call *c)
{
	struct target t;
	struct inode *inode;

	if (resolve_call(c, &t) == CALL_RESOLVED) {
		inode = READ_VIA(t.dentry, d_inode);
		c->found = 1;
		c->mode = t.mode;
		c->uid = BPF_CORE_READ(inode, i_uid.val);
		c->gid = BPF_CORE_READ(inode, i_gid.val);
	}
	save_call(c);
}

/* attr_exit resolves the file of a successful call and decides; 0 when there is nothing to report. */
static __always_inline struct call *attr_exit(long ret, struct target *t, enum hook hook)
{
	struct call *c = take_call();

	if (!c)
		return 0;
	count(hook, COUNTER_TOTAL);
	if (ret != 0)
		return 0;
	switch (resolve_call(c, t)) {
	case CALL_UNRESOLVED:
		count(hook, COUNTER_ERROR);
		return 0;
	case CALL_DISCARDED:
		count(hook, COUNTER_IGNORED);
		count(hook, COUNTER_DISCARDED);
		return 0;
	case CALL_RESOLVED:
		break;
	}
	if (!target_decide(t)) {
		if (c->fd < 0)
			lookup_discard(walk_state());
		count(hook, COUNTER_IGNORED);
		return 0;
	}
	return c;
}

static __always_inline void chmod_enter(__s32 dirfd, __u64 path, __s32 fd, __u32 mode)
{
	struct call *c = new_call(dirfd, AT_FDCWD, fd, path, 0, mode, 0);

	if (c)
		attr_enter(c);
}

static __always_inline int chmod_exit(long ret)
{
	struct call *c;
	struct target t;
	struct ext_mode *ext;
	struct scratch *s;
	__u32 off;

	c = attr_exit(ret, &t, HOOK_SYS_CHMOD);
	if (!c)
		return 0;
	s = begin_record(&t, KIND_PERMISSION, sizeof(*ext), &off);
	if (!s)
		return 0;
	ext = EXT(s, struct ext_mode);
	ext->mode = c->arg;
	ext->old_mode = c->found ? c->mode : 0;
	end_record(s, &t, off, HOOK_SYS_CHMOD);
	return 0;
}

SYS_ENTER(chmod) { chmod_enter(AT_FDCWD, ARG(0), -1, ARG(1)); return 0; }
SYS_ENTER(fchmodat) { chmod_enter(ARG(0), ARG(1), -1, ARG(2)); return 0; }
SYS_ENTER(fchmodat2) { chmod_enter(ARG(0), ARG(1), -1, ARG(2)); return 0; }
SYS_ENTER(fchmod) { chmod_enter(AT_FDCWD, 0, ARG(0), ARG(1)); return 0; }
SYS_EXIT(chmod) { return chmod_exit(RET); }
SYS_EXIT(fchmodat) { return chmod_exit(RET); }
SYS_EXIT(fchmodat2) { return chmod_exit(RET); }
SYS_EXIT(fchmod) { return chmod_exit(RET); }

static __always_inline void chown_enter(__s32 dirfd, __u64 path, __s32 fd, __u32 uid, __u32 gid)
{
	struct call *c = new_call(dirfd, AT_FDCWD, fd, path, 0, uid, gid);

	if (c)
		attr_enter(c);
}

static __always_inline int chown_exit(long ret)
{
	struct call *c;
	struct target t;
	struct ext_owner *ext;
	struct scratch *s;
	__u32 off;

	c = attr_exit(ret, &t, HOOK_SYS_CHOWN);
	if (!c)
		return 0;
	s = begin_record(&t, KIND_OWNERSHIP, sizeof(*ext), &off);
	if (!s)
		return 0;
	ext = EXT(s, struct ext_owner);
	ext->uid = c->arg;
	ext->gid = c->arg2;
	ext->old_uid = c->found ? c->uid : (__u32)-1;
	ext->old_gid = c->found ? c->gid : (__u32)-1;
	end_record(s, &t, off, HOOK_SYS_CHOWN);
	return 0;
}

SYS_ENTER(chown) { chown_enter(AT_FDCWD, ARG(0), -1, ARG(1), ARG(2)); return 0; }
SYS_ENTER(lchown) { chown_enter(AT_FDCWD, ARG(0), -1, ARG(1), ARG(2)); return 0; }
SYS_ENTER(fchownat) { chown_enter(ARG(0), ARG(1), -1, ARG(2), ARG(3)); return 0; }
SYS_ENTER(fchown) { chown_enter(AT_FDCWD, 0, ARG(0), ARG(1), ARG(2)); return 0; }
SYS_EXIT(chown) { return chown_exit(RET); }
SYS_EXIT(lchown) { return chown_exit(RET); }
SYS_EXIT(fchownat) { return chown_exit(RET); }
SYS_EXIT(fchown) { return chown_exit(RET); }

/* ---- setxattr, removexattr and their l- and f- variants ---- */

/* is_acl_uname tells a POSIX ACL attribute name in user memory. */
static __always_inline int is_acl_uname(const char *name)
{
	char buf[18] = {};

	bpf_probe_read_user_str(buf, sizeof(buf), name);
	return buf[0] == 's' && buf[6] == '.' && buf[7] == 'p' && buf[12] == '_' && buf[13] == 'a' && buf[14] == 'c' &&
	       buf[15] == 'l' && buf[16] == '_';
}

static __always_inline int xattr_exit(long ret, __u8 kind, enum hook hook)
{
	struct call *c;
	struct target t;
	struct scratch *s;
	struct event_hdr *h;
	__u32 off;

	c = attr_exit(ret, &t, hook);
	if (!c)
		return 0;
	if (kind == KIND_XATTR_SET && is_acl_uname(c->path2))
		kind = KIND_ACL_SET;
	s = begin_record(&t, kind, 0, &off);
	if (!s)
		return 0;
	h = (void *)s->buf;
	h->name2_len = append_ustr(s, off, c->path2);
	off += h->name2_len;
	end_record(s, &t, off, hook);
	return 0;
}

SYS_ENTER(setxattr) { save_path_call(AT_FDCWD, ARG(0), ARG(1), 0, 0); return 0; }
SYS_ENTER(lsetxattr) { save_path_call(AT_FDCWD, ARG(0), ARG(1), 0, 0); return 0; }
SYS_ENTER(fsetxattr) { save_fd_call(ARG(0), ARG(1), 0, 0); return 0; }
SYS_ENTER(removexattr) { save_path_call(AT_FDCWD, ARG(0), ARG(1), 0, 0); return 0; }
SYS_ENTER(lremovexattr) { save_path_call(AT_FDCWD, ARG(0), ARG(1), 0, 0); return 0; }
SYS_ENTER(fremovexattr) { save_fd_call(ARG(0), ARG(1), 0, 0); return 0; }
SYS_EXIT(setxattr) { return xattr_exit(RET, KIND_XATTR_SET, HOOK_SYS_SETXATTR); }
SYS_EXIT(lsetxattr) { return xattr_exit(RET, KIND_XATTR_SET, HOOK_SYS_SETXATTR); }
SYS_EXIT(fsetxattr) { return xattr_exit(RET, KIND_XATTR_SET, HOOK_SYS_SETXATTR); }
SYS_EXIT(removexattr) { return xattr_exit(RET, KIND_XATTR_REMOVE, HOOK_SYS_REMOVEXATTR); }
SYS_EXIT(lremovexattr) { return xattr_exit(RET, KIND_XATTR_REMOVE, HOOK_SYS_REMOVEXATTR); }
SYS_EXIT(fremovexattr) { return xattr_exit(RET, KIND_XATTR_REMOVE, HOOK_SYS_REMOVEXATTR); }

/* ---- mount, umount2, move_mount: the mount point, found at exit (the last component is not crossed) ---- */

static __always_inline int mount_exit(long ret, __u8 kind, __u8 flags, enum hook hook)
{
	struct call *c;
	struct target t;
	struct ext_mount *ext;
	struct scratch *s;
	__u32 off;

	discard_bump(); /* paths below the mount point name other files now */
	c = attr_exit(ret, &t, hook);
	if (!c)
		return 0;
	t.flags |= flags;
	s = begin_record(&t, kind, sizeof(*ext), &off);
	if (!s)
		return 0;
	ext = EXT(s, struct ext_mount);
	ext->flags = c->arg;
	if (c->path2) {
		struct event_hdr *h = (void *)s->buf;

		h->name2_len = append_ustr(s, off, c->path2);
		off += h->name2_len;
	}
	end_record(s, &t, off, hook);
	return 0;
}

SYS_ENTER(mount) { save_path_call(AT_FDCWD, ARG(1), ARG(2), ARG(3), 0); return 0; }
SYS_ENTER(umount) { save_path_call(AT_FDCWD, ARG(0), 0, ARG(1), 0); return 0; }
SYS_ENTER(move_mount) { save_path_call(ARG(2), ARG(3), 0, 0, 0); return 0; }
SYS_EXIT(mount) { return mount_exit(RET, KIND_MOUNT, 0, HOOK_SYS_MOUNT); }
SYS_EXIT(umount) { return mount_exit(RET, KIND_UMOUNT, 0, HOOK_SYS_UMOUNT); }
SYS_EXIT(move_mount) { return mount_exit(RET, KIND_MOUNT, FLAG_MOUNT_MOVE, HOOK_SYS_MOVE_MOUNT); }
