/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Readers for the libtld tests: an iter/task dump of every thread's values
 * (ready-made key cache), a tp_btf reader with a per-task context of its own
 * (tld_key_init once per task), and a probe that sees whether a thread still
 * has its map entry when it exits.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define TLD_KEY_CACHE_MAP
#include "tld.bpf.h"
#include "tld_test.h"

char LICENSE[] SEC("license") = "GPL";

const volatile pid_t target_tgid;

/* Copies a found value into @rec's slot @i. */
#define READ_KEY(rec, task, slot, name, type)                                       \
	do {                                                                        \
		type *__p = tld_lookup_cached(task, slot, name, sizeof(type));       \
		if (__p) {                                                          \
			(rec)->found |= 1u << (slot);                               \
			(rec)->vals[slot] = *__p;                                   \
		}                                                                   \
	} while (0)

SEC("iter/task")
int dump_values(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct tld_test_record rec = {};
	struct tld_test_pair *pair;

	if (!task || task->tgid != target_tgid)
		return 0;
	rec.tid = task->pid;
	if (bpf_task_storage_get(&tld_data_map, task, 0, 0))
		rec.has_entry = 1;
	READ_KEY(&rec, task, TLD_TEST_A, "test.a", __u64);
	READ_KEY(&rec, task, TLD_TEST_B, "test.b", __u32);
	READ_KEY(&rec, task, TLD_TEST_PLUGIN, "test.plugin", __u32);
	READ_KEY(&rec, task, TLD_TEST_LATE, "test.late", __u16);
	READ_KEY(&rec, task, TLD_TEST_CPP_INT, "test.cpp.int", __s32);
	pair = tld_lookup_cached(task, TLD_TEST_CPP_PAIR, "test.cpp.pair", sizeof(*pair));
	if (pair) {
		rec.found |= 1u << TLD_TEST_CPP_PAIR;
		rec.vals[TLD_TEST_CPP_PAIR] = pair->x;
		rec.pair_y = pair->y;
	}
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}

/* A scheduler-style per-task context that embeds its key cache. */
struct task_ctx {
	struct tld_key a;
	__u32 initialised;
	int init_err;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_ctx);
} task_ctxs SEC(".maps");

/* tid -> the value of "test.a" the tp_btf program read at that thread's getpid(). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} seen_a SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(on_sys_enter, struct pt_regs *regs, long id)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_ctx *tctx;
	__u64 *a;
	__u32 tid;

	if (id != TLD_TEST_SYSCALL || task->tgid != target_tgid)
		return 0;
	tctx = bpf_task_storage_get(&task_ctxs, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tctx)
		return 0;
	if (!tctx->initialised) {
		tctx->init_err = tld_key_init(task, &tctx->a, "test.a", sizeof(__u64));
		tctx->initialised = 1;
	}
	a = tld_lookup(task, &tctx->a, "test.a", sizeof(__u64));
	if (!a)
		return 0;
	tid = task->pid;
	bpf_map_update_elem(&seen_a, &tid, a, BPF_ANY);
	return 0;
}

__u64 exits_with_entry;
__u64 exits_without_entry;

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *p, bool group_dead)
{
	struct task_struct *task = bpf_get_current_task_btf();

	if (task->tgid != target_tgid || task->pid == task->tgid)
		return 0;
	if (bpf_task_storage_get(&tld_data_map, task, 0, 0))
		__sync_fetch_and_add(&exits_with_entry, 1);
	else
		__sync_fetch_and_add(&exits_without_entry, 1);
	return 0;
}
