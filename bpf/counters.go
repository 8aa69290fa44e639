package bpf

import (
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/factstream/factstream/schemas"
)

// HookCounters are one hook's counters, summed over CPUs; a sensor's status reports them, so their type
// is the wire's.
type HookCounters = schemas.HookCounters

// Counters are every hook's counters, by hook name (the name of the hook it counts, e.g. "path_mkdir").
type Counters = schemas.Counters

// hookNames names the hooks of enum hook.
var hookNames = map[lsmHook]string{
	lsmHookHOOK_SYS_OPEN:           "sys_open",
	lsmHookHOOK_SYS_MKDIR:          "sys_mkdir",
	lsmHookHOOK_SYS_MKNOD:          "sys_mknod",
	lsmHookHOOK_SYS_UNLINK:         "sys_unlink",
	lsmHookHOOK_SYS_RMDIR:          "sys_rmdir",
	lsmHookHOOK_SYS_RENAME:         "sys_rename",
	lsmHookHOOK_SYS_LINK:           "sys_link",
	lsmHookHOOK_SYS_SYMLINK:        "sys_symlink",
	lsmHookHOOK_SYS_CHMOD:          "sys_chmod",
	lsmHookHOOK_SYS_CHOWN:          "sys_chown",
	lsmHookHOOK_SYS_SETXATTR:       "sys_setxattr",
	lsmHookHOOK_SYS_REMOVEXATTR:    "sys_removexattr",
	lsmHookHOOK_SYS_MOUNT:          "sys_mount",
	lsmHookHOOK_SYS_UMOUNT:         "sys_umount",
	lsmHookHOOK_SYS_MOVE_MOUNT:     "sys_move_mount",
	lsmHookHOOK_SYS_CLOSE:          "sys_close",
	lsmHookHOOK_FILE_OPEN:          "file_open",
	lsmHookHOOK_PATH_MKDIR:         "path_mkdir",
	lsmHookHOOK_PATH_MKNOD:         "path_mknod",
	lsmHookHOOK_D_INSTANTIATE:      "d_instantiate",
	lsmHookHOOK_PATH_SYMLINK:       "path_symlink",
	lsmHookHOOK_PATH_LINK:          "path_link",
	lsmHookHOOK_PATH_UNLINK:        "path_unlink",
	lsmHookHOOK_PATH_RMDIR:         "path_rmdir",
	lsmHookHOOK_PATH_RENAME:        "path_rename",
	lsmHookHOOK_PATH_CHMOD:         "path_chmod",
	lsmHookHOOK_PATH_CHOWN:         "path_chown",
	lsmHookHOOK_INODE_SETXATTR:     "inode_setxattr",
	lsmHookHOOK_INODE_REMOVEXATTR:  "inode_removexattr",
	lsmHookHOOK_INODE_SET_ACL:      "inode_set_acl",
	lsmHookHOOK_SB_MOUNT:           "sb_mount",
	lsmHookHOOK_SB_UMOUNT:          "sb_umount",
	lsmHookHOOK_MOVE_MOUNT:         "move_mount",
	lsmHookHOOK_FILE_RELEASE:       "file_release",
	lsmHookHOOK_SCHED_PROCESS_EXEC: "sched_process_exec",
	lsmHookHOOK_SCHED_PROCESS_FORK: "sched_process_fork",
	lsmHookHOOK_SCHED_PROCESS_EXIT: "sched_process_exit",
}

// hookOf tells which set a hook belongs to: the scheduler's tracepoints are in both.
func hookOf(hook lsmHook) (lsm, tracepoint bool) {
	switch {
	case hook >= lsmHookHOOK_SYS_OPEN:
		return false, true
	case hook >= lsmHookHOOK_SCHED_PROCESS_EXEC:
		return true, true
	}
	return true, false
}

// readCounters sums the per-CPU counters of every hook of set.
func readCounters(m *ebpf.Map, set ProbeSet) (Counters, error) {
	out := make(Counters, len(hookNames))
	var perCPU []uint64
	for hook, name := range hookNames {
		if lsm, tp := hookOf(hook); (set == ProbeSetLSM && !lsm) || (set == ProbeSetTracepoint && !tp) {
			continue
		}
		var c [lsmCounterCOUNTER_MAX]uint64
		for i := range c {
			key := uint32(hook)*uint32(lsmCounterCOUNTER_MAX) + uint32(i)
			if err := m.Lookup(key, &perCPU); err != nil {
				return nil, fmt.Errorf("read counter %s/%d: %w", name, i, err)
			}
			for _, v := range perCPU {
				c[i] += v
			}
		}
		out[name] = HookCounters{
			Total: c[lsmCounterCOUNTER_TOTAL], Added: c[lsmCounterCOUNTER_ADDED],
			Ignored: c[lsmCounterCOUNTER_IGNORED], Error: c[lsmCounterCOUNTER_ERROR],
			RingbufferFull: c[lsmCounterCOUNTER_RINGBUFFER_FULL], Mkdir: c[lsmCounterCOUNTER_MKDIR],
			Symlink: c[lsmCounterCOUNTER_SYMLINK], Mknod: c[lsmCounterCOUNTER_MKNOD],
			Discarded: c[lsmCounterCOUNTER_DISCARDED],
		}
	}
	return out, nil
}
