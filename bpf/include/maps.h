/* maps.h: the maps every probe set shares: the ring buffer, per-CPU scratch space, the sequence counter, the
 * per-hook counters and the runtime settings user space changes while the probes run. */
#pragma once

#include "common.h"

/* Sizes are defaults; the loader sets max_entries from its options before load. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* One record is assembled here, then copied into the ring buffer with its exact size. */
struct scratch {
	__u8 buf[SCRATCH_SIZE];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} record_scratch SEC(".maps");

/* Paths are written here backwards while walking dentries, and the trie key is built here too. */
struct path_scratch {
	__u8 buf[2 * (PATH_MASK + 1) + NAME_MAX_LEN + 1]; /* a path, and room to append one name */
	struct {
		__u32 prefixlen;
		__u8 data[PREFIX_MAX_LEN + 1];
	} key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratch SEC(".maps");

/* A path argument copied from user memory, and a candidate dentry name to compare with (tracepoint set). */
struct lookup_scratch {
	char path[PATH_MASK + 1 + NAME_MAX_LEN + 1];
	char cand[NAME_MAX_LEN + 1 + 8]; /* + 8: names are compared a word at a time */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lookup_scratch);
} lookup_scratch SEC(".maps");

static __always_inline struct lookup_scratch *lookup_buf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lookup_scratch, &zero);
}

/* The sequence number of every record, global so that user space sees a gap wherever a record was lost. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sequence SEC(".maps");

static __always_inline __u64 next_seq(void)
{
	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&sequence, &zero);

	if (!seq)
		return 0;
	return __sync_fetch_and_add(seq, 1) + 1;
}

/* Runtime settings user space changes while the probes run. They live in a map, not in .bss, so that pinned
 * programs kept from an earlier run of the sensor see the changes a new run makes. */
struct settings {
	__u32 prefix_count; /* entries in the prefix trie; 0 skips building paths at all */
	__u32 mount_count;  /* entries in monitored_mounts; 0: every mount counts as the monitored one */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct settings);
} runtime_settings SEC(".maps");

static __always_inline __u32 prefix_count(void)
{
	__u32 zero = 0;
	struct settings *s = bpf_map_lookup_elem(&runtime_settings, &zero);

	return s ? READ_ONCE_U32(s->prefix_count) : 0;
}

static __always_inline __u32 mount_count(void)
{
	__u32 zero = 0;
	struct settings *s = bpf_map_lookup_elem(&runtime_settings, &zero);

	return s ? READ_ONCE_U32(s->mount_count) : 0;
}

/* The mounts (by mnt_id) the monitored paths live on, in the host's mount namespace. A file reached through
 * any other mount (a bind mount, a second mount of the filesystem) was named by a path that is not its host
 * path, so its record carries the path the process used. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} monitored_mounts SEC(".maps");

/* Load-time settings, set on the spec before load. */
const volatile __u32 host_mntns = 0; /* match path prefixes only for tasks in this mount namespace (0: all) */
const volatile __u32 wakeup_bytes = 0; /* wake the reader once this many bytes wait in the ring (0: every record) */
