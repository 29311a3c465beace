/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A scheduler the kernel's watchdog throws out, for the VM runner's tests: it
 * queues every task on a queue that its dispatch never takes from, so runnable
 * tasks wait forever; after timeout_ms the kernel disables it ("runnable task
 * stall") and every task goes back to the default scheduler.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "scx.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define FORGOTTEN_DSQ 7

SEC("struct_ops/stalls_enqueue")
void BPF_PROG(stalls_enqueue, struct task_struct *p, u64 enq_flags)
{
	scx_bpf_dsq_insert(p, FORGOTTEN_DSQ, SCX_SLICE_DFL, enq_flags);
}

SEC("struct_ops/stalls_dispatch")
void BPF_PROG(stalls_dispatch, s32 cpu, struct task_struct *prev)
{
	/* The mistake: FORGOTTEN_DSQ is never moved to a CPU. */
}

SCX_SLEEPABLE
s32 BPF_PROG(stalls_init)
{
	return scx_bpf_create_dsq(FORGOTTEN_DSQ, -1);
}

SEC("struct_ops/stalls_exit")
void BPF_PROG(stalls_exit, struct scx_exit_info *ei)
{
	scx_record_exit(ei);
}

SEC(".struct_ops")
struct sched_ext_ops stalls_ops = {
	.enqueue = (void *)stalls_enqueue,
	.dispatch = (void *)stalls_dispatch,
	.init = (void *)stalls_init,
	.exit = (void *)stalls_exit,
	.timeout_ms = 1000,
	.name = "tld_stalls",
};
