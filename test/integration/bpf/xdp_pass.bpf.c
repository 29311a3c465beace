/* A network program (XDP): the kernel loads it only for CAP_NET_ADMIN or CAP_SYS_ADMIN, not for CAP_BPF alone. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
