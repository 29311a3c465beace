/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a sched_ext scheduler shares with tld-scx-run, the loader the VM runner
 * uses for any scheduler: how it ended, and its wake-up latency histograms.
 * Included by BPF (through scx.bpf.h) and by the loader, so both read the same
 * layout.
 *
 * Histograms are log-linear: four buckets per power of two of nanoseconds, so a
 * bucket's bounds are within 25% of each other. Values 0..3 ns have a bucket
 * each; from 2^(SCX_LAT_MAX_LOG2 + 1) ns (about 37 minutes) on, values share the last one.
 * The loader prints any global `__u64 NAME[SCX_LAT_BUCKETS]` of a scheduler as
 * a histogram, and any integer global as a counter.
 */
#ifndef SCX_RUN_H
#define SCX_RUN_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define SCX_LAT_MAX_LOG2 40
#define SCX_LAT_BUCKETS (4 * SCX_LAT_MAX_LOG2)

/* How the kernel ended the scheduler: copied from struct scx_exit_info in ops.exit. */
struct scx_run_exit {
	/* enum scx_exit_kind: 0 while running, 1 done, 2 unregistered, 64+ by the system, 1024+ an error. */
	__s32 kind;
	__s32 pad;
	__s64 exit_code;
	char reason[128];
	char msg[1024];
};

/* The global a scheduler keeps it in; the loader finds it by this name in the object's BTF. */
#define SCX_RUN_EXIT_VAR "scx_run_exit"

static inline unsigned int scx_lat_log2(__u64 v)
{
	unsigned int r = 0;

	/* Branchy on purpose: the BPF verifier follows it without a loop. */
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

/* The bucket of @ns nanoseconds. */
static inline unsigned int scx_lat_bucket(__u64 ns)
{
	unsigned int p, b;

	if (ns < 4)
		return (unsigned int)ns;
	p = scx_lat_log2(ns);
	b = 4 * (p - 1) + (unsigned int)((ns >> (p - 2)) & 3);
	return b < SCX_LAT_BUCKETS ? b : SCX_LAT_BUCKETS - 1;
}

/* The smallest value in bucket @b, in nanoseconds. */
static inline __u64 scx_lat_bucket_floor(unsigned int b)
{
	if (b < 4)
		return b;
	return (__u64)(4 + (b & 3)) << (b / 4 - 1);
}

#endif /* SCX_RUN_H */
