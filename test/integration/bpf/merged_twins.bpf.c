/*
 * Two inlined copies of a helper that reads a task storage value unchecked, compared with each
 * other: clang merges the two reads into one instruction without a line of its own, so the
 * kernel annotates it with an unrelated line of queue_of().
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct task_ctx {
	__u64 seq;
	__u64 runs;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

__u64 head_seqs[5];
__u64 seen;

static int queue_of(__u32 weight)
{
	if (weight <= 25)
		return 0;
	else if (weight <= 50)
		return 1;
	else if (weight < 200)
		return 2;
	else if (weight < 400)
		return 3;
	else
		return 4;
}

static __s64 distance(struct task_struct *p)
{
	int idx = queue_of(p->prio);
	struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);
	__s64 d;

	d = tctx->runs - head_seqs[idx]; /* THE READ: tctx may be NULL */
	/* Scale by the queue: the sign decides which way, so that order is kept. */
	if (d >= 0)
		return d << (4 - idx);
	return d << idx;
}

SEC("tp_btf/sched_switch")
int compare(u64 *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx[1], *next = (struct task_struct *)ctx[2];

	seen += distance(prev) > distance(next);
	return 0;
}
