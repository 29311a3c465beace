/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A scheduler that ends itself, for the VM runner's tests: after 20 enqueues
 * it calls scx_bpf_error(), the kernel disables it and falls back to its own
 * scheduler, and tld-scx-run prints the reason recorded in ops.exit.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "scx.bpf.h"

char LICENSE[] SEC("license") = "GPL";

u64 nr_enqueued;

SEC("struct_ops/gives_up_enqueue")
void BPF_PROG(gives_up_enqueue, struct task_struct *p, u64 enq_flags)
{
	u64 n = __sync_fetch_and_add(&nr_enqueued, 1) + 1;

	if (n == 20)
		scx_bpf_error("giving up after %llu enqueues", n);
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

SEC("struct_ops/gives_up_exit")
void BPF_PROG(gives_up_exit, struct scx_exit_info *ei)
{
	scx_record_exit(ei);
}

SEC(".struct_ops")
struct sched_ext_ops gives_up_ops = {
	.enqueue = (void *)gives_up_enqueue,
	.exit = (void *)gives_up_exit,
	.name = "tld_gives_up",
};
