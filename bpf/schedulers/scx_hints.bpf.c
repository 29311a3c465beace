/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_hints: a small sched_ext scheduler driven by task local data hints.
 *
 * Applications say which of their threads are latency critical with the hint
 * "sched.latency_critical" (u8) and how much CPU a thread deserves with
 * "sched.weight" (u32, 100 = normal). The design, in three rules:
 *
 * 1. An idle CPU is the fastest CPU. On every wake-up select_cpu asks the
 *    kernel's default CPU selection for an idle CPU (the previous one when it is
 *    idle, so caches stay warm) and, when it finds one, inserts the task
 *    straight into that CPU's local queue: no shared queue, no extra dispatch.
 *
 * 2. Everything else is fair by virtual time. Tasks wait in one shared queue
 *    ordered by vtime: the CPU time a task used, divided by its weight (the
 *    "sched.weight" hint when set, else its nice weight). A task that slept is
 *    not charged for the sleep, so a thread that runs briefly and often wakes
 *    near the front of the queue and waits for the first CPU whose slice ends,
 *    not behind every CPU hog. Its credit is capped at one slice so that a
 *    long sleep does not buy a long run. The more tasks wait, the shorter the
 *    slices, so that a wait stays bounded; the scheduler tick (4 ms at HZ=250)
 *    is where a slice actually ends, so slices below a tick mean "at the next tick".
 *
 * 3. A hint buys latency, not CPU time. A latency-critical thread that wakes up
 *    while every CPU is busy does not queue: it goes to the head of a CPU's
 *    local queue with SCX_ENQ_PREEMPT, which ends the running task's slice at
 *    once, so it runs within microseconds instead of at the next tick. It gets
 *    a short slice; if it runs longer it goes back to the shared queue like any
 *    task, and it is charged vtime like any task. The CPU it preempts is one
 *    not already serving a latency-critical thread, so two hinted wake-ups at
 *    the same moment run in parallel instead of preempting each other. The hint
 *    is trusted as given: a scheduler for untrusted applications would bound it
 *    (for example, preempt only while the thread's vtime is not ahead).
 *
 * 4. While latency-critical threads are about (one woke up in the last
 *    RESERVE_NS), the last CPU is kept for them: no other task is placed on it
 *    and it does not take from the shared queue, so a latency-critical wake-up
 *    finds it idle and runs there at once, with nothing to preempt. This costs
 *    the other tasks one CPU while hinted threads are active: the price of the
 *    hint, paid only while it is used. In a virtual machine it also keeps that
 *    vCPU halted between wake-ups, which leaves the host a core for the timers
 *    that wake the threads: under TCG with 4 hogs on 2 vCPUs, preempting alone
 *    left the hinted threads' p99 lateness at 4.2 ms against the default
 *    scheduler's 6.2 ms, and with the hogs kept off one vCPU it was 2.9 ms. A
 *    one-CPU machine has nothing to reserve, and rule 3 does the work there.
 *    Tasks that may run on the last CPU only (per-CPU kernel threads such as
 *    ksoftirqd, or anything pinned there) wait in a queue of their own, which
 *    that CPU always serves: keeping it must never starve them, or the kernel
 *    disables the scheduler for a runnable task stall.
 *
 * Keys are resolved once per task in init_task and cached in the task's
 * context, so reading a hint costs one task storage lookup (tld.bpf.h).
 * Statistics are the globals below: tld-scx-run, the loader the VM runner
 * uses, prints every integer global as a counter and every
 * `u64 NAME[SCX_LAT_BUCKETS]` as a latency histogram.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "scx.bpf.h"
#include "tld.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define SHARED_DSQ 0
#define LAST_CPU_DSQ 1            /* tasks that may run on the last CPU only (rule 4) */
#define SLICE_NS 3000000ULL       /* the slice of a task that runs alone */
#define MIN_SLICE_NS 500000ULL    /* the floor when many wait: at the next tick */
#define CRITICAL_SLICE_NS 500000ULL /* latency-critical threads run in short bursts */
#define RESERVE_NS 100000000ULL   /* rule 4 holds this long after a latency-critical wake-up */

/* Per-task context: where each hint lives in this task's page, found once. */
struct task_ctx {
	struct tld_key latency;
	struct tld_key weight;
	u64 vtime;      /* virtual time: CPU time used, scaled by 100 / weight */
	u64 started;    /* when it last got a CPU */
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

/* Per-CPU: whether it runs a latency-critical thread now (running to stopping). */
struct cpu_ctx {
	bool critical;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct cpu_ctx);
} cpu_ctxs SEC(".maps");

/*
 * The vtime of the task that last started running: the queue's "now". Racy by
 * design (plain stores from every CPU): it only bounds a sleeper's credit.
 */
static u64 vtime_now;

/* When a latency-critical thread last woke up (rule 4); racy like vtime_now. */
static u64 critical_woke_at;

/* Statistics, printed by the loader. */
u64 nr_tasks_hinted;      /* tasks seen with a hint */
u64 nr_idle_direct;       /* wake-ups sent straight to an idle CPU */
u64 nr_critical_preempt;  /* latency-critical wake-ups that preempted a busy CPU */
u64 nr_critical_moved;    /* of those, sent to a CPU found by a scan (both first choices busy) */
u64 nr_reserved_direct;   /* latency-critical wake-ups sent to the reserved CPU, idle */
u64 nr_queued;            /* insertions into the shared vtime queue */
u64 nr_weighted;          /* runs charged to vtime by a weight hint */
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

/* The task's "sched.weight" hint when it has a sane one, else 0. */
static u32 hinted_weight(struct task_struct *p, struct task_ctx *tctx)
{
	u32 *weight = tld_lookup(p, &tctx->weight, "sched.weight", sizeof(u32));
	u32 w;

	if (!weight)
		return 0;
	count_hinted(tctx);
	/* Racy by design: the application may change its hint any time; read it once. */
	w = *(volatile u32 *)weight;
	return w >= 10 && w <= 10000 ? w : 0;
}

/* The task's weight: its hint, else its nice weight (100 at nice 0). */
static u64 task_weight(struct task_struct *p, struct task_ctx *tctx)
{
	u32 w = hinted_weight(p, tctx);

	if (!w)
		return p->scx.weight;
	__sync_fetch_and_add(&nr_weighted, 1);
	return w;
}

/* Whether @cpu runs, or is about to run, a latency-critical thread. */
static bool cpu_serves_critical(s32 cpu)
{
	u32 zero = 0;
	struct cpu_ctx *cctx = bpf_map_lookup_percpu_elem(&cpu_ctxs, &zero, cpu);

	if (cctx && cctx->critical)
		return true;
	/* Something waits in its local queue already: say, a hinted wake-up sent there a moment ago. */
	return scx_bpf_dsq_nr_queued(SCX_DSQ_LOCAL_ON | (u32)cpu) > 0;
}

struct pick_ctx {
	struct task_struct *p;
	s32 cpu;    /* in: the kernel's choice; out: the CPU to preempt */
	bool found;
};

/* bpf_loop callback: stops at the first allowed CPU that serves no latency-critical thread. */
static long pick_other_cpu(u64 i, void *data)
{
	struct pick_ctx *pc = data;

	if ((s32)i == pc->cpu || !bpf_cpumask_test_cpu(i, pc->p->cpus_ptr) || cpu_serves_critical(i))
		return 0;
	pc->cpu = i;
	pc->found = true;
	return 1;
}

/*
 * The CPU a latency-critical thread should preempt. First the CPU doing the
 * wake-up (for a timer, the one the thread slept on): it is running this very
 * moment, so preempting it needs no interrupt to another CPU, and in a virtual
 * machine it is the one vCPU certainly not descheduled by the host. Then @cpu,
 * the kernel's choice. Either only when it does not already serve such a
 * thread; else the first allowed CPU that does not. bpf_loop, not a for loop:
 * the verifier checks its callback once instead of every iteration, which
 * matters in a slow (TCG) guest.
 */
static s32 pick_preempt_cpu(struct task_struct *p, s32 cpu)
{
	s32 waker = bpf_get_smp_processor_id();
	struct pick_ctx pc = { .p = p, .cpu = cpu };

	if (bpf_cpumask_test_cpu(waker, p->cpus_ptr) && !cpu_serves_critical(waker))
		return waker;
	if (!cpu_serves_critical(cpu))
		return cpu;
	bpf_loop(scx_bpf_nr_cpu_ids(), pick_other_cpu, &pc, 0);
	if (pc.found)
		__sync_fetch_and_add(&nr_critical_moved, 1);
	return pc.cpu;
}

/* The CPU rule 4 keeps for latency-critical threads, or -1 while it keeps none. */
static s32 reserved_cpu(void)
{
	u32 n = scx_bpf_nr_cpu_ids();
	u64 at = critical_woke_at;

	if (n < 2 || !at || bpf_ktime_get_ns() - at > RESERVE_NS)
		return -1;
	return n - 1;
}

/* Whether @p may run on no CPU but the last, the one rule 4 keeps. */
static bool pinned_to_last_cpu(struct task_struct *p)
{
	u32 n = scx_bpf_nr_cpu_ids();

	return n >= 2 && p->nr_cpus_allowed == 1 && bpf_cpumask_test_cpu(n - 1, p->cpus_ptr);
}

struct idle_ctx {
	struct task_struct *p;
	s32 skip;   /* the reserved CPU */
	s32 cpu;    /* out: an idle CPU, claimed */
};

/* bpf_loop callback: claims the first idle CPU @p may use, other than the reserved one. */
static long claim_idle_cpu(u64 i, void *data)
{
	struct idle_ctx *ic = data;

	if ((s32)i == ic->skip || !bpf_cpumask_test_cpu(i, ic->p->cpus_ptr) || !scx_bpf_test_and_clear_cpu_idle(i))
		return 0;
	ic->cpu = i;
	return 1;
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
	/* A new task starts at the queue's now, neither ahead nor behind. */
	tctx->vtime = vtime_now;
	return 0;
}

SEC("struct_ops/hints_select_cpu")
s32 BPF_PROG(hints_select_cpu, struct task_struct *p, s32 prev_cpu, u64 wake_flags)
{
	struct task_ctx *tctx;
	s32 reserved = reserved_cpu(), cpu;
	bool is_idle = false, critical;

	tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);
	critical = tctx && is_critical(p, tctx);
	if (critical && reserved >= 0 && bpf_cpumask_test_cpu(reserved, p->cpus_ptr) && scx_bpf_test_and_clear_cpu_idle(reserved)) {
		/* Rule 4: the kept CPU is idle; run there now. */
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, CRITICAL_SLICE_NS, 0);
		__sync_fetch_and_add(&nr_reserved_direct, 1);
		return reserved;
	}
	if (reserved >= 0 && !critical) {
		/* Rule 1 without the kept CPU: the kernel's choice could be it. */
		struct idle_ctx ic = { .p = p, .skip = reserved, .cpu = -1 };

		if (prev_cpu != reserved && bpf_cpumask_test_cpu(prev_cpu, p->cpus_ptr) && scx_bpf_test_and_clear_cpu_idle(prev_cpu))
			ic.cpu = prev_cpu;
		else
			bpf_loop(scx_bpf_nr_cpu_ids(), claim_idle_cpu, &ic, 0);
		if (ic.cpu >= 0) {
			scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, SLICE_NS, 0);
			__sync_fetch_and_add(&nr_idle_direct, 1);
			return ic.cpu;
		}
		return prev_cpu; /* to the shared queue: enqueue does not care which CPU's */
	}
	cpu = scx_bpf_select_cpu_dfl(p, prev_cpu, wake_flags, &is_idle);
	if (is_idle) {
		/* Rule 1: the kernel reserved this idle CPU for us; enqueue is skipped. */
		scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, SLICE_NS, 0);
		__sync_fetch_and_add(&nr_idle_direct, 1);
		return cpu;
	}
	/* Rule 3: enqueue, which runs on the returned CPU's queue, preempts it. */
	if (critical)
		return pick_preempt_cpu(p, cpu);
	return cpu;
}

SEC("struct_ops/hints_enqueue")
void BPF_PROG(hints_enqueue, struct task_struct *p, u64 enq_flags)
{
	struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);
	u64 vtime = vtime_now, slice;
	u32 waiting;
	s32 cpu;

	if (tctx) {
		if ((enq_flags & SCX_ENQ_WAKEUP) && is_critical(p, tctx)) {
			count_hinted(tctx);
			/* Rule 3: head of this CPU's local queue, its current task's slice ended. */
			scx_bpf_dsq_insert(p, SCX_DSQ_LOCAL, CRITICAL_SLICE_NS, enq_flags | SCX_ENQ_PREEMPT);
			__sync_fetch_and_add(&nr_critical_preempt, 1);
			return;
		}
		/* Rule 2: a sleeper's credit is at most one slice. */
		vtime = tctx->vtime;
		if ((s64)(vtime - (vtime_now - SLICE_NS)) < 0)
			vtime = vtime_now - SLICE_NS;
	}
	/* Rule 2: share the slice with those already waiting, down to a floor. */
	waiting = scx_bpf_dsq_nr_queued(SHARED_DSQ);
	slice = SLICE_NS / (waiting + 1);
	if (slice < MIN_SLICE_NS)
		slice = MIN_SLICE_NS;
	__sync_fetch_and_add(&nr_queued, 1);
	scx_bpf_dsq_insert_vtime(p, pinned_to_last_cpu(p) ? LAST_CPU_DSQ : SHARED_DSQ, slice, vtime, enq_flags);
	/*
	 * Rule 1 again: a CPU may have gone idle since select_cpu looked (or the
	 * task was not woken, but preempted or new). Wake it to take the queue
	 * (the kept CPU, if picked, goes back to idle: it takes nothing).
	 */
	cpu = scx_bpf_pick_idle_cpu(p->cpus_ptr, 0);
	if (cpu >= 0)
		scx_bpf_kick_cpu(cpu, SCX_KICK_IDLE);
}

SEC("struct_ops/hints_dispatch")
void BPF_PROG(hints_dispatch, s32 cpu, struct task_struct *prev)
{
	/*
	 * The last CPU first serves the tasks that can run nowhere else: mostly
	 * short per-CPU kernel threads. (A task its user pinned there goes before
	 * the shared queue on that CPU; the other CPUs serve the shared queue.)
	 * Rule 4: kept, it takes nothing from the shared queue.
	 */
	if (cpu == scx_bpf_nr_cpu_ids() - 1 && scx_bpf_dsq_move_to_local(LAST_CPU_DSQ))
		return;
	if (cpu == reserved_cpu())
		return;
	scx_bpf_dsq_move_to_local(SHARED_DSQ);
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
	if (tctx->critical)
		critical_woke_at = tctx->woke_at;
}

/* A task got a CPU: its wake-up latency goes to a histogram; the CPU notes what it serves. */
SEC("struct_ops/hints_running")
void BPF_PROG(hints_running, struct task_struct *p)
{
	struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);
	struct cpu_ctx *cctx;
	u32 zero = 0;
	u64 now = bpf_ktime_get_ns();

	if (!tctx)
		return;
	tctx->started = now;
	/* Racy max of every CPU's vtime: close enough for a bound on credit. */
	if ((s64)(tctx->vtime - vtime_now) > 0)
		vtime_now = tctx->vtime;
	cctx = bpf_map_lookup_elem(&cpu_ctxs, &zero);
	if (cctx)
		cctx->critical = tctx->woke_at && tctx->critical;
	if (!tctx->woke_at)
		return;
	scx_lat_record(tctx->critical ? lat_hinted : lat_unhinted, now - tctx->woke_at);
	tctx->woke_at = 0;
}

/* A task left its CPU: charge the time it ran to its vtime, scaled by its weight. */
SEC("struct_ops/hints_stopping")
void BPF_PROG(hints_stopping, struct task_struct *p, bool runnable)
{
	struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0);
	struct cpu_ctx *cctx;
	u32 zero = 0;

	cctx = bpf_map_lookup_elem(&cpu_ctxs, &zero);
	if (cctx)
		cctx->critical = false;
	if (!tctx || !tctx->started)
		return;
	tctx->vtime += (bpf_ktime_get_ns() - tctx->started) * 100 / task_weight(p, tctx);
	tctx->started = 0;
}

/* Sleepable: scx_bpf_create_dsq may allocate. */
SCX_SLEEPABLE
s32 BPF_PROG(hints_init)
{
	s32 err = scx_bpf_create_dsq(SHARED_DSQ, -1);

	return err ? err : scx_bpf_create_dsq(LAST_CPU_DSQ, -1);
}

SEC("struct_ops/hints_exit")
void BPF_PROG(hints_exit, struct scx_exit_info *ei)
{
	scx_record_exit(ei);
}

SEC(".struct_ops")
struct sched_ext_ops hints_ops = {
	.select_cpu = (void *)hints_select_cpu,
	.init_task = (void *)hints_init_task,
	.enqueue = (void *)hints_enqueue,
	.dispatch = (void *)hints_dispatch,
	.runnable = (void *)hints_runnable,
	.running = (void *)hints_running,
	.stopping = (void *)hints_stopping,
	.init = (void *)hints_init,
	.exit = (void *)hints_exit,
	.name = "tld_hints",
};
