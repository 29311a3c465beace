/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The records the helper's BPF iterators write and the helper hands to its
 * callers unchanged: one definition for the BPF side (bpf/helper/), the C
 * helper (native/helper/) and the TypeScript decoder, which mirrors it in
 * extension/src/client/records.ts (test/integration/layoutProbe.test.ts
 * compares the two). A stream is a sequence of records, each a
 * struct tldh_rec header followed by `size` bytes of payload, 8-byte aligned.
 */
#ifndef TLDH_RECORDS_H
#define TLDH_RECORDS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define TLDH_COMM_LEN 16
/* The most thread ids tld_helper.bpf.c's list_threads returns (it counts them all). */
#define TLDH_MAX_LISTED 65536

enum tldh_rec_type {
	/* A process's metadata page: struct tldh_meta_rec, then `len` bytes of the page. */
	TLDH_REC_META = 1,
	/* One thread: struct tldh_thread_rec, then `data_len` bytes of its data page from its first byte. */
	TLDH_REC_THREAD = 2,
	/* One thread written by a write request: struct tldh_thread_rec with data_len 0. */
	TLDH_REC_WRITTEN = 3,
	/* How the scheduler treats the thread of the record before it: struct tldh_sched_rec. */
	TLDH_REC_SCHED = 4,
	/* Scheduling events of a trace (tld_trace): struct tldh_trace_rec. */
	TLDH_REC_TRACE = 5,
};

struct tldh_rec {
	__u32 type;
	__u32 size; /* payload bytes after this header, a multiple of 8 */
};

struct tldh_meta_rec {
	__u32 tgid;
	__u32 len;       /* bytes of the metadata page that follow: TLD_META_SIZE_FOR(page_size) */
	__u32 page_size; /* the map's page size (tld_layout.h) */
	__u32 layout;    /* the map's enum tld_layout_rev */
};

/* Flags of a thread record. */
#define TLDH_THREAD_HAS_ENTRY 1u /* the thread has a map entry */
#define TLDH_THREAD_HAS_DATA 2u  /* ... whose data page is pinned */
#define TLDH_THREAD_HAS_META 4u  /* ... and whose metadata page is pinned */
/*
 * Its process is exiting (exit_group or a fatal signal): its threads leave one by
 * one, so a snapshot now may lack some, and is not the process as it was.
 */
#define TLDH_THREAD_EXITING 8u

struct tldh_thread_rec {
	__u32 tid;
	__u32 tgid;
	__u32 flags;
	__u32 data_len;
	/* Where the data area starts in the page: the page's own `start`, or the map value's (layout). */
	__u64 start;
	char comm[TLDH_COMM_LEN];
	/* For a process listing: keys published and bytes they use, from this thread's metadata. */
	__u32 key_cnt;
	__u32 used;
	__u32 page_size; /* the map's page size */
	__u32 layout;    /* the map's enum tld_layout_rev */
};

/* Fields of a struct tldh_sched_rec that the running kernel has (CO-RE decides at load). */
#define TLDH_SCHED_HAS_INFO 1u /* run_delay, pcount: CONFIG_SCHED_INFO */
#define TLDH_SCHED_HAS_SCX 2u  /* weight, slice, dsq_vtime, scx_flags: a sched_ext kernel */
#define TLDH_SCHED_HAS_DSQ 4u  /* dsq_id: the thread sits in a dispatch queue now */

/*
 * A thread as the scheduler holds it, read in the same pass as its hints.
 * Counters are cumulative since the thread started; `now` is the boot clock
 * (CLOCK_BOOTTIME, ns) at the read, the clock of every time here and of traces.
 */
struct tldh_sched_rec {
	__u32 tid;
	__u32 has;	  /* TLDH_SCHED_HAS_* */
	__u64 now;
	__u32 cpu;	  /* the CPU it runs on, or last ran on */
	__u32 state;	  /* task->__state: 0 runnable, else the TASK_* sleep bits */
	__u32 exit_state; /* EXIT_ZOMBIE / EXIT_DEAD bits, or 0 */
	__u32 policy;	  /* SCHED_NORMAL 0 ... SCHED_EXT 7 */
	__u32 on_cpu;	  /* running now */
	__u32 on_rq;	  /* queued or running */
	__s32 prio;	  /* the kernel's prio (100 + nice + 20 for fair) */
	__u32 weight;	  /* p->scx.weight */
	__u64 runtime;	  /* se.sum_exec_runtime: ns on a CPU */
	__u64 run_delay;  /* sched_info.run_delay: ns runnable but waiting */
	__u64 pcount;	  /* sched_info.pcount: times it got a CPU */
	__u64 nvcsw;	  /* voluntary context switches */
	__u64 nivcsw;	  /* involuntary context switches */
	__u64 dsq_id;	  /* p->scx.dsq->id */
	__u64 slice;	  /* p->scx.slice: ns left of its slice */
	__u64 dsq_vtime;  /* p->scx.dsq_vtime */
	__u32 scx_flags;  /* p->scx.flags (SCX_TASK_*) */
	__u32 pad;
};

/* Kinds of a struct tldh_trace_rec. */
enum tldh_trace_kind {
	/* tid left CPU cpu (arg: its state then, as tldh_sched_rec.state) */
	TLDH_TRACE_OFF_CPU = 1,
	/* tid got CPU cpu (arg: unused) */
	TLDH_TRACE_ON_CPU = 2,
	/* tid was woken to run on cpu, by waker (arg: unused) */
	TLDH_TRACE_WAKEUP = 3,
};

/* A trace flag: dsq_id holds the DSQ the thread was in (sched_ext kernels). */
#define TLDH_TRACE_HAS_DSQ 1u

/* One scheduling event of a traced process, on the boot clock. */
struct tldh_trace_rec {
	__u64 ts;
	__u32 kind;	/* enum tldh_trace_kind */
	__u32 tid;
	__u32 cpu;
	__u32 waker;	/* TLDH_TRACE_WAKEUP: the waking thread */
	__u32 flags;	/* TLDH_TRACE_HAS_* */
	__u32 arg;
	__u64 dsq_id;
};

#endif
