/* common.h: includes, limits and small compat shims shared by every probe set. */
#pragma once

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

/* Bounds, each named once. */
#define NAME_MAX_LEN   255   /* a dentry name, NAME_MAX */
#define NAME_MASK      0xff
#define AUX_MAX_LEN    512   /* symlink target, xattr name, exec args */
#define AUX_MASK       0x3ff
#define PATH_MAX_LEN   4095  /* a path read by walking dentries; longer paths are cut at the root end */
#define PATH_MASK      0xfff
#define PATH_MAX_DEPTH 64    /* components (and mount crossings) walked for one path */
#define OFF_MASK       0x1fff /* every write into the record buffer starts below 8 KiB ... */
#define SCRATCH_SIZE   16384  /* ... and ends below 16 KiB */
#define PREFIX_MAX_LEN 255   /* bytes of a path compared with the prefix trie */

/* File mode bits and open flags, as in the kernel's uapi (not part of BTF). */
#define S_IFMT   00170000
#define S_IFDIR  0040000
#define S_IFREG  0100000
#define S_IFLNK  0120000
#define O_TRUNC  00001000
#define FMODE_WRITE   0x2
#define FMODE_CREATED 0x100000
#define RENAME_EXCHANGE (1 << 1)

/* x86-64 system call numbers the probes must tell apart. */
#define NR_MKNOD   133
#define NR_MKNODAT 259

#define READ_ONCE_U32(x) (*(volatile __u32 *)&(x))

/* READ_VIA is BPF_CORE_READ for a pointer held in one of our own structs: BPF_CORE_READ(t->dentry, ...)
 * would make the access to our struct a CO-RE relocation too, which no kernel type satisfies. */
#define READ_VIA(src, ...)                                  \
	({                                                  \
		typeof(src) __src = (src);                  \
		BPF_CORE_READ(__src, __VA_ARGS__);          \
	})

/* BOUND masks v in a way the compiler cannot drop, so the verifier sees the bound at the helper call. */
#define BOUND(v, mask)                                                  \
	({                                                              \
		__u64 __b = (v);                                        \
		asm volatile("%0 &= %1" : "+r"(__b) : "i"(mask));       \
		__b;                                                    \
	})

/* encode_dev turns a kernel dev_t (12 bits major, 20 bits minor) into the st_dev user space sees
 * (new_encode_dev), so (dev, ino) pairs from the kernel and from stat(2) compare equal. */
static __always_inline __u32 encode_dev(__u32 kdev)
{
	__u32 major = kdev >> 20;
	__u32 minor = kdev & 0xfffff;

	return (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
}

/* BTRFS_SUPER_MAGIC: on btrfs, stat(2) reports the subvolume's anonymous device, not the superblock's. */
#define BTRFS_SUPER_MAGIC 0x9123683E

/* Local views of btrfs types (a module, so absent from vmlinux.h); CO-RE matches them by name against the
 * btrfs module's BTF when it is loaded, and the code using them is dead when it is not. */
struct btrfs_root___fs {
	dev_t anon_dev;
} __attribute__((preserve_access_index));

struct btrfs_inode___fs {
	struct btrfs_root___fs *root;
	struct inode vfs_inode;
} __attribute__((preserve_access_index));

/* inode_dev returns the st_dev of the file behind inode. */
static __always_inline __u32 inode_dev(struct inode *inode)
{
	struct super_block *sb = BPF_CORE_READ(inode, i_sb);

	if (bpf_core_type_exists(struct btrfs_inode___fs) && BPF_CORE_READ(sb, s_magic) == BTRFS_SUPER_MAGIC) {
		struct btrfs_inode___fs *bi = (void *)((char *)inode - bpf_core_field_offset(struct btrfs_inode___fs, vfs_inode));
		dev_t anon = BPF_CORE_READ(bi, root, anon_dev);

		if (anon)
			return encode_dev(anon);
	}
	return encode_dev(BPF_CORE_READ(sb, s_dev));
}
