/* Two programs; the second calls a function of its own (not inlined) that reads through a pointer it never checks. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} totals SEC(".maps");

__u64 seen, calls;

SEC("tracepoint/syscalls/sys_enter_getppid")
int count(void *ctx)
{
	calls++;
	return 0;
}

static __attribute__((noinline)) __u64 total_of(__u32 cpu)
{
	__u64 *t = bpf_map_lookup_elem(&totals, &cpu);

	calls += 2;
	/* Wrong: t is NULL when cpu has no entry yet. */
	return *t + calls;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int sum(void *ctx)
{
	seen += total_of(bpf_get_smp_processor_id());
	return 0;
}
