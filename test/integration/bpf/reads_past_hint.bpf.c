/* A program the verifier rejects on line 21: it reads 8 bytes through a hint looked up as 1 byte. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define TLD_KEY_CACHE_MAP
#include "tld.bpf.h"

char LICENSE[] SEC("license") = "GPL";

__u64 seen;

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u8 *hint = tld_lookup_cached(next, 0, "sched.latency_critical", 1);

	if (!hint)
		return 0;
	/* Wrong: the lookup vouched for 1 byte only, and the value may sit at the page's end. */
	seen += *(__u64 *)hint;
	return 0;
}
