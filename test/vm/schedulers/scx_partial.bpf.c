/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A scheduler that takes only the tasks put in SCHED_EXT (SCX_OPS_SWITCH_PARTIAL): every
 * other task stays with the kernel's default scheduler. Its loader must start the workload
 * in SCHED_EXT, or this scheduler has nothing to schedule; nr_enqueued counts what reached it.
 * Its select_cpu keeps the previous CPU and never inserts: the kernel's default would dispatch
 * a waking task straight to an idle CPU's local queue, skipping enqueue, so on an idle guest
 * nothing might reach nr_enqueued. This way every wake-up (the workload's fork, exec and
 * sleep) is counted.
 */
#include <scx_test/common.bpf.h>

char _license[] SEC("license") = "GPL";

u64 nr_enqueued;

s32 BPF_STRUCT_OPS(partial_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	return prev_cpu;
}

void BPF_STRUCT_OPS(partial_enqueue, struct task_struct *p, u64 enq_flags)
{
	__sync_fetch_and_add(&nr_enqueued, 1);
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

SCX_OPS_DEFINE(partial_ops,
	       .select_cpu = (void *)partial_select_cpu,
	       .enqueue = (void *)partial_enqueue,
	       .flags = SCX_OPS_SWITCH_PARTIAL,
	       .name = "partial");
