/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a sched_ext scheduler built with TLD Studio needs beyond vmlinux.h:
 * the sched_ext kfuncs (the kernel's BTF has them, vmlinux.h does not declare
 * them), scx_bpf_error(), the section for sleepable operations, and the
 * records tld-scx-run reads back (native/include/scx_run.h): how the scheduler
 * ended and wake-up latency histograms.
 */
#ifndef SCX_BPF_H
#define SCX_BPF_H

#include <bpf/bpf_helpers.h>

#include "scx_run.h"

extern s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym;
extern void scx_bpf_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __ksym;
extern bool scx_bpf_dsq_move_to_local(u64 dsq_id) __ksym;
extern void scx_bpf_kick_cpu(s32 cpu, u64 flags) __ksym;
extern s32 scx_bpf_task_cpu(const struct task_struct *p) __ksym;
extern s32 scx_bpf_select_cpu_dfl(struct task_struct *p, s32 prev_cpu, u64 wake_flags, bool *is_idle) __ksym;
extern void scx_bpf_dsq_insert_vtime(struct task_struct *p, u64 dsq_id, u64 slice, u64 vtime, u64 enq_flags) __ksym;
extern s32 scx_bpf_dsq_nr_queued(u64 dsq_id) __ksym;
extern u32 scx_bpf_nr_cpu_ids(void) __ksym;
extern s32 scx_bpf_pick_idle_cpu(const struct cpumask *cpus_allowed, u64 flags) __ksym;
extern bool scx_bpf_test_and_clear_cpu_idle(s32 cpu) __ksym;
extern bool bpf_cpumask_test_cpu(u32 cpu, const struct cpumask *cpumask) __ksym;
extern void scx_bpf_error_bstr(char *fmt, unsigned long long *data, u32 data__sz) __ksym;

/*
 * Operations the kernel lets sleep (init, exit, init_task, cpu_online,
 * cpu_offline) go in this section, which libbpf (>= 1.5 here, see
 * scripts/libbpf.sh) loads sleepable. SEC("struct_ops.s/NAME") is the same.
 */
#define SCX_SLEEPABLE SEC("struct_ops.s")

/*
 * Ends the scheduler: the kernel disables it and goes back to its default
 * scheduler, and the message (a printf format, up to 12 arguments) is the exit
 * reason tld-scx-run prints.
 */
#define scx_bpf_error(fmt, args...)							\
({											\
	static char ___scx_fmt[] = fmt;							\
	unsigned long long ___scx_param[___bpf_narg(args) + 1] = {};			\
											\
	_Pragma("GCC diagnostic push")							\
	_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")				\
	___bpf_fill(___scx_param, ##args);						\
	_Pragma("GCC diagnostic pop")							\
	scx_bpf_error_bstr(___scx_fmt, ___scx_param, ___bpf_narg(args) * 8);		\
})

/* How the scheduler ended; record it from ops.exit with scx_record_exit(). */
struct scx_run_exit scx_run_exit;

static __always_inline void scx_record_exit(struct scx_exit_info *ei)
{
	scx_run_exit.exit_code = ei->exit_code;
	bpf_probe_read_kernel_str(scx_run_exit.reason, sizeof(scx_run_exit.reason), ei->reason);
	bpf_probe_read_kernel_str(scx_run_exit.msg, sizeof(scx_run_exit.msg), ei->msg);
	/* Last: the loader reads the strings once it sees a kind. */
	asm volatile("" ::: "memory");
	*(volatile s32 *)&scx_run_exit.kind = (s32)ei->kind;
}

/* Counts @ns in a latency histogram, a global `u64 NAME[SCX_LAT_BUCKETS]`. */
static __always_inline void scx_lat_record(u64 *hist, u64 ns)
{
	unsigned int b = scx_lat_bucket(ns);

	if (b < SCX_LAT_BUCKETS)
		__sync_fetch_and_add(&hist[b], 1);
}

#endif /* SCX_BPF_H */
