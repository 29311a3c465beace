/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Hint sampler: a starting point for reading task local data hints in BPF.
 *
 * On every context switch it looks up two hints of the task switched in and
 * counts their values, so you can see which hints the threads of a machine
 * carry while they run: `tldctl load hint_sampler.bpf.c --attach`, then
 * `bpftool map dump name hint_counts`.
 *
 * Change SAMPLE_KEY0/1 to the keys your application publishes (values of up to
 * 8 bytes). Slot i*SLOTS + v counts value v of key i (v >= SLOTS-2 all land
 * in SLOTS-2); slot i*SLOTS + SLOTS-1 counts switches to tasks without that hint.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* No per-task context here: use the header's ready-made key cache. */
#define TLD_KEY_CACHE_MAP
#include "tld.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define SAMPLE_KEY0 "sched.latency_critical"
#define SAMPLE_SIZE0 1
#define SAMPLE_KEY1 "sched.weight"
#define SAMPLE_SIZE1 4

#define SLOTS 16

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} hint_counts SEC(".maps");

static __always_inline void count(__u32 key, const void *p, __u32 size)
{
	__u64 v = 0, *slot;
	__u32 at;

	if (!p) {
		at = key * SLOTS + SLOTS - 1;
	} else {
		/* Little-endian: the low bytes of a u64 hold a value of any size up to 8. */
		__builtin_memcpy(&v, p, size > 8 ? 8 : size);
		at = key * SLOTS + (v < SLOTS - 2 ? v : SLOTS - 2);
	}
	slot = bpf_map_lookup_elem(&hint_counts, &at);
	if (slot)
		__sync_fetch_and_add(slot, 1);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sample_hints, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	/* Kernel threads and idle never carry hints: skip them cheaply. */
	if (!next->mm)
		return 0;
	count(0, tld_lookup_cached(next, 0, SAMPLE_KEY0, SAMPLE_SIZE0), SAMPLE_SIZE0);
	count(1, tld_lookup_cached(next, 1, SAMPLE_KEY1, SAMPLE_SIZE1), SAMPLE_SIZE1);
	return 0;
}
