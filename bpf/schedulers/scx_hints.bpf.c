/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_hints: a small sched_ext scheduler driven by task local data hints.
 *
 * Applications say which of their threads are latency critical with the hint
 * "sched.latency_critical" (u8) and how much CPU a thread deserves with
 * "sched.weight" (u32, 100 = normal). Latency-critical threads go to a
 * high-priority queue that every CPU drains first, with a short slice so
 * they do not hog it; the others share a normal queue with a slice scaled by
 * their weight. Keys are resolved once per task in init_task and cached in
 * the task's context, so reading a hint on every enqueue costs one task
 * storage lookup (tld.bpf.h). Statistics are in the globals below.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tld.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* sched_ext's kfuncs (the kernel's BTF has them; vmlinux.h does not declare them). */
extern s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym;
extern void scx_bpf_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __ksym;
extern bool scx_bpf_dsq_move_to_local(u64 dsq_id) __ksym;

#define HI_DSQ 1
#define NORMAL_DSQ 2
#define SLICE_NS 5000000ULL     /* the normal slice: 5 ms at weight 100 */
#define HI_SLICE_NS 1000000ULL  /* latency-critical threads run in short bursts */

/* Per-task context: where each hint lives in this task's page, found once. */
struct task_ctx {
	struct tld_key latency;
	struct tld_key weight;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

/* Statistics, read by the loader. */
__u64 nr_tasks_hinted;      /* init_task found a hint */
__u64 nr_enq_hi;            /* enqueued on the high-priority queue */
__u64 nr_enq_normal;
__u64 nr_weighted;          /* enqueued with a weight hint */
/* How the scheduler ended, when it did. */
__s32 exit_kind;
char exit_reason[128];
char exit_msg[256];

SEC("struct_ops/hints_init_task")
s32 BPF_PROG(hints_init_task, struct task_struct *p, struct scx_init_task_args *args)
{
	struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	bool found;

	if (!tctx)
		return -12; /* -ENOMEM: the kernel refuses the task, it does not crash */
	/* Either key may be missing now and published later: tld_lookup finds it then. */
	found = !tld_key_init(p, &tctx->latency, "sched.latency_critical", sizeof(u8));
	found |= !tld_key_init(p, &tctx->weight, "sched.weight", sizeof(u32));
	if (found)
		__sync_fetch_and_add(&nr_tasks_hinted, 1);
	return 0;
}

SEC("struct_ops/hints_enqueue")
void BPF_PROG(hints_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);
	u64 slice = SLICE_NS;
	u8 *latency;
	u32 *weight;

	if (tctx) {
		latency = tld_lookup(p, &tctx->latency, "sched.latency_critical", sizeof(u8));
		if (latency && *latency) {
			__sync_fetch_and_add(&nr_enq_hi, 1);
			scx_bpf_dsq_insert(p, HI_DSQ, HI_SLICE_NS, enq_flags);
			return;
		}
		weight = tld_lookup(p, &tctx->weight, "sched.weight", sizeof(u32));
		/* Racy by design: the application may change its hint any time; any value is safe. */
		if (weight && *weight >= 10 && *weight <= 10000) {
			slice = SLICE_NS * *weight / 100;
			__sync_fetch_and_add(&nr_weighted, 1);
		}
	}
	__sync_fetch_and_add(&nr_enq_normal, 1);
	scx_bpf_dsq_insert(p, NORMAL_DSQ, slice, enq_flags);
}

SEC("struct_ops/hints_dispatch")
void BPF_PROG(hints_dispatch, s32 cpu, struct task_struct *prev)
{
	/* Latency-critical work first, then everything else. */
	if (!scx_bpf_dsq_move_to_local(HI_DSQ))
		scx_bpf_dsq_move_to_local(NORMAL_DSQ);
}

/* Sleepable (scx_bpf_create_dsq may sleep): the loader sets BPF_F_SLEEPABLE, as libbpf 1.1 has no "struct_ops.s". */
SEC("struct_ops/hints_init")
s32 BPF_PROG(hints_init)
{
	s32 err = scx_bpf_create_dsq(HI_DSQ, -1);

	return err ? err : scx_bpf_create_dsq(NORMAL_DSQ, -1);
}

SEC("struct_ops/hints_exit")
void BPF_PROG(hints_exit, struct scx_exit_info *ei)
{
	exit_kind = ei->kind;
	bpf_probe_read_kernel_str(exit_reason, sizeof(exit_reason), ei->reason);
	bpf_probe_read_kernel_str(exit_msg, sizeof(exit_msg), ei->msg);
}

SEC(".struct_ops")
struct sched_ext_ops hints_ops = {
	.init_task = (void *)hints_init_task,
	.enqueue = (void *)hints_enqueue,
	.dispatch = (void *)hints_dispatch,
	.init = (void *)hints_init,
	.exit = (void *)hints_exit,
	.name = "tld_hints",
};
