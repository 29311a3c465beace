/* A BPF_PROG program (the libbpf macro that wraps its body in an inlined function) reads a task storage value it never checked. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} switches SEC(".maps");

__u64 seen;

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 *count;

	if (preempt)
		seen++;
	count = bpf_task_storage_get(&switches, next, 0, 0);
	seen += *count;
	return 0;
}
