/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The helper's tracer: the scheduling events of one process's threads (on and
 * off a CPU, wake-ups, and the sched_ext DSQ a thread sits in then) into a
 * ring buffer as struct tldh_trace_rec, on the boot clock that snapshots use.
 * tp_btf programs on sched_switch, sched_wakeup and sched_wakeup_new; every
 * other process costs one comparison per event.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tldh_records.h"
#include "tldh_sched.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* The traced process, set by the helper before attaching. */
const volatile __u32 trace_tgid;

/* Events the ring buffer had no room for (the reader fell behind). */
__u64 lost;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

static __always_inline void emit(__u32 kind, struct task_struct *p, __u32 cpu, __u32 waker, __u32 arg)
{
	struct tldh_trace_rec *r;
	bool has_dsq;

	r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	r->ts = bpf_ktime_get_boot_ns();
	r->kind = kind;
	r->tid = p->pid;
	r->cpu = cpu;
	r->waker = waker;
	r->arg = arg;
	r->dsq_id = tldh_task_dsq(p, &has_dsq);
	r->flags = has_dsq ? TLDH_TRACE_HAS_DSQ : 0;
	bpf_ringbuf_submit(r, 0);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(trace_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	__u32 cpu = bpf_get_smp_processor_id();

	/* prev is back in a DSQ here when the scheduler queued it again (preempted). */
	if (prev->tgid == (int)trace_tgid)
		emit(TLDH_TRACE_OFF_CPU, prev, cpu, 0, prev_state);
	if (next->tgid == (int)trace_tgid)
		emit(TLDH_TRACE_ON_CPU, next, cpu, 0, 0);
	return 0;
}

/* After the enqueue: a sched_ext task sits in the DSQ the scheduler chose. */
static __always_inline void wakeup(struct task_struct *p)
{
	if (p->tgid == (int)trace_tgid)
		emit(TLDH_TRACE_WAKEUP, p, BPF_CORE_READ(p, thread_info.cpu),
		     (__u32)bpf_get_current_pid_tgid(), 0);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(trace_wakeup, struct task_struct *p)
{
	wakeup(p);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(trace_wakeup_new, struct task_struct *p)
{
	wakeup(p);
	return 0;
}
