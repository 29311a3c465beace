/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A scheduler the verifier rejects, for the VM runner's tests: it uses a task
 * storage value without checking it against NULL. It compiles; only the guest
 * kernel's verifier finds the mistake, at the line marked below.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "scx.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct task_ctx {
	u64 enqueues;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

SEC("struct_ops/null_enqueue")
void BPF_PROG(null_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);

	tctx->enqueues++; /* THE ERROR: tctx may be NULL */
	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, SCX_SLICE_DFL, enq_flags);
}

SEC(".struct_ops")
struct sched_ext_ops null_ops = {
	.enqueue = (void *)null_enqueue,
	.name = "tld_null_deref",
};
