/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The context of tld_bench.bpf.c's syscall programs, shared with the benchmark that runs them. */
#ifndef TLD_BENCH_H
#define TLD_BENCH_H

/*
 * Where bench.hint lies from the page's first byte: bench_libtld adds it after
 * bench.var and bench.ptr (8 bytes each), bench.pad.one (24) and bench.pad.two
 * (4, taking 8), behind the page's u64 start, and checks it. The floor reads
 * that address at a constant offset: the same value, the same address (a
 * floor reading another address measured its own cache and store-forwarding
 * effects, not the lookup's cost).
 */
#define BENCH_HINT_OFF 56

struct bench_args {
	__s32 tid;   /* in: the thread whose hint is read */
	__u32 iters; /* in: bpf_loop iterations */
	__u64 ns;    /* out: time of the loop */
	__u64 sum;   /* out: sum of the values read, so the reads cannot be skipped */
	__s32 err;   /* out: 0, or why nothing ran */
	__u32 pad;
};

#endif
