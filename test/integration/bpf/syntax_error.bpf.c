/* A BPF program with a syntax error on line 10 (a missing semicolon). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sched_switch")
int on_switch(void *ctx)
{
	int x = 1 + 2
	return x;
}
