/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The helper's kernel side: iterators over the task local data map that list
 * the processes using it, dump one process's metadata and data pages in one
 * pass, and write values into its threads' pages; and a program that lists
 * a process's threads for attach. Records are defined in
 * tldh_records.h; the helper (native/helper/) serialises runs, so the globals
 * below are its per-run arguments.
 *
 * One object serves maps of both layout revisions and every page size: the
 * helper reads the map's shape before loading and sets the read-only globals
 * below. The verifier sees them as constants, so it checks only the branches
 * of this map's revision, and bounds accesses by the map's page size.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "tld.bpf.h"
#include "tldh_records.h"
#include "tldh_sched.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* The map's shape, set by the helper before loading: its pages' size and its layout revision. */
const volatile __u32 page_size = 4096;
const volatile __u32 layout = TLD_LAYOUT_START_IN_PAGE;

#define META_LEN TLD_META_SIZE_FOR(page_size)
#define MAX_KEYS TLD_MAX_KEYS_FOR(page_size)

/* Arguments of write_values, set by the helper before each run. */
__u32 write_tid; /* 0: every thread of the process */
__u32 write_off; /* offset of the value in the data area */
__u32 write_len;
__u8 write_bytes[TLD_DATA_MAX_FOR(TLD_PAGE_SIZE_MAX)];

/*
 * When not 0, set by the helper before a run: 1 + the start time of the process
 * the link's pid was checked for, in clock ticks after boot as /proc/PID/stat
 * shows it. Threads of a process that took the pid since are skipped, so a write
 * never lands in another process whatever happened to the pid meanwhile.
 */
__u64 expect_start;

/* /proc's clock tick (USER_HZ 100): the unit of expect_start. */
#define TLDH_NSEC_PER_TICK 10000000ull

static const __u8 zeros[8];

static __always_inline bool same_process(struct task_struct *task)
{
	return !expect_start ||
	       task->group_leader->start_boottime / TLDH_NSEC_PER_TICK + 1 == expect_start;
}

/*
 * Where a thread's data area starts: the data page's own `start`, or the map
 * value's. Only this map's revision's branch is ever verified (layout is a constant).
 */
static __always_inline __u64 start_of(struct tld_map_value *v, struct tld_data_page *d)
{
	if (layout == TLD_LAYOUT_START_IN_VALUE)
		return ((struct tld_map_value_v2 *)v)->start;
	return d->start;
}

/* Entry @i of a metadata page of page_size bytes (the struct's array is sized for 4 KiB). */
static __always_inline struct tld_meta_entry *entry_at(struct tld_meta_page *m, __u32 i)
{
	return (void *)m + TLD_META_HEADER + (__u64)i * TLD_ENTRY_SIZE;
}

struct usage_ctx {
	struct tld_meta_page *meta;
	__u32 cnt;
	__u32 used;
};

static int usage_entry(__u32 i, struct usage_ctx *c)
{
	__u16 sz;

	if (i >= MAX_KEYS)
		return 1;
	sz = entry_at(c->meta, i)->size;
	if (!sz)
		return 1; /* not published yet: nothing after it counts */
	c->cnt = i + 1;
	c->used += TLD_ROUND_UP(sz);
	return 0;
}

/* Published keys and the bytes their values take, from a metadata page. */
static __always_inline void meta_usage(struct tld_meta_page *meta, __u32 *cnt, __u32 *used)
{
	struct usage_ctx c = { .meta = meta };
	__u32 n = meta->cnt;

	bpf_loop(n > MAX_KEYS ? MAX_KEYS : n, usage_entry, &c, 0);
	*cnt = c.cnt;
	*used = c.used;
}

/* include/linux/sched/signal.h: signal_struct.flags while the thread group exits */
#define SIGNAL_GROUP_EXIT 0x00000004

static __always_inline void fill_thread(struct tldh_thread_rec *r, struct task_struct *task)
{
	if (task->signal->flags & SIGNAL_GROUP_EXIT)
		r->flags |= TLDH_THREAD_EXITING;
	r->page_size = page_size;
	r->layout = layout;
	r->tid = task->pid;
	r->tgid = task->tgid;
	/* Two loads, not a helper call: the kernel keeps comm's last byte 0 (set_task_comm pads). */
	__builtin_memcpy(r->comm, task->comm, sizeof(r->comm));
}

/* Every task that has an entry, with its process's key count and fill. */
SEC("iter/task")
int list_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct tldh_rec hdr = { TLDH_REC_THREAD, sizeof(struct tldh_thread_rec) };
	struct tldh_thread_rec r = {};
	struct tld_map_value *v;
	struct tld_data_page *d;
	struct tld_meta_page *m;

	if (!task)
		return 0;
	v = bpf_task_storage_get(&tld_data_map, task, 0, 0);
	if (!v)
		return 0;
	fill_thread(&r, task);
	r.flags |= TLDH_THREAD_HAS_ENTRY;
	d = v->data;
	m = v->meta;
	if (d) {
		r.flags |= TLDH_THREAD_HAS_DATA;
		r.start = start_of(v, d);
	}
	if (m) {
		r.flags |= TLDH_THREAD_HAS_META;
		meta_usage(m, &r.key_cnt, &r.used);
	}
	bpf_seq_write(ctx->meta->seq, &hdr, sizeof(hdr));
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/*
 * Arguments and results of list_threads: the process whose thread ids to
 * list, how many threads it has (even past TLDH_MAX_LISTED) and their ids.
 */
__u32 list_pid;
__u32 list_cnt;
__u32 list_tids[TLDH_MAX_LISTED];

/*
 * The thread ids of list_pid's process: the threads attach pins pages for.
 * Run with BPF_PROG_TEST_RUN: an open-coded task iterator walks the thread
 * list at a few nanoseconds a thread, where a seq_file iterator or
 * /proc/PID/task costs hundreds. Returns 0, or ESRCH when there is no such
 * process (or it is not the one the helper checked the pid for).
 */
SEC("syscall")
int list_threads(void *ctx)
{
	struct task_struct *leader, *t;

	list_cnt = 0;
	leader = bpf_task_from_pid(list_pid);
	if (!leader)
		return 3; /* ESRCH */
	if (!same_process(leader)) {
		bpf_task_release(leader);
		return 3;
	}
	bpf_rcu_read_lock();
	bpf_for_each(task, t, leader, BPF_TASK_ITER_PROC_THREADS) {
		/* A global, not a local: the verifier need not follow its every value. */
		__u32 n = list_cnt;

		if (n < TLDH_MAX_LISTED)
			list_tids[n] = t->pid;
		list_cnt = n + 1;
	}
	bpf_rcu_read_unlock();
	bpf_task_release(leader);
	return 0;
}

/* Per run of dump_process: whether the metadata page went out yet, and its key usage. */
__u32 dump_meta_done;
__u32 dump_used;

/*
 * One process (the link's pid filter): its metadata page once, then every
 * thread with the used part of its data page followed by how the scheduler
 * holds it, so a snapshot of hints and scheduling is one pass.
 */
SEC("iter/task")
int dump_process(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	/* Each record with its header, so that each goes out in one bpf_seq_write() call. */
	struct {
		struct tldh_rec h;
		struct tldh_thread_rec r;
	} t = { .h = { TLDH_REC_THREAD, sizeof(struct tldh_thread_rec) } };
	struct {
		struct tldh_rec h;
		struct tldh_sched_rec s;
	} sc = { .h = { TLDH_REC_SCHED, sizeof(struct tldh_sched_rec) } };
	struct tld_map_value *v;
	struct tld_data_page *d = NULL;
	struct tld_meta_page *m;
	__u64 len = 0, pad, end;

	if (!task || !same_process(task))
		return 0;
	fill_thread(&t.r, task);
	v = bpf_task_storage_get(&tld_data_map, task, 0, 0);
	if (v) {
		t.r.flags |= TLDH_THREAD_HAS_ENTRY;
		m = v->meta;
		if (m) {
			t.r.flags |= TLDH_THREAD_HAS_META;
			if (!dump_meta_done) {
				struct tldh_rec mh = { TLDH_REC_META, sizeof(struct tldh_meta_rec) +
								      TLD_ROUND_UP(META_LEN) };
				struct tldh_meta_rec mr = { task->tgid, META_LEN, page_size, layout };

				meta_usage(m, &t.r.key_cnt, &dump_used);
				bpf_seq_write(seq, &mh, sizeof(mh));
				bpf_seq_write(seq, &mr, sizeof(mr));
				bpf_seq_write(seq, m, META_LEN);
				bpf_seq_write(seq, zeros, (TLD_ROUND_UP(META_LEN) - META_LEN) & 7);
				dump_meta_done = 1;
			}
		}
		d = v->data;
		if (d) {
			t.r.flags |= TLDH_THREAD_HAS_DATA;
			t.r.start = start_of(v, d);
			/* The values end at start + the bytes the published keys use. */
			end = t.r.start + dump_used;
			len = end > page_size ? page_size : end;
		}
	}
	t.r.used = dump_used;
	t.r.data_len = len;
	pad = (8 - (len & 7)) & 7;
	t.h.size += len + pad;
	bpf_seq_write(seq, &t, sizeof(t));
	if (d && len) {
		barrier_var(len);
		if (len <= page_size)
			bpf_seq_write(seq, d, len);
	}
	if (pad)
		bpf_seq_write(seq, zeros, pad & 7);
	tldh_read_sched(&sc.s, task);
	bpf_seq_write(seq, &sc, sizeof(sc));
	return 0;
}

struct write_ctx {
	struct tld_data_page *d;
	__u64 base; /* page offset of the value */
};

static int write_byte(__u32 i, struct write_ctx *c)
{
	__u64 at = c->base + i;

	if (i >= sizeof(write_bytes) || at >= page_size)
		return 1;
	((__u8 *)c->d)[at] = write_bytes[i];
	return 0;
}

/* Writes write_bytes into the value at write_off of one thread, or of all, of the link's process. */
SEC("iter/task")
int write_values(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct tldh_rec hdr = { TLDH_REC_WRITTEN, sizeof(struct tldh_thread_rec) };
	struct tldh_thread_rec r = {};
	struct tld_map_value *v;
	struct write_ctx c;

	if (!task || (write_tid && task->pid != (int)write_tid) || !same_process(task))
		return 0;
	v = bpf_task_storage_get(&tld_data_map, task, 0, 0);
	if (!v || !v->data)
		return 0;
	c.d = v->data;
	r.start = start_of(v, c.d);
	/*
	 * Under the first revision the data area is at the page's start, so `start` is 8: any
	 * other value is upstream's header placing data elsewhere in the page (its readers look
	 * in the wrong place), and nothing is written there.
	 */
	if (layout == TLD_LAYOUT_START_IN_PAGE && r.start != TLD_DATA_START)
		return 0;
	c.base = r.start + write_off;
	/* The helper checked the range against the metadata; a page that says otherwise is skipped. */
	if (c.base + write_len > page_size || r.start < sizeof(__u64))
		return 0;
	bpf_loop(write_len, write_byte, &c, 0);
	fill_thread(&r, task);
	r.flags |= TLDH_THREAD_HAS_ENTRY | TLDH_THREAD_HAS_DATA;
	bpf_seq_write(ctx->meta->seq, &hdr, sizeof(hdr));
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
