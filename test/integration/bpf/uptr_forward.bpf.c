/* A task storage map whose uptr points to a struct this file only declares: the uptr pitfall. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

struct hint_page;

struct hint_value {
	struct hint_page __attribute__((btf_type_tag("uptr"))) *page;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct hint_value);
} hint_pages SEC(".maps");

#ifdef DEFINE_PAGE
/* The fix: define the struct in full, and make clang emit it (a global of the type does). */
struct hint_page {
	__u64 prio;
};
struct hint_page *hint_page_btf;
#endif

__u64 seen;

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct hint_value *v = bpf_task_storage_get(&hint_pages, next, 0, 0);

	if (v && v->page)
		seen += *(__u64 *)v->page;
	return 0;
}
