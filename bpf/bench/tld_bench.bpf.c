/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-event cost of reading a hint, each variant in a bpf_loop run through
 * BPF_PROG_TEST_RUN and timed inside the program:
 *   floor:    bpf_task_storage_get + the uptr load, the value at its offset
 *             known at compile time (BENCH_HINT_OFF);
 *   tld:      tld_lookup() with the key cached in a context already at hand
 *             (as a scheduler's per-task context), init amortised;
 *   cached:   tld_lookup_cached(), the ready-made cache map (a second lookup);
 *   upstream: the upstream header's per-event pattern as its documentation
 *             describes it: get the data map entry and the key map entry (the
 *             object init), then read the cached key.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define TLD_KEY_CACHE_MAP
#include "tld.bpf.h"
#include "tld_bench.h"

char LICENSE[] SEC("license") = "GPL";

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;


struct loop_ctx {
	struct task_struct *task;
	struct tld_key key;
	__u64 sum;
};

/* The key cache of the upstream pattern, kept in a task storage map of its own. */
struct upstream_keys {
	__s16 hint;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct upstream_keys);
} upstream_key_map SEC(".maps");

static int floor_cb(__u32 i, struct loop_ctx *c)
{
	struct tld_map_value *v = bpf_task_storage_get(&tld_data_map, c->task, 0, 0);
	struct tld_data_page *d = v ? v->data : NULL;

	if (d)
		c->sum += *(__u64 *)((void *)d + BENCH_HINT_OFF);
	return 0;
}

static int tld_cb(__u32 i, struct loop_ctx *c)
{
	__u64 *p = tld_lookup(c->task, &c->key, "bench.hint", sizeof(__u64));

	if (p)
		c->sum += *p;
	return 0;
}

static int cached_cb(__u32 i, struct loop_ctx *c)
{
	__u64 *p = tld_lookup_cached(c->task, 0, "bench.hint", sizeof(__u64));

	if (p)
		c->sum += *p;
	return 0;
}

static int upstream_cb(__u32 i, struct loop_ctx *c)
{
	struct tld_map_value *v = bpf_task_storage_get(&tld_data_map, c->task, 0, 0);
	struct upstream_keys *k;
	struct tld_data_page *d;
	long off;

	if (!v)
		return 0;
	k = bpf_task_storage_get(&upstream_key_map, c->task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!k)
		return 0;
	d = v->data;
	off = k->hint;
	if (d && off > 0) {
		barrier_var(off);
		if (off < (long)(TLD_PAGE_SIZE - sizeof(__u64)))
			c->sum += *(__u64 *)((void *)d + off);
	}
	return 0;
}

/* Runs @cb args->iters times for the task args->tid; the time goes to args->ns. */
static __always_inline int run(struct bench_args *args, void *cb)
{
	struct loop_ctx c = {};
	__u64 t0;

	c.task = bpf_task_from_pid(args->tid);
	if (!c.task) {
		args->err = -3; /* ESRCH */
		return 0;
	}
	/* The per-task init, once, as init_task would do it. */
	args->err = tld_key_init(c.task, &c.key, "bench.hint", sizeof(__u64));
	if (!args->err) {
		struct upstream_keys *k = bpf_task_storage_get(&upstream_key_map, c.task, 0,
							       BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (k)
			k->hint = c.key.off;
		t0 = bpf_ktime_get_ns();
		bpf_loop(args->iters, cb, &c, 0);
		args->ns = bpf_ktime_get_ns() - t0;
		args->sum = c.sum;
	}
	bpf_task_release(c.task);
	return 0;
}

SEC("syscall")
int bench_floor(struct bench_args *args)
{
	return run(args, floor_cb);
}

SEC("syscall")
int bench_tld(struct bench_args *args)
{
	return run(args, tld_cb);
}

SEC("syscall")
int bench_cached(struct bench_args *args)
{
	return run(args, cached_cb);
}

SEC("syscall")
int bench_upstream(struct bench_args *args)
{
	return run(args, upstream_cb);
}
