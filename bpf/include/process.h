/* process.h: the acting process's identity, copied into every record, and what exec/fork/exit events add. */
#pragma once

#include "common.h"
#include "events.h"

static __always_inline __u32 task_mntns(struct task_struct *task)
{
	return BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
}

/* task_file returns the struct file of task's descriptor fd (0 for none). */
static __always_inline struct file *task_file(struct task_struct *task, int fd)
{
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	unsigned int max = BPF_CORE_READ(task, files, fdt, max_fds);
	struct file *f = 0;

	if (fd < 0 || (unsigned int)fd >= max)
		return 0;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

static __always_inline __u32 task_loginuid(struct task_struct *task)
{
	if (bpf_core_field_exists(task->loginuid))
		return BPF_CORE_READ(task, loginuid.val);
	return (__u32)-1;
}

/* proc_info is one process as the task iterator (scan_tasks) reports it for the sensor's process scan: the
 * ids the kernel writes into every record, exactly (/proc rounds the start time to clock ticks). */
struct proc_info {
	__u64 start;        /* the group leader's start_time, ns since boot, as in event_hdr.proc_start */
	__u64 parent_start; /* the real parent's */
	__u64 cgroup_id;    /* cgroup v2 id */
	__u32 tgid;
	__u32 parent_tgid;
	__u32 uid;
	__u32 gid;
	__u32 loginuid;
	__u32 mntns;
	char comm[16];
};

const struct proc_info *_anchor_proc_info __attribute__((unused)); /* keeps the type in BTF for bpf2go */

/* fill_task writes the header fields that name task. */
static __always_inline void fill_task(struct event_hdr *h, struct task_struct *task)
{
	h->tgid = BPF_CORE_READ(task, tgid);
	h->pid = BPF_CORE_READ(task, pid);
	h->uid = BPF_CORE_READ(task, cred, uid.val);
	h->gid = BPF_CORE_READ(task, cred, gid.val);
	h->loginuid = task_loginuid(task);
	h->proc_start = BPF_CORE_READ(task, group_leader, start_time);
	h->mntns = task_mntns(task);
	BPF_CORE_READ_STR_INTO(&h->comm, task, comm);
}

/* start_record clears the header of this CPU's record and fills what every record carries: kind, probe set,
 * time, cpu and the current task. ext_len is the size of the kind's fixed part. */
static __always_inline struct scratch *start_record(__u8 kind, __u8 probe, __u16 ext_len)
{
	struct scratch *s = record();
	struct event_hdr *h;

	if (!s)
		return 0;
	h = (void *)s->buf;
	__builtin_memset(h, 0, sizeof(*h) + sizeof(struct ext_move));
	h->kind = kind;
	h->probe = probe;
	h->ext_len = ext_len;
	h->time_ns = bpf_ktime_get_boot_ns();
	h->cpu = bpf_get_smp_processor_id();
	h->cgroup_id = bpf_get_current_cgroup_id();
	fill_task(h, (struct task_struct *)bpf_get_current_task());
	return s;
}

/* group_dead tells whether task is the last thread of its process to exit. */
static __always_inline int group_dead(struct task_struct *task)
{
	return BPF_CORE_READ(task, signal, live.counter) == 0;
}
