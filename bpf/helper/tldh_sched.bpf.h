/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reads how the scheduler holds a task into a struct tldh_sched_rec, with CO-RE
 * so one object loads on kernels with and without sched_ext (and with or
 * without CONFIG_SCHED_INFO): fields a kernel lacks stay 0 and their TLDH_SCHED_HAS_*
 * bit clear. Shared by the snapshot iterator and the tracer.
 *
 * Both get @task as a BTF pointer (iter/task, tp_btf), so its fields are plain
 * loads, relocated by CO-RE like BPF_CORE_READ's: not a bpf_probe_read_kernel()
 * call per field, which cost a snapshot of 1,000 threads about 15,000 helper calls.
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
		return task->__state;
	return (__u32)((struct task_struct___tldh_old *)task)->state;
}

/* The DSQ @task sits in, or 0 with *has_dsq false (running, or not queued). */
static __always_inline __u64 tldh_task_dsq(struct task_struct *task, bool *has_dsq)
{
	struct task_struct___tldh *t = (void *)task;
	struct scx_dispatch_q___tldh *dsq;

	*has_dsq = false;
	if (!bpf_core_field_exists(t->scx))
		return 0;
	dsq = t->scx.dsq;
	if (!dsq)
		return 0;
	*has_dsq = true;
	return dsq->id;
}

static __always_inline void tldh_read_sched(struct tldh_sched_rec *s, struct task_struct *task)
{
	struct task_struct___tldh *t = (void *)task;
	bool has_dsq;

	s->tid = task->pid;
	s->now = bpf_ktime_get_boot_ns();
	s->cpu = task->thread_info.cpu;
	s->state = tldh_task_state(task);
	s->exit_state = task->exit_state;
	s->policy = task->policy;
	s->on_cpu = task->on_cpu;
	s->on_rq = task->on_rq;
	s->prio = task->prio;
	s->runtime = task->se.sum_exec_runtime;
	s->nvcsw = task->nvcsw;
	s->nivcsw = task->nivcsw;
	if (bpf_core_field_exists(task->sched_info)) {
		s->has |= TLDH_SCHED_HAS_INFO;
		s->run_delay = task->sched_info.run_delay;
		s->pcount = task->sched_info.pcount;
	}
	if (bpf_core_field_exists(t->scx)) {
		s->has |= TLDH_SCHED_HAS_SCX;
		s->weight = t->scx.weight;
		s->slice = t->scx.slice;
		s->dsq_vtime = t->scx.dsq_vtime;
		s->scx_flags = t->scx.flags;
		s->dsq_id = tldh_task_dsq(task, &has_dsq);
		if (has_dsq)
			s->has |= TLDH_SCHED_HAS_DSQ;
	}
}

#endif
