/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tld.bpf.h in a struct_ops program, on kernels without sched_ext: a TCP
 * congestion control whose init() reads the hint of the thread that sets it
 * on a socket (setsockopt on a connected socket runs init() in that thread).
 * It keeps its key cache in a per-task context, as a scheduler would.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tld.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct task_ctx {
	struct tld_key prio;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

/* The last thread init() ran in, and the hint it read there. */
__s32 seen_tid;
__u64 seen_prio;
__u32 seen_count;

SEC("struct_ops")
void BPF_PROG(tld_ca_init, struct sock *sk)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_ctx *tctx;
	__u64 *prio;

	tctx = bpf_task_storage_get(&task_ctxs, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tctx)
		return;
	prio = tld_lookup(task, &tctx->prio, "test.a", sizeof(__u64));
	if (!prio)
		return;
	seen_tid = task->pid;
	seen_prio = *prio;
	seen_count++;
}

/* The rest is the least a congestion control must have. */
SEC("struct_ops")
__u32 BPF_PROG(tld_ca_ssthresh, struct sock *sk)
{
	return 10;
}

SEC("struct_ops")
void BPF_PROG(tld_ca_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
}

SEC("struct_ops")
__u32 BPF_PROG(tld_ca_undo_cwnd, struct sock *sk)
{
	return 10;
}

SEC(".struct_ops")
struct tcp_congestion_ops tld_test_ca = {
	.init = (void *)tld_ca_init,
	.ssthresh = (void *)tld_ca_ssthresh,
	.cong_avoid = (void *)tld_ca_cong_avoid,
	.undo_cwnd = (void *)tld_ca_undo_cwnd,
	.name = "tld_test_ca",
};
