/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reads how the scheduler holds a task into a struct tldh_sched_rec, with CO-RE
 * so one object loads on kernels with and without sched_ext (and with or
 * without CONFIG_SCHED_INFO): fields a kernel lacks stay 0 and their TLDH_SCHED_HAS_*
 * bit clear. Shared by the snapshot iterator and the tracer.
 */
#ifndef TLDH_SCHED_BPF_H
#define TLDH_SCHED_BPF_H

#include <bpf/bpf_core_read.h>

#include "tldh_records.h"

/*
 * Local flavours of sched_ext's types: the host's vmlinux.h (no sched_ext) does
 * not have them, and libbpf matches them to the running kernel's by name
 * without the ___tldh suffix.
 */
struct scx_dispatch_q___tldh {
	__u64 id;
} __attribute__((preserve_access_index));

struct sched_ext_entity___tldh {
	struct scx_dispatch_q___tldh *dsq;
	__u32 flags;
	__u32 weight;
	__u64 slice;
	__u64 dsq_vtime;
} __attribute__((preserve_access_index));

struct task_struct___tldh {
	struct sched_ext_entity___tldh scx;
} __attribute__((preserve_access_index));

/* Kernels before 5.14 call __state `state` (a long). */
struct task_struct___tldh_old {
	long state;
} __attribute__((preserve_access_index));

static __always_inline __u32 tldh_task_state(struct task_struct *task)
{
	if (bpf_core_field_exists(task->__state))
		return BPF_CORE_READ(task, __state);
	return (__u32)BPF_CORE_READ((struct task_struct___tldh_old *)task, state);
}

/* The DSQ @task sits in, or 0 with *has_dsq false (running, or not queued). */
static __always_inline __u64 tldh_task_dsq(struct task_struct *task, bool *has_dsq)
{
	struct task_struct___tldh *t = (void *)task;
	struct scx_dispatch_q___tldh *dsq;

	*has_dsq = false;
	if (!bpf_core_field_exists(t->scx))
		return 0;
	dsq = BPF_CORE_READ(t, scx.dsq);
	if (!dsq)
		return 0;
	*has_dsq = true;
	return BPF_CORE_READ(dsq, id);
}

static __always_inline void tldh_read_sched(struct tldh_sched_rec *s, struct task_struct *task)
{
	struct task_struct___tldh *t = (void *)task;
	bool has_dsq;

	s->tid = BPF_CORE_READ(task, pid);
	s->now = bpf_ktime_get_boot_ns();
	s->cpu = BPF_CORE_READ(task, thread_info.cpu);
	s->state = tldh_task_state(task);
	s->exit_state = BPF_CORE_READ(task, exit_state);
	s->policy = BPF_CORE_READ(task, policy);
	s->on_cpu = BPF_CORE_READ(task, on_cpu);
	s->on_rq = BPF_CORE_READ(task, on_rq);
	s->prio = BPF_CORE_READ(task, prio);
	s->runtime = BPF_CORE_READ(task, se.sum_exec_runtime);
	s->nvcsw = BPF_CORE_READ(task, nvcsw);
	s->nivcsw = BPF_CORE_READ(task, nivcsw);
	if (bpf_core_field_exists(task->sched_info)) {
		s->has |= TLDH_SCHED_HAS_INFO;
		s->run_delay = BPF_CORE_READ(task, sched_info.run_delay);
		s->pcount = BPF_CORE_READ(task, sched_info.pcount);
	}
	if (bpf_core_field_exists(t->scx)) {
		s->has |= TLDH_SCHED_HAS_SCX;
		s->weight = BPF_CORE_READ(t, scx.weight);
		s->slice = BPF_CORE_READ(t, scx.slice);
		s->dsq_vtime = BPF_CORE_READ(t, scx.dsq_vtime);
		s->scx_flags = BPF_CORE_READ(t, scx.flags);
		s->dsq_id = tldh_task_dsq(task, &has_dsq);
		if (has_dsq)
			s->has |= TLDH_SCHED_HAS_DSQ;
	}
}

#endif
