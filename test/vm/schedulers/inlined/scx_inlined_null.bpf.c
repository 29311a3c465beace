/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A scheduler the guest's verifier rejects inside an inlined helper of a header: the
 * task storage value it passes may be NULL. It builds only with -I include and
 * --cflag -DWEIGHT_SCALE=100, as a scheduler with its own headers and flags does.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "scx.bpf.h"
#include "weights.bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("struct_ops/inlined_enqueue")
void BPF_PROG(inlined_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_weight *w = bpf_task_storage_get(&task_weights, p, 0, 0); /* THE LOOKUP */

	scx_bpf_dsq_insert(p, SCX_DSQ_GLOBAL, weighted_slice(w, SCX_SLICE_DFL), enq_flags); /* THE CALL */
}

SEC(".struct_ops")
struct sched_ext_ops inlined_ops = {
	.enqueue = (void *)inlined_enqueue,
	.name = "tld_inlined_null",
};
