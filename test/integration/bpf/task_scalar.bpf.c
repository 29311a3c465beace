/* A number used as a pointer: bpf_get_current_task() returns an untyped address. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

__u64 seen;

SEC("tracepoint/syscalls/sys_enter_getpid")
int read_task(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	/* Wrong: t is a plain number to the verifier; read it with bpf_probe_read_kernel(). */
	seen += t->pid;
	return 0;
}
