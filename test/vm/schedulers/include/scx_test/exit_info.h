/* SPDX-License-Identifier: GPL-2.0 */
/*
 * How the kernel ended a test scheduler, recorded by its ops.exit and read by its own
 * loader: one struct for both sides (BPF includes it through common.bpf.h, the loader
 * through common.h).
 */
#ifndef SCX_TEST_EXIT_INFO_H
#define SCX_TEST_EXIT_INFO_H

#ifdef __bpf__
#include "vmlinux.h"
#else
/* The kernel's short type names, which skeletons of BPF code also use. */
#include <linux/types.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
typedef __s64 s64;
#endif

struct scx_test_exit {
	/* enum scx_exit_kind: 0 while it runs; written last, after the strings. */
	s32 kind;
	s64 exit_code;
	char reason[128];
	char msg[1024];
};

#endif /* SCX_TEST_EXIT_INFO_H */
