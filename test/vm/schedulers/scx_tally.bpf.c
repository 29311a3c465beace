/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_tally: a global FIFO scheduler that counts, per CPU, how many tasks it hands out.
 *
 * A waking task that finds an idle CPU goes straight to that CPU's local queue; every
 * other task waits in one shared queue that each CPU takes from when it runs out of work.
 * Written the way sched_ext schedulers usually are, so that loaders are tested on what
 * they will meet: the ops table in ".struct_ops.link", a sleepable init ("struct_ops.s/"),
 * constants resolved at load (SCX_DSQ_LOCAL, SCX_SLICE_DFL, SCX_ENQ_WAKEUP), a per-CPU
 * array resized by the loader, and rodata the loader must set:
 *
 *   nr_cpus   the number of possible CPUs, the bound of the per-CPU array. Its default 0
 *             is deliberately wrong: left unset, the first dispatch ends the scheduler
 *             with an error that names it.
 *   slice_us  the time slice; 0 (the default) means the kernel's SCX_SLICE_DFL.
 */
#include <scx_test/common.bpf.h>

char _license[] SEC("license") = "GPL";

#define SHARED_DSQ 1

const volatile u32 nr_cpus;
const volatile u64 slice_us;

/* How many tasks each CPU took, resized to nr_cpus elements by the loader. */
u64 RESIZABLE_ARRAY(data, cpu_dispatches);

/* Totals, read by the loader. */
u64 nr_direct;   /* woken onto an idle CPU's local queue */
u64 nr_shared;   /* queued on the shared queue */
u64 nr_wakeups;  /* enqueues flagged as wake-ups */

SCX_TEST_EXIT_DEFINE(tally_uei);

static u64 slice(void)
{
	return slice_us ? slice_us * 1000 : SCX_SLICE_DFL;
}

s32 BPF_STRUCT_OPS(tally_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	bool idle = false;
	s32 cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &idle);

	/* Inserting from select_cpu skips enqueue: the task runs next on that idle CPU. */
	if (idle) {
		__sync_fetch_and_add(&nr_direct, 1);
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, slice(), 0);
	}
	return cpu;
}

void BPF_STRUCT_OPS(tally_enqueue, struct task_struct *p, u64 enq_flags)
{
	if (enq_flags & SCX_ENQ_WAKEUP)
		__sync_fetch_and_add(&nr_wakeups, 1);
	__sync_fetch_and_add(&nr_shared, 1);
	scx_bpf_dsq_insert(p, SHARED_DSQ, slice(), enq_flags);
}

void BPF_STRUCT_OPS(tally_dispatch, s32 cpu, struct task_struct *prev)
{
	/*
	 * nr_cpus is read-only once loaded, so the verifier knows its value and accepts the
	 * index below it only if the loader sized the array to at least nr_cpus elements.
	 */
	if (cpu < 0 || (u32)cpu >= nr_cpus) {
		scx_bpf_error("CPU %d is not below nr_cpus (%u): the loader must set nr_cpus to the number of possible CPUs",
			      cpu, nr_cpus);
		return;
	}
	if (scx_bpf_dsq_move_to_local(SHARED_DSQ))
		__sync_fetch_and_add(&cpu_dispatches[cpu], 1);
}

s32 BPF_STRUCT_OPS_SLEEPABLE(tally_init)
{
	/* Creating a queue may allocate memory, hence a sleepable init. */
	return scx_bpf_create_dsq(SHARED_DSQ, -1);
}

void BPF_STRUCT_OPS(tally_exit, struct scx_exit_info *ei)
{
	SCX_TEST_EXIT_RECORD(tally_uei, ei);
}

SCX_OPS_DEFINE(tally_ops,
	       .select_cpu = (void *)tally_select_cpu,
	       .enqueue = (void *)tally_enqueue,
	       .dispatch = (void *)tally_dispatch,
	       .init = (void *)tally_init,
	       .exit = (void *)tally_exit,
	       .name = "tally");
