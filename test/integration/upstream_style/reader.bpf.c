/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A hint reader in the style of upstream's task_local_data.bpf.h, written from the layout as
 * TLD Studio's tests describe it (not upstream's code): tld_object_init() and tld_get_data()
 * with a per-task key cache, for revision TLD_REV (1: `start` in the data page, 2: in the map
 * value) and pages of __PAGE_SIZE bytes (the kernel's enumerator in vmlinux.h). An iterator prints, for every thread of cfg.tgid with
 * an entry, "TID FOUND A B": A the u32 key cfg.a, B the u64 key cfg.b, FOUND bit 0/1 for each.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#ifndef TLD_REV
#error "build with -DTLD_REV=1 or -DTLD_REV=2"
#endif

char LICENSE[] SEC("license") = "GPL";

#define __uptr __attribute__((btf_type_tag("uptr")))
#define NAME_LEN 62
#define MAX_CNT (__PAGE_SIZE / 64 - 1)

typedef struct {
	__s16 off;
} tld_key_t;

struct tld_metadata {
	char name[NAME_LEN];
	__u16 size;
};

#if TLD_REV == 1
struct tld_meta_u {
	__u8 cnt;
	__u16 size;
	struct tld_metadata metadata[MAX_CNT];
};

struct tld_data_u {
	__u64 start;
	char data[__PAGE_SIZE - 8];
};

struct tld_map_value {
	struct tld_data_u __uptr *data;
	struct tld_meta_u __uptr *meta;
};
#else
struct tld_meta_u {
	__u16 cnt;
	__u16 size;
	struct tld_metadata metadata[MAX_CNT];
};

struct tld_data_u {
	__u64 unused;
	char data[__PAGE_SIZE - 8];
};

struct tld_map_value {
	struct tld_data_u __uptr *data;
	struct tld_meta_u __uptr *meta;
	__u16 start;
};
#endif

/* Makes both pointee structs complete in BTF (a forward declaration would not be pinned). */
struct tld_full_btf {
	struct tld_data_u data[0];
	struct tld_meta_u meta[0];
} *tld_full_btf_ptr;

struct tld_keys {
	tld_key_t a;
	tld_key_t b;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tld_map_value);
} tld_data_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tld_keys);
} tld_key_map SEC(".maps");

struct cfg {
	int tgid;
	char a[NAME_LEN];
	char b[NAME_LEN];
};

/* Set by the loader before loading: its own section, so the loader finds it alone. */
const volatile struct cfg cfg SEC(".rodata.cfg");

struct tld_object {
	struct tld_map_value *value;
	struct tld_keys *keys;
};

static __always_inline int tld_object_init(struct task_struct *task, struct tld_object *o)
{
	o->value = bpf_task_storage_get(&tld_data_map, task, 0, 0);
	if (!o->value)
		return -1;
	o->keys = bpf_task_storage_get(&tld_key_map, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	return o->keys ? 0 : -1;
}

/* The value's offset from the page's base when @name is published, else minus the count searched. */
static __always_inline int tld_fetch_key(struct tld_object *o, const volatile char *name, int from)
{
	struct tld_meta_u *m = o->value->meta;
	struct tld_data_u *d = o->value->data;
	int i, cnt, start, off = 0;

	if (!m || !d)
		return 0;
#if TLD_REV == 1
	start = d->start;
#else
	start = o->value->start;
#endif
	cnt = m->cnt;
	for (i = 0; i < MAX_CNT; i++) {
		struct tld_metadata *e = &m->metadata[i];

		if (i >= cnt)
			break;
		if (i >= from && !bpf_strncmp(e->name, NAME_LEN, (const char *)name))
			return start + off;
		off += (e->size + 7) & ~7;
	}
	return -cnt;
}

static __always_inline void *tld_get_data(struct tld_object *o, tld_key_t *key, const volatile char *name,
					  int size)
{
	void *d = o->value->data;
	long off = key->off;

	if (!d)
		return NULL;
	if (off <= 0) {
		struct tld_meta_u *m = o->value->meta;

		if (!m || -off >= m->cnt)
			return NULL;
		off = tld_fetch_key(o, name, -off);
		key->off = off;
	}
	barrier_var(off);
	if (off > 0) {
		barrier_var(off);
		if (off <= __PAGE_SIZE - size)
			return d + off;
	}
	return NULL;
}

SEC("iter/task")
int dump(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct tld_object o;
	__u64 b = 0, found = 0;
	__u32 *pa, a = 0;
	__u64 *pb;

	if (!task || task->tgid != cfg.tgid || tld_object_init(task, &o))
		return 0;
	pa = tld_get_data(&o, &o.keys->a, cfg.a, sizeof(__u32));
	if (pa) {
		a = *pa;
		found |= 1;
	}
	pb = tld_get_data(&o, &o.keys->b, cfg.b, sizeof(__u64));
	if (pb) {
		b = *pb;
		found |= 2;
	}
	BPF_SEQ_PRINTF(ctx->meta->seq, "%d %llu %u %llu\n", task->pid, found, a, b);
	return 0;
}
