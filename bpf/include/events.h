/* events.h: the record format. A record is a fixed header, a fixed part that depends on the kind (ext), then
 * variable bytes in this order: name, name2, path, and for rename and link the old side's path. Only what an
 * event needs is written, so a creation with a short name is about 120 bytes. */
#pragma once

#include "common.h"
#include "maps.h"
#include "counters.h"

enum event_kind {
	KIND_CREATION = 1,
	KIND_OPEN,
	KIND_UNLINK,
	KIND_RENAME,
	KIND_PERMISSION,
	KIND_OWNERSHIP,
	KIND_MKDIR,
	KIND_RMDIR,
	KIND_SYMLINK,
	KIND_LINK,
	KIND_XATTR_SET,
	KIND_XATTR_REMOVE,
	KIND_ACL_SET,
	KIND_MOUNT,
	KIND_UMOUNT,
	KIND_EXEC,
	KIND_FORK,
	KIND_EXIT,
	KIND_CLOSE_WRITE, /* the last release of a file opened for writing (report_closes) */
};

/* monitored: why a file event was reported, strongest first. */
enum monitored {
	NOT_MONITORED = 0,
	MONITORED_BY_PATH = 1,   /* its path matched a configured prefix */
	MONITORED_BY_PARENT = 2, /* its directory is tracked */
	MONITORED_BY_INODE = 3,  /* the file itself is tracked */
};

enum probe_set {
	PROBE_LSM = 1,
	PROBE_TRACEPOINT = 2,
};

/* event_flags: bits in event_hdr.flags. */
enum event_flags {
	FLAG_RENAME_EXCHANGE = 1 << 0, /* RENAME_EXCHANGE: the target moved the other way */
	FLAG_RENAME_REPLACE = 1 << 1,  /* an existing target was replaced */
	FLAG_PATH_OUTSIDE = 1 << 2,    /* rename, link: the new side is outside every monitored tree; path names it */
	FLAG_PATH_TRUNCATED = 1 << 3,  /* the path was longer than PATH_MAX_LEN or deeper than PATH_MAX_DEPTH */
	FLAG_MOUNT_MOVE = 1 << 4,      /* mount: move_mount */
	FLAG_STATX_INODE = 1 << 5,     /* the inode was found in user space, not in the kernel */
	FLAG_INODE_MISSING = 1 << 6,   /* the kernel could not find the inode (user space may stat the path) */
	FLAG_PATH_PROCESS_VIEW = 1 << 7, /* path is the acting task's view from another mount namespace, not a host path */
};

struct event_hdr {
	__u8 kind;      /* enum event_kind */
	__u8 monitored; /* enum monitored */
	__u8 probe;     /* enum probe_set */
	__u8 flags;     /* enum event_flags */
	__u16 size;     /* bytes of the whole record */
	__u16 cpu;
	__u64 seq;        /* global record sequence; a gap is a lost record */
	__u64 time_ns;    /* CLOCK_BOOTTIME */
	__u64 ino;        /* the file */
	__u64 parent_ino; /* its directory (for rename and link: the new one) */
	__u32 dev;        /* st_dev of the file */
	__u32 tgid;
	__u32 pid;
	__u32 uid;
	__u32 gid;
	__u32 loginuid;
	__u64 proc_start; /* start time of the thread group leader, CLOCK_MONOTONIC ns */
	__u64 cgroup_id;
	__u32 mntns;
	__u16 ext_len;   /* bytes of the kind's fixed part after the header */
	__u16 name_len;  /* the dentry name */
	__u16 name2_len; /* rename, link: old name; symlink: target; xattr, acl: attribute; mount: fs type; exec: args */
	__u16 path_len;  /* the full path, only when matched by path; exec: cgroup name */
	__u32 mode;      /* i_mode of the file (type and permissions) */
	char comm[16];
};

/* Kind-specific fixed parts. */
struct ext_move { /* rename, link */
	__u64 old_parent_ino;
	__u64 target_ino; /* rename: the inode replaced or exchanged at the destination */
	__u8 old_monitored;
	__u8 _pad;
	__u16 old_path_len; /* the old side's path after path: only where that side is not tracked */
	__u8 _pad2[4];
};

struct ext_mode { /* permission */
	__u32 mode;
	__u32 old_mode;
};

struct ext_owner { /* ownership; -1 where unchanged */
	__u32 uid;
	__u32 gid;
	__u32 old_uid;
	__u32 old_gid;
};

struct ext_unlink { /* unlink */
	__u32 nlink; /* links before the call */
	__u32 _pad;
};

struct ext_mount { /* mount, umount */
	__u64 flags;
};

struct ext_close { /* close_write: the inode as the last writer left it */
	__u64 size;
	__s64 ctime_sec;
	__u32 ctime_nsec;
	__u32 generation; /* i_generation: with ino, what a file handle names */
};

struct ext_proc { /* exec, fork (parent), exit */
	__u32 parent_tgid;
	__u32 exit_code;
	__u64 parent_start;
};

#define EXT(s, type) ((type *)((s)->buf + sizeof(struct event_hdr)))

/* record returns this CPU's record buffer. */
static __always_inline struct scratch *record(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&record_scratch, &zero);
}

/* append_name copies a dentry name into the record at off and returns the bytes written. */
static __always_inline __u32 append_qstr(struct scratch *s, __u32 off, struct dentry *d)
{
	struct qstr q = BPF_CORE_READ(d, d_name);
	__u32 len = q.len;

	if (len > NAME_MAX_LEN)
		len = NAME_MAX_LEN;
	if (bpf_probe_read_kernel(&s->buf[BOUND(off, OFF_MASK)], BOUND(len, NAME_MASK), q.name))
		return 0;
	return len;
}

/* append_kstr copies a NUL-terminated kernel string of at most AUX_MAX_LEN bytes, without the NUL. */
static __always_inline __u32 append_kstr(struct scratch *s, __u32 off, const char *str)
{
	long n = bpf_probe_read_kernel_str(&s->buf[BOUND(off, OFF_MASK)], AUX_MAX_LEN, str);

	return n > 0 ? (__u32)n - 1 : 0;
}

/* wakeup_flags says whether this record wakes the reader: waking a sleeping task for every record costs
 * more than the probes themselves (an IPI and a context switch each), so below wakeup_bytes the record
 * waits for the reader's own poll. */
static __always_inline __u64 wakeup_flags(void)
{
	if (!wakeup_bytes)
		return 0;
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes)
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

/* submit_extra stamps the sequence and size and copies the record into the ring buffer, counting the outcome;
 * extra is what the kind writes after the path (its length lives in its fixed part). */
static __always_inline void submit_extra(struct scratch *s, __u32 extra, enum hook hook)
{
	struct event_hdr *h = (void *)s->buf;
	__u32 size = sizeof(*h) + h->ext_len + h->name_len + h->name2_len + h->path_len + extra;

	h->size = size;
	h->seq = next_seq();
	if (bpf_ringbuf_output(&events, s->buf, size & (SCRATCH_SIZE - 1), wakeup_flags()))
		count(hook, COUNTER_RINGBUFFER_FULL);
	else
		count(hook, COUNTER_ADDED);
}

/* submit sends a record that has nothing after its path. */
static __always_inline void submit(struct scratch *s, enum hook hook)
{
	submit_extra(s, 0, hook);
}

/* Anchors that keep these types in BTF so that bpf2go writes their Go declarations. */
const struct event_hdr *_anchor_event_hdr __attribute__((unused));
const struct ext_move *_anchor_ext_move __attribute__((unused));
const struct ext_mode *_anchor_ext_mode __attribute__((unused));
const struct ext_owner *_anchor_ext_owner __attribute__((unused));
const struct ext_unlink *_anchor_ext_unlink __attribute__((unused));
const struct ext_mount *_anchor_ext_mount __attribute__((unused));
const struct ext_proc *_anchor_ext_proc __attribute__((unused));
const struct ext_close *_anchor_ext_close __attribute__((unused));
const enum event_kind *_anchor_event_kind __attribute__((unused));
const enum monitored *_anchor_monitored __attribute__((unused));
const enum probe_set *_anchor_probe_set __attribute__((unused));
const enum event_flags *_anchor_event_flags __attribute__((unused));
const enum hook *_anchor_hook __attribute__((unused));
const enum counter *_anchor_counter __attribute__((unused));
