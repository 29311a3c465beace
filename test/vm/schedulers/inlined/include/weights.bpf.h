/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-task weights for scx_inlined_null.bpf.c, in a folder of their own so that the
 * scheduler builds only with -I pointing here. The helper is inlined into its caller.
 */
#ifndef WEIGHTS_BPF_H
#define WEIGHTS_BPF_H

struct task_weight {
	u64 weight;
	u64 enqueues;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_weight);
} task_weights SEC(".maps");

static __always_inline u64 weighted_slice(const struct task_weight *w, u64 slice)
{
	return slice * w->weight / WEIGHT_SCALE; /* THE ERROR: w may be NULL */
}

#endif /* WEIGHTS_BPF_H */
