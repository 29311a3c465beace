/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A first-in first-out scheduler with a loader of its own (own_fifo.c), the
 * way a developer's project has one: for the VM runner's tests of
 * `tldctl vm run --share DIR --cmd COMMAND`. Every task goes to the global
 * queue with the slice the loader sets; with give_up_after set, the scheduler
 * ends itself with scx_bpf_error() after that many enqueues, so the kernel
 * disables it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "scx.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the loader before load. */
const volatile u64 slice_ns = SCX_SLICE_DFL;
const volatile u64 give_up_after;

u64 nr_enqueued;

SEC("struct_ops/own_fifo_enqueue")
void BPF_PROG(own_fifo_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 n = __sync_fetch_and_add(&nr_enqueued, 1) + 1;

	if (give_up_after && n == give_up_after)
		scx_bpf_error("own_fifo gives up after %llu enqueues", n);
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, slice_ns, enq_flags);
}

SEC("struct_ops/own_fifo_exit")
void BPF_PROG(own_fifo_exit, struct scx_exit_info *ei)
{
	scx_record_exit(ei);
}

SEC(".struct_ops")
struct sched_ext_ops own_fifo_ops = {
	.enqueue = (void *)own_fifo_enqueue,
	.exit = (void *)own_fifo_exit,
	.name = "own_fifo",
};
