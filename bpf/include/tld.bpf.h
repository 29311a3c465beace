/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Task local data for BPF programs: find a thread's hint values by key name.
 *
 * Each task that uses task local data has an entry in tld_data_map whose value
 * holds two uptrs: its data page and its process's metadata page (layout in
 * tld_layout.h). Finding a key by name means walking the metadata entries, so
 * a program caches the result per task in a struct tld_key:
 *
 *	struct task_ctx { ...; struct tld_key lat; };         // your per-task storage
 *
 *	s32 BPF_STRUCT_OPS(x_init_task, struct task_struct *p, ...)
 *	{
 *		tld_key_init(p, &ctx->lat, "sched.latency_critical", sizeof(u8));  // once per task
 *	}
 *	...
 *	u8 *lat = tld_lookup(p, &ctx->lat, "sched.latency_critical", sizeof(u8));
 *	if (lat && *lat) ...
 *
 * tld_lookup() then costs one task storage access plus a bounds check. A key
 * not published yet gives NULL, and a later lookup finds it once the process
 * adds it, without initialising the task again. A zeroed struct tld_key is
 * valid too (nothing searched yet). Programs with no per-task storage of their
 * own define TLD_KEY_CACHE_MAP before including this header and use
 * tld_lookup_cached(task, slot, name, size).
 *
 * The map is not pinned by this header: loaders share it with applications by
 * bpf_map__set_pin_path(skel->maps.tld_data_map, "/sys/fs/bpf/tld/tld_data_map")
 * (or tld_map_pin_path() from libtld) before loading.
 *
 * Layout revision: by default the map is upstream's first revision (a 16-byte
 * value; `start` is the data page's first u64), which libtld creates. Define
 * TLD_START_IN_VALUE before the include for its later revision (a 24-byte
 * value ending in `u16 start`), to share a map made by such a scheduler.
 * libtld and the TLD Studio tools read and write either.
 *
 * Page size: TLD_PAGE_SIZE, by default the __PAGE_SIZE of the vmlinux.h the
 * program is built against (the kernel's own enumerator, as upstream's header
 * uses it), so a program built for an arm64 kernel with 16 or 64 KiB pages gets
 * those; -DTLD_PAGE_SIZE=N overrides it. It sizes the uptr structs, and the
 * kernel and the verifier hold the program to them, so it is a compile-time
 * constant: a const volatile set by the loader could not resize BTF types, and
 * the metadata is the target's to write. A program built for 4 KiB pages still
 * works on larger ones: libtld reads the map's struct size and keeps its keys
 * within it.
 */
#ifndef TLD_BPF_H
#define TLD_BPF_H

#ifndef __bpf__
#error "tld.bpf.h is for BPF programs; user space includes tld.h"
#endif

#include <bpf/bpf_helpers.h>

#include "tld_layout.h"

#ifndef ENODATA
#define ENODATA 61
#endif
#ifndef ENOENT
#define ENOENT 2
#endif

#ifdef TLD_START_IN_VALUE
/* The map value of upstream's later revision: `start` is in it, not in the page. */
#define __tld_value struct tld_map_value_v2
#define __tld_start(v, d) ((__u64)(v)->start)
#else
#define __tld_value struct tld_map_value
#define __tld_start(v, d) ((d)->start)
#endif

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __tld_value);
} tld_data_map SEC(".maps");

/*
 * A key's place in one task's data page. off > 0: the value's offset from
 * the page's first byte. off <= 0: minus the number of metadata entries
 * already searched without finding the key.
 */
struct tld_key {
	__s32 off;
};

/* Offset meaning "found, but unusable" (wrong size, corrupt layout): lookups give NULL. */
#define TLD_KEY_INVALID TLD_PAGE_SIZE

struct __tld_search_ctx {
	struct tld_meta_page *meta;
	const char *name;
	__u64 start;
	__u32 size;
	__u32 off;  /* the running offset of entry i's value */
	int from;
	int result; /* 0 while searching */
};

static int __tld_search_entry(__u32 i, struct __tld_search_ctx *c)
{
	struct tld_meta_entry *e;
	__u16 sz;

	if (i >= TLD_MAX_KEYS)
		return 1;
	e = &c->meta->entries[i];
	/* Writers publish the size last: an entry with size 0 is not ready, nor anything after it. */
	sz = e->size;
	if (!sz) {
		c->result = -(int)i;
		return 1;
	}
	if ((int)i >= c->from && !bpf_strncmp(e->name, TLD_NAME_LEN, c->name)) {
		if (sz < c->size || c->start + c->off >= TLD_PAGE_SIZE)
			c->result = TLD_KEY_INVALID;
		else
			c->result = c->start + c->off;
		return 1;
	}
	c->off += TLD_ROUND_UP(sz);
	return 0;
}

/*
 * Walks the published entries from the first one, comparing names from
 * entry @from on. Returns the value's offset from the page start (> 0),
 * TLD_KEY_INVALID for a key whose size is smaller than @size or a layout that
 * points outside the page, or minus the entries searched. A bpf_loop keeps
 * verification to one pass over the body whatever the count, in callers of
 * every kind (struct_ops, tracing, iterators, and bpf_loop callbacks).
 */
static __attribute__((noinline)) int __tld_search(struct tld_meta_page *meta, __u64 start,
						   const char *name, int from, __u32 size)
{
	struct __tld_search_ctx c = {
		.meta = meta, .name = name, .start = start, .size = size, .from = from,
	};
	__u32 cnt = meta->cnt;

#ifndef TLD_START_IN_VALUE
	/*
	 * The first revision's data area is at the page's start: any other `start` is
	 * upstream's header placing it elsewhere in the page, where nothing can find it.
	 */
	if (start != TLD_DATA_START)
		return TLD_KEY_INVALID;
#endif
	if (cnt > TLD_MAX_KEYS)
		cnt = TLD_MAX_KEYS;
	bpf_loop(cnt, __tld_search_entry, &c, 0);
	return c.result ? c.result : -(int)cnt;
}

/*
 * The init step, once per task: resolves @key by @name. Returns 0 when found;
 * -ENOENT when the process has not published the key yet; -ENODATA when the
 * task has no task local data yet. In every case @key is usable afterwards.
 */
static __always_inline int tld_key_init(struct task_struct *task, struct tld_key *key,
				       const char *name, __u32 size)
{
	__tld_value *v;
	struct tld_data_page *data;
	struct tld_meta_page *meta;
	int off;

	key->off = 0;
	v = bpf_task_storage_get(&tld_data_map, task, 0, 0);
	if (!v)
		return -ENODATA;
	data = v->data;
	meta = v->meta;
	if (!data || !meta)
		return -ENODATA;
	off = __tld_search(meta, __tld_start(v, data), name, 0, size);
	key->off = off;
	return off > 0 ? 0 : -ENOENT;
}

/*
 * Returns a pointer to @task's value of @name (@size bytes, a constant), or
 * NULL when the task has no task local data or the key is not published (yet),
 * or is smaller than @size. @key caches where the value is; searching again
 * happens only while the key is missing and the process has added keys since.
 */
#define tld_lookup(task, key, name, size)                                                   \
	({                                                                                  \
		__tld_value *__v;                                                           \
		struct tld_data_page *__d;                                                  \
		struct tld_meta_page *__m;                                                  \
		void *__p = NULL;                                                           \
		__u64 __off;                                                                \
                                                                                            \
		__v = bpf_task_storage_get(&tld_data_map, (task), 0, 0);                    \
		__d = __v ? __v->data : NULL;                                               \
		if (__d) {                                                                  \
			/* Zero-extended: a cached key costs one 32-bit test and one      \
			 * bound below, no sign extension. */                              \
			__off = (__u32)(key)->off;                                          \
			if ((__s32)__off <= 0) {                                            \
				__m = __v->meta;                                            \
				if (__m && -(__s32)__off < __m->cnt) {                      \
					__off = (__u32)__tld_search(__m, __tld_start(__v, __d), \
								    (name), -(__s32)__off, (size)); \
					(key)->off = __off;                                 \
				}                                                           \
				/* Not found: an offset the bound below refuses. */         \
				if ((__s32)__off <= 0)                                      \
					__off = TLD_KEY_INVALID;                            \
			}                                                                   \
			/* From here on one bound: clang must not merge it with the test  \
			 * above into a range check on a copy, which the verifier cannot  \
			 * use. */                                                          \
			barrier_var(__off);                                                 \
			if (__off <= TLD_PAGE_SIZE - (size))                                \
				__p = (void *)__d + __off;                                  \
		}                                                                           \
		__p;                                                                        \
	})

#ifdef TLD_KEY_CACHE_MAP
#ifndef TLD_CACHE_KEYS
#define TLD_CACHE_KEYS 8
#endif

/* The ready-made cache: a task storage map of TLD_CACHE_KEYS keys per task. */
struct tld_key_cache {
	struct tld_key keys[TLD_CACHE_KEYS];
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tld_key_cache);
} tld_key_cache_map SEC(".maps");

/* Like tld_lookup(), with the key cached in slot @slot (a constant below TLD_CACHE_KEYS). */
#define tld_lookup_cached(task, slot, name, size)                                            \
	({                                                                                   \
		struct tld_key_cache *__c;                                                   \
		void *__r = NULL;                                                            \
                                                                                             \
		_Static_assert((slot) < TLD_CACHE_KEYS, "tld_lookup_cached: slot out of range"); \
		__c = bpf_task_storage_get(&tld_key_cache_map, (task), 0,                    \
					   BPF_LOCAL_STORAGE_GET_F_CREATE);                  \
		if (__c)                                                                     \
			__r = tld_lookup((task), &__c->keys[(slot)], (name), (size));         \
		__r;                                                                         \
	})
#endif /* TLD_KEY_CACHE_MAP */

#endif /* TLD_BPF_H */
