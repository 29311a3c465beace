/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A scheduler built for a kernel newer than the one it runs on: it queues tasks on a
 * built-in queue named by a constant (SCX_DSQ_FROM_THE_FUTURE) that the running kernel's
 * BTF does not have, so the loader cannot fill it and it stays 0 — a queue that does not
 * exist, and the kernel throws the scheduler out on the first enqueue. It keeps no exit
 * record, so the reason can only come from the kernel log.
 */
#include <scx_test/common.bpf.h>

char _license[] SEC("license") = "GPL";

SCX_TEST_ENUM(SCX_DSQ_FROM_THE_FUTURE);
#define SCX_DSQ_FROM_THE_FUTURE __SCX_DSQ_FROM_THE_FUTURE

void BPF_STRUCT_OPS(future_enqueue, struct task_struct *p, u64 enq_flags)
{
	scx_bpf_dsq_insert(p, SCX_DSQ_FROM_THE_FUTURE, SCX_SLICE_DFL, enq_flags);
}

SCX_OPS_DEFINE(future_ops,
	       .enqueue = (void *)future_enqueue,
	       .name = "future_dsq");
