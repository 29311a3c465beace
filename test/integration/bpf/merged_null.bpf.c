/* A NULL-able map value read on both sides of a branch: clang hoists the read. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct task_weight {
	__u64 weight;
	__u64 runs;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct task_weight);
} weights SEC(".maps");

__u64 total;
__u32 calls;

static __always_inline void account(const struct task_weight *w, __u32 n)
{
	if (n & 1)
		total += w->weight;
	else
		total -= w->weight;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct task_weight *w = bpf_map_lookup_elem(&weights, &pid);

	calls++;
	account(w, calls);
	return 0;
}
