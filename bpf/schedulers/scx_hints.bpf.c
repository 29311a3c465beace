/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_hints: a small sched_ext scheduler driven by task local data hints.
 *
 * Applications say which of their threads are latency critical with the hint
 * "sched.latency_critical" (u8) and how much CPU a thread deserves with
 * "sched.weight" (u32, 100 = normal). Latency-critical threads go to a
 * high-priority queue that every CPU drains first, with a short slice so they
 * do not hog it, and the CPU they wake on is kicked so that they need not wait
 * for the running task's slice to end. The others share a normal queue with a
 * slice scaled by their weight.
 *
 * Keys are resolved once per task in init_task and cached in the task's
 * context, so reading a hint on every enqueue costs one task storage lookup
 * (tld.bpf.h). Statistics are the globals below: tld-scx-run, the loader the
 * VM runner uses, prints every integer global as a counter and every
 * `u64 NAME[SCX_LAT_BUCKETS]` as a latency histogram.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "scx.bpf.h"
#include "tld.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define HI_DSQ 1
#define NORMAL_DSQ 2
#define SLICE_NS 5000000ULL     /* the normal slice: 5 ms at weight 100 */
#define HI_SLICE_NS 1000000ULL  /* latency-critical threads run in short bursts */

/* Per-task context: where each hint lives in this task's page, found once. */
struct task_ctx {
	struct tld_key latency;
	struct tld_key weight;
	u64 woke_at;    /* when it last woke up, until it runs; 0 otherwise */
	bool critical;  /* it was latency critical when it woke */
	bool counted;   /* in nr_tasks_hinted */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

/* Statistics, printed by the loader. */
u64 nr_tasks_hinted;      /* tasks seen with a hint */
u64 nr_enq_hi;            /* enqueued on the high-priority queue */
u64 nr_enq_normal;
u64 nr_weighted;          /* enqueued with a weight hint */
u64 nr_kicks;             /* CPUs kicked for a latency-critical thread */
/* Wake-up-to-run latency, in ns, of threads hinted latency critical and of all others. */
u64 lat_hinted[SCX_LAT_BUCKETS];
u64 lat_unhinted[SCX_LAT_BUCKETS];

static bool is_critical(struct task_struct *p, struct task_ctx *tctx)
{
	u8 *latency = tld_lookup(p, &tctx->latency, "sched.latency_critical", sizeof(u8));

	return latency && *latency;
}

/* Counts a task in nr_tasks_hinted the first time one of its hints is found. */
static void count_hinted(struct task_ctx *tctx)
{
	if (!tctx->counted) {
		tctx->counted = true;
		__sync_fetch_and_add(&nr_tasks_hinted, 1);
	}
}

SEC("struct_ops/hints_init_task")
s32 BPF_PROG(hints_init_task, struct task_struct *p, struct scx_init_task_args *args)
{
	struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);

	if (!tctx)
		return -12; /* -ENOMEM: the kernel refuses the task, it does not crash */
	/*
	 * Either key may be missing now (a new thread publishes its hints after it
	 * starts): tld_lookup finds it then.
	 */
	tld_key_init(p, &tctx->latency, "sched.latency_critical", sizeof(u8));
	tld_key_init(p, &tctx->weight, "sched.weight", sizeof(u32));
	return 0;
}

SEC("struct_ops/hints_enqueue")
void BPF_PROG(hints_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);
	u64 slice = SLICE_NS;
	u32 *weight;

	if (tctx) {
		if (is_critical(p, tctx)) {
			count_hinted(tctx);
			__sync_fetch_and_add(&nr_enq_hi, 1);
			scx_bpf_dsq_insert(p, HI_DSQ, HI_SLICE_NS, enq_flags);
			/*
			 * On a wake-up, no CPU was idle (the kernel's default CPU
			 * selection would have sent it straight there): preempt the
			 * CPU it last ran on, whose dispatch takes this queue first.
			 */
			if (enq_flags & SCX_ENQ_WAKEUP) {
				scx_bpf_kick_cpu(scx_bpf_task_cpu(p), SCX_KICK_PREEMPT);
				__sync_fetch_and_add(&nr_kicks, 1);
			}
			return;
		}
		weight = tld_lookup(p, &tctx->weight, "sched.weight", sizeof(u32));
		if (weight)
			count_hinted(tctx);
		/* Racy by design: the application may change its hint any time; any value is safe. */
		if (weight && *weight >= 10 && *weight <= 10000) {
			slice = SLICE_NS * *weight / 100;
			__sync_fetch_and_add(&nr_weighted, 1);
		}
	}
	__sync_fetch_and_add(&nr_enq_normal, 1);
	scx_bpf_dsq_insert(p, NORMAL_DSQ, slice, enq_flags);
}

SEC("struct_ops/hints_dispatch")
void BPF_PROG(hints_dispatch, s32 cpu, struct task_struct *prev)
{
	/* Latency-critical work first, then everything else. */
	if (!scx_bpf_dsq_move_to_local(HI_DSQ))
		scx_bpf_dsq_move_to_local(NORMAL_DSQ);
}

/* A task became runnable: on a wake-up, note when, and whether it is latency critical. */
SEC("struct_ops/hints_runnable")
void BPF_PROG(hints_runnable, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx;

	if (!(enq_flags & SCX_ENQ_WAKEUP))
		return;
	tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);
	if (!tctx)
		return;
	tctx->critical = is_critical(p, tctx);
	tctx->woke_at = bpf_ktime_get_ns();
}

/* A task got a CPU: the time since its wake-up goes to its histogram. */
SEC("struct_ops/hints_running")
void BPF_PROG(hints_running, struct task_struct *p)
{
	struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);
	u64 now = bpf_ktime_get_ns();

	if (!tctx || !tctx->woke_at)
		return;
	scx_lat_record(tctx->critical ? lat_hinted : lat_unhinted, now - tctx->woke_at);
	tctx->woke_at = 0;
}

/* Sleepable: scx_bpf_create_dsq may allocate. */
SCX_SLEEPABLE
s32 BPF_PROG(hints_init)
{
	s32 err = scx_bpf_create_dsq(HI_DSQ, -1);

	return err ? err : scx_bpf_create_dsq(NORMAL_DSQ, -1);
}

SEC("struct_ops/hints_exit")
void BPF_PROG(hints_exit, struct scx_exit_info *ei)
{
	scx_record_exit(ei);
}

SEC(".struct_ops")
struct sched_ext_ops hints_ops = {
	.init_task = (void *)hints_init_task,
	.enqueue = (void *)hints_enqueue,
	.dispatch = (void *)hints_dispatch,
	.runnable = (void *)hints_runnable,
	.running = (void *)hints_running,
	.init = (void *)hints_init,
	.exit = (void *)hints_exit,
	.name = "tld_hints",
};
