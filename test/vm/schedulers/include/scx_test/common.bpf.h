/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the test schedulers share, in the shape sched_ext schedulers are usually written:
 * kfunc declarations, the struct_ops section and program macros (sleepable ones in
 * "struct_ops.s/"), arrays the loader resizes, constants resolved at load (enums.bpf.h)
 * and the exit record their loaders read (exit_info.h). Needs libbpf >= 1.5 headers.
 */
#ifndef SCX_TEST_COMMON_BPF_H
#define SCX_TEST_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "enums.bpf.h"
#include "exit_info.h"

s32 scx_bpf_create_dsq(u64 dsq_id, s32 node) __ksym;
void scx_bpf_dsq_insert(struct task_struct *p, u64 dsq_id, u64 slice, u64 enq_flags) __ksym;
bool scx_bpf_dsq_move_to_local(u64 dsq_id) __ksym;
s32 scx_bpf_select_cpu_dfl(struct task_struct *p, s32 prev_cpu, u64 wake_flags, bool *is_idle) __ksym;
void scx_bpf_error_bstr(char *fmt, unsigned long long *data, u32 data__sz) __ksym;

/* An operation, and one the kernel lets sleep (init, exit, init_task, cgroup_init...). */
#define BPF_STRUCT_OPS(name, args...) SEC("struct_ops/" #name) BPF_PROG(name, ##args)
#define BPF_STRUCT_OPS_SLEEPABLE(name, args...) SEC("struct_ops.s/" #name) BPF_PROG(name, ##args)

/* The ops table, attached through a link so that the scheduler goes away with its loader. */
#define SCX_OPS_DEFINE(name, ...) \
	SEC(".struct_ops.link") struct sched_ext_ops name = { __VA_ARGS__ }

/*
 * An array in a data section of its own (".data.NAME" or ".bss.NAME"), declared with one
 * element; the loader sets the section's size to the number of CPUs before loading.
 * Index it only below a bound the verifier knows (a rodata count set by the loader).
 */
#define RESIZABLE_ARRAY(elfsec, name) name[1] SEC("." #elfsec "." #name)

/* Ends the scheduler: the kernel disables it, and the message is the exit reason. */
#define scx_bpf_error(fmt, args...)							\
({											\
	static char ___fmt[] = fmt;							\
	unsigned long long ___param[___bpf_narg(args) + 1] = {};			\
											\
	_Pragma("GCC diagnostic push")							\
	_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")				\
	___bpf_fill(___param, ##args);							\
	_Pragma("GCC diagnostic pop")							\
	scx_bpf_error_bstr(___fmt, ___param, ___bpf_narg(args) * 8);			\
})

/*
 * The exit record, a global the loader finds in the skeleton and fills from ops.exit, and
 * beside it the kernel's debug dump: NAME_dump, resized by the loader, which sets its size
 * in NAME_dump_len (0: no dump kept).
 */
#define SCX_TEST_EXIT_DEFINE(name)							\
	struct scx_test_exit name SEC(".data");						\
	char RESIZABLE_ARRAY(data, name##_dump);					\
	const volatile u32 name##_dump_len

#define SCX_TEST_EXIT_RECORD(name, ei)							\
({											\
	if (name##_dump_len)								\
		bpf_probe_read_kernel_str(name##_dump, name##_dump_len, (ei)->dump);	\
	bpf_probe_read_kernel_str((name).reason, sizeof((name).reason), (ei)->reason);	\
	bpf_probe_read_kernel_str((name).msg, sizeof((name).msg), (ei)->msg);		\
	(name).exit_code = (ei)->exit_code;						\
	/* Last: the loader reads the strings once it sees a kind. */			\
	asm volatile("" ::: "memory");							\
	(name).kind = (ei)->kind;							\
})

#endif /* SCX_TEST_COMMON_BPF_H */
