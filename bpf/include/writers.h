/* writers.h: files open for writing on monitored inodes, remembered from their open to their last release,
 * when the sensor hashes content after the last writer is done (report_closes). Keyed by the struct file, so
 * a descriptor passed on by fork, dup or SCM_RIGHTS still finds its entry. An entry whose release the probes
 * never saw (a descriptor closed by exec's close-on-exec, or by io_uring, in the tracepoint set) ages out of
 * the LRU; one whose struct file was freed and reused for another inode is found stale by its inode. */
#pragma once

#include "common.h"

#define WRITERS_MAX 16384      /* files open for writing at once on monitored inodes */
#define WRITER_PROCS_MAX 16384 /* processes that may hold one (tracepoint set: looked at when they exit) */

const volatile __u8 report_closes = 0; /* remember writers and report their last release */

/* writer is what an open for writing found. */
struct writer_entry {
	__u64 ino;
	__u32 dev;
	__u8 monitored; /* enum monitored, at the open */
	__u8 _pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WRITERS_MAX);
	__type(key, __u64); /* struct file * */
	__type(value, struct writer_entry);
} writers SEC(".maps");

/* writer_procs holds the processes that opened a writer, and their children since: the tracepoint set looks
 * at an exiting process's descriptors only when it is one of them. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WRITER_PROCS_MAX);
	__type(key, __u32); /* tgid */
	__type(value, __u8);
} writer_procs SEC(".maps");

/* writer_opened remembers file, opened for writing on the monitored inode (dev, ino). */
static __always_inline void writer_opened(struct file *file, __u32 dev, __u64 ino, __u8 monitored)
{
	struct writer_entry w = {.ino = ino, .dev = dev, .monitored = monitored};
	__u64 key = (__u64)file;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 one = 1;

	if (!report_closes)
		return;
	bpf_map_update_elem(&writers, &key, &w, BPF_ANY);
	bpf_map_update_elem(&writer_procs, &tgid, &one, BPF_ANY);
}

/* writer_proc_forked passes the parent's mark on to a new process: it inherited the descriptors. */
static __always_inline void writer_proc_forked(__u32 parent, __u32 child)
{
	__u8 one = 1;

	if (report_closes && bpf_map_lookup_elem(&writer_procs, &parent))
		bpf_map_update_elem(&writer_procs, &child, &one, BPF_ANY);
}

/* file___fcount is struct file before 6.13, whose reference count was an atomic_long_t. */
struct file___fcount {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

/* file_last_ref tells whether file holds a single reference: putting it now releases it. Since 6.13 the
 * count is a file_ref_t that stores one reference as 0. */
static __always_inline int file_last_ref(struct file *file)
{
	if (bpf_core_field_exists(struct file___fcount, f_count))
		return BPF_CORE_READ((struct file___fcount *)file, f_count.counter) == 1;
	return BPF_CORE_READ(file, f_ref.refcnt.counter) == 0;
}
