/* counters.h: per-hook counters in a per-CPU array, indexed by hook and counter. User space sums the CPUs and
 * names each counter after its hook. */
#pragma once

#include "common.h"

/* hook: every program that counts, one value each. Names mirror the hooks. */
enum hook {
	HOOK_FILE_OPEN,
	HOOK_PATH_MKDIR,
	HOOK_PATH_MKNOD,
	HOOK_D_INSTANTIATE,
	HOOK_PATH_SYMLINK,
	HOOK_PATH_LINK,
	HOOK_PATH_UNLINK,
	HOOK_PATH_RMDIR,
	HOOK_PATH_RENAME,
	HOOK_PATH_CHMOD,
	HOOK_PATH_CHOWN,
	HOOK_INODE_SETXATTR,
	HOOK_INODE_REMOVEXATTR,
	HOOK_INODE_SET_ACL,
	HOOK_SB_MOUNT,
	HOOK_SB_UMOUNT,
	HOOK_MOVE_MOUNT,
	HOOK_FILE_RELEASE, /* file_release, or __fput where the kernel has no such hook */
	HOOK_SCHED_PROCESS_EXEC,
	HOOK_SCHED_PROCESS_FORK,
	HOOK_SCHED_PROCESS_EXIT,
	/* The tracepoint set: one hook per family of system calls, counted at the call's exit. */
	HOOK_SYS_OPEN,       /* open, openat, openat2, creat */
	HOOK_SYS_MKDIR,      /* mkdir, mkdirat */
	HOOK_SYS_MKNOD,      /* mknod, mknodat */
	HOOK_SYS_UNLINK,     /* unlink, unlinkat */
	HOOK_SYS_RMDIR,      /* rmdir, unlinkat(AT_REMOVEDIR) */
	HOOK_SYS_RENAME,     /* rename, renameat, renameat2 */
	HOOK_SYS_LINK,       /* link, linkat */
	HOOK_SYS_SYMLINK,    /* symlink, symlinkat */
	HOOK_SYS_CHMOD,      /* chmod, fchmod, fchmodat, fchmodat2 */
	HOOK_SYS_CHOWN,      /* chown, lchown, fchown, fchownat */
	HOOK_SYS_SETXATTR,   /* setxattr, lsetxattr, fsetxattr */
	HOOK_SYS_REMOVEXATTR, /* removexattr, lremovexattr, fremovexattr */
	HOOK_SYS_MOUNT,      /* mount */
	HOOK_SYS_UMOUNT,     /* umount2 */
	HOOK_SYS_MOVE_MOUNT, /* move_mount */
	HOOK_SYS_CLOSE,      /* close, close_range, dup2, dup3 (counted at entry) */
	HOOK_MAX = 48,
};

/* counter: what happened to one call of a hook. */
enum counter {
	COUNTER_TOTAL,           /* calls */
	COUNTER_ADDED,           /* records written to the ring buffer */
	COUNTER_IGNORED,         /* calls on files that are not monitored */
	COUNTER_ERROR,           /* calls that could not be handled (e.g. a missing inode) */
	COUNTER_RINGBUFFER_FULL, /* records lost because the ring buffer had no room */
	COUNTER_MKDIR,           /* d_instantiate: mkdir completions */
	COUNTER_SYMLINK,         /* d_instantiate: symlink completions */
	COUNTER_MKNOD,           /* d_instantiate: mknod completions */
	COUNTER_DISCARDED,       /* calls a discarder dismissed without walking their path (tracepoint set) */
	COUNTER_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HOOK_MAX * COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(enum hook hook, enum counter c)
{
	__u32 idx = (__u32)hook * COUNTER_MAX + (__u32)c;
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
}
