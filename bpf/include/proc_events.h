/* proc_events.h: process lifecycle from scheduler tracepoints (tp_btf, loadable everywhere): exec, fork of a
 * new process (not of a thread) and exit of a whole process. The resolver builds its process table from them,
 * so file records carry only ids. */
#pragma once

#include "common.h"
#include "close_events.h"
#include "events.h"
#include "path.h"
#include "process.h"
#include "stash.h"

/* append_args copies the process's argv (NUL-separated, at most AUX_MAX_LEN bytes) from its memory. */
static __always_inline __u32 append_args(struct scratch *s, __u32 off, struct task_struct *task)
{
	unsigned long start = BPF_CORE_READ(task, mm, arg_start);
	unsigned long end = BPF_CORE_READ(task, mm, arg_end);
	__u32 len;

	if (end <= start)
		return 0;
	len = end - start;
	if (len > AUX_MAX_LEN)
		len = AUX_MAX_LEN;
	if (bpf_probe_read_user(&s->buf[BOUND(off, OFF_MASK)], BOUND(len, AUX_MASK), (void *)start))
		return 0;
	return len;
}

/* append_cgroup copies the name of the task's cgroup (v2), where container runtimes put the container id. */
static __always_inline __u32 append_cgroup(struct scratch *s, __u32 off, struct task_struct *task)
{
	const char *name = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, name);

	return name ? append_kstr(s, off, name) : 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sched_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct scratch *s;
	struct event_hdr *h;
	struct ext_proc *ext;
	__u32 off, start, len = 0;
	__u8 flags = 0;

	count(HOOK_SCHED_PROCESS_EXEC, COUNTER_TOTAL);
	s = start_record(KIND_EXEC, PROBE_SET, sizeof(*ext));
	if (!s)
		return 0;
	h = (void *)s->buf;
	ext = EXT(s, struct ext_proc);
	ext->parent_tgid = BPF_CORE_READ(p, real_parent, tgid);
	ext->parent_start = BPF_CORE_READ(p, real_parent, group_leader, start_time);
	off = sizeof(*h) + sizeof(*ext);
	start = read_path(BPF_CORE_READ(bprm, file, f_path.dentry), BPF_CORE_READ(bprm, file, f_path.mnt), &len, &flags);
	h->flags = flags;
	h->name_len = append_path(s, off, start, len);
	off += h->name_len;
	h->name2_len = append_args(s, off, p);
	off += h->name2_len;
	h->path_len = append_cgroup(s, off, p);
	submit(s, HOOK_SCHED_PROCESS_EXEC);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sched_process_fork, struct task_struct *parent, struct task_struct *child)
{
	struct scratch *s;
	struct ext_proc *ext;

	count(HOOK_SCHED_PROCESS_FORK, COUNTER_TOTAL);
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid)) {
		count(HOOK_SCHED_PROCESS_FORK, COUNTER_IGNORED); /* a thread */
		return 0;
	}
	s = start_record(KIND_FORK, PROBE_SET, sizeof(*ext));
	if (!s)
		return 0;
	if (PROBE_SET == PROBE_TRACEPOINT)
		writer_proc_forked(BPF_CORE_READ(parent, tgid), BPF_CORE_READ(child, tgid));
	fill_task((struct event_hdr *)s->buf, child);
	ext = EXT(s, struct ext_proc);
	ext->parent_tgid = BPF_CORE_READ(parent, tgid);
	ext->parent_start = BPF_CORE_READ(parent, group_leader, start_time);
	submit(s, HOOK_SCHED_PROCESS_FORK);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sched_process_exit, struct task_struct *p)
{
	__u64 id = ((__u64)BPF_CORE_READ(p, tgid) << 32) | BPF_CORE_READ(p, pid);
	struct scratch *s;
	struct ext_proc *ext;

	count(HOOK_SCHED_PROCESS_EXIT, COUNTER_TOTAL);
	bpf_map_delete_elem(&stashes, &id);
	if (!group_dead(p)) {
		count(HOOK_SCHED_PROCESS_EXIT, COUNTER_IGNORED); /* a thread, or not the last one */
		return 0;
	}
	if (PROBE_SET == PROBE_TRACEPOINT)
		release_at_exit(p); /* the LSM set sees these releases at file_release */
	s = start_record(KIND_EXIT, PROBE_SET, sizeof(*ext));
	if (!s)
		return 0;
	fill_task((struct event_hdr *)s->buf, p);
	ext = EXT(s, struct ext_proc);
	ext->exit_code = BPF_CORE_READ(p, exit_code);
	ext->parent_tgid = BPF_CORE_READ(p, real_parent, tgid);
	submit(s, HOOK_SCHED_PROCESS_EXIT);
	return 0;
}

/* scan_tasks writes a proc_info for every process (thread group leader) when user space reads its
 * iterator: the sensor's process scan, so that processes older than the probes are known by the same keys
 * as the ones the probes see start. Never attached to a hook: Probes.Processes runs it. */
SEC("iter/task")
int scan_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct proc_info pi = {};

	if (!task || BPF_CORE_READ(task, pid) != BPF_CORE_READ(task, tgid))
		return 0; /* the end, or a thread: its process has its own entry */
	pi.tgid = BPF_CORE_READ(task, tgid);
	pi.start = BPF_CORE_READ(task, start_time);
	pi.parent_tgid = BPF_CORE_READ(task, real_parent, tgid);
	pi.parent_start = BPF_CORE_READ(task, real_parent, group_leader, start_time);
	pi.cgroup_id = BPF_CORE_READ(task, cgroups, dfl_cgrp, kn, id);
	pi.uid = BPF_CORE_READ(task, cred, uid.val);
	pi.gid = BPF_CORE_READ(task, cred, gid.val);
	pi.loginuid = task_loginuid(task);
	pi.mntns = task_mntns(task);
	BPF_CORE_READ_STR_INTO(&pi.comm, task, comm);
	bpf_seq_write(ctx->meta->seq, &pi, sizeof(pi));
	return 0;
}
