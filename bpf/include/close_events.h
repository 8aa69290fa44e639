/* close_events.h: the last release of a file opened for writing on a monitored inode (writers.h), reported
 * with the inode's identity, size and ctime so the sensor can hash what the last writer left. The LSM set
 * sees every release (file_release, or __fput where the kernel has no such hook); the tracepoint set sees the
 * descriptors a process gives up: close, close_range, the target of dup2 and dup3, and what is still open
 * when the process exits. Include after file_events.h. */
#pragma once

#include "common.h"
#include "events.h"
#include "file_events.h"
#include "process.h"
#include "writers.h"

#define RELEASE_FDS_MAX 4096 /* descriptors looked at by one close_range or exit */

/* inode___ctime_sec is struct inode since 6.11, with ctime in two fields; inode___ctime_ts before 6.6 and
 * inode___ctime_priv from 6.6 to 6.10 keep a timespec64. */
struct inode___ctime_sec {
	time64_t i_ctime_sec;
	u32 i_ctime_nsec;
} __attribute__((preserve_access_index));

struct inode___ctime_ts {
	struct timespec64 i_ctime;
} __attribute__((preserve_access_index));

struct inode___ctime_priv {
	struct timespec64 __i_ctime;
} __attribute__((preserve_access_index));

static __always_inline void inode_ctime(struct inode *inode, struct ext_close *ext)
{
	if (bpf_core_field_exists(struct inode___ctime_sec, i_ctime_sec)) {
		ext->ctime_sec = BPF_CORE_READ((struct inode___ctime_sec *)inode, i_ctime_sec);
		/* since 6.13 the top bit says the ctime was queried (multigrain timestamps) */
		ext->ctime_nsec = BPF_CORE_READ((struct inode___ctime_sec *)inode, i_ctime_nsec) & ~(1U << 31);
	} else if (bpf_core_field_exists(struct inode___ctime_priv, __i_ctime)) {
		ext->ctime_sec = BPF_CORE_READ((struct inode___ctime_priv *)inode, __i_ctime.tv_sec);
		ext->ctime_nsec = BPF_CORE_READ((struct inode___ctime_priv *)inode, __i_ctime.tv_nsec);
	} else {
		ext->ctime_sec = BPF_CORE_READ((struct inode___ctime_ts *)inode, i_ctime.tv_sec);
		ext->ctime_nsec = BPF_CORE_READ((struct inode___ctime_ts *)inode, i_ctime.tv_nsec);
	}
}

/* report_release reports file's release when it is a writer: its entry goes, and a record says what the
 * inode is now, with its path. An entry left by another inode's file at the same address is dropped unreported. */
static __always_inline void report_release(struct file *file, enum hook hook)
{
	__u64 key = (__u64)file;
	struct writer_entry *w = bpf_map_lookup_elem(&writers, &key);
	struct inode *inode;
	struct ext_close *ext;
	struct scratch *s;
	struct target t;
	__u32 off;

	if (!w)
		return;
	target_init(&t, BPF_CORE_READ(file, f_path.dentry), BPF_CORE_READ(file, f_path.mnt));
	t.monitored = w->monitored;
	if (t.ino != w->ino || t.dev != w->dev) {
		bpf_map_delete_elem(&writers, &key);
		count(hook, COUNTER_ERROR);
		return;
	}
	bpf_map_delete_elem(&writers, &key);
	s = begin_record(&t, KIND_CLOSE_WRITE, sizeof(*ext), &off);
	if (!s)
		return;
	inode = BPF_CORE_READ(file, f_inode);
	ext = EXT(s, struct ext_close);
	ext->size = BPF_CORE_READ(inode, i_size);
	ext->generation = BPF_CORE_READ(inode, i_generation);
	inode_ctime(inode, ext);
	/* Always with its path: the sensor opens the file by it where it cannot build a handle (a filesystem
	 * whose handles it has not learned), checking the inode before it reads. */
	((struct event_hdr *)s->buf)->path_len = append_target_path(s, &t, off, 1);
	submit(s, hook);
}

/* release_fd reports the release of the current task's descriptor fd, when giving it up puts the file's last
 * reference. */
static __always_inline void release_fd(int fd, enum hook hook)
{
	struct file *f = task_file((struct task_struct *)bpf_get_current_task(), fd);

	if (f && file_last_ref(f))
		report_release(f, hook);
}

struct release_range {
	struct file **fds;
	__u32 first;
	enum hook hook;
};

static long release_range_step(__u32 i, struct release_range *r)
{
	struct file *f = 0;

	bpf_probe_read_kernel(&f, sizeof(f), &r->fds[r->first + i]);
	if (f && file_last_ref(f))
		report_release(f, r->hook);
	return 0;
}

/* release_fds reports the releases of task's descriptors first..last (at most RELEASE_FDS_MAX of them). */
static __always_inline void release_fds(struct task_struct *task, __u32 first, __u32 last, enum hook hook)
{
	struct release_range r = {.fds = BPF_CORE_READ(task, files, fdt, fd), .first = first, .hook = hook};
	__u32 max = BPF_CORE_READ(task, files, fdt, max_fds);
	__u32 n;

	if (first >= max || last < first)
		return;
	if (last >= max)
		last = max - 1;
	n = last - first + 1;
	if (n > RELEASE_FDS_MAX)
		n = RELEASE_FDS_MAX;
	bpf_loop(n, release_range_step, &r, 0);
}

/* release_at_exit reports what an exiting process still held for writing, when its descriptor table is its
 * own (not shared with another process by CLONE_FILES). */
static __always_inline void release_at_exit(struct task_struct *task)
{
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (!bpf_map_lookup_elem(&writer_procs, &tgid))
		return;
	bpf_map_delete_elem(&writer_procs, &tgid);
	if (BPF_CORE_READ(task, files, count.counter) != 1)
		return;
	release_fds(task, 0, RELEASE_FDS_MAX - 1, HOOK_SCHED_PROCESS_EXIT);
}
