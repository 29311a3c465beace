/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Upstream's task local data API (the Linux BPF selftests' task_local_data.h)
 * over libtld: a program written for that header builds against libtld by
 * putting this folder first on its include path and linking -ltld.
 *
 *	cc app.c -I native/include/upstream -L native/build -ltld
 *
 * Where upstream's header misbehaves, this one keeps libtld's checked
 * behaviour instead:
 *
 *  - Names longer than 61 characters: -EINVAL. Upstream cuts them to 61
 *    characters without saying so, then fails to find the cut name the next
 *    time and adds a second entry for it.
 *  - Size 0: -EINVAL. Upstream accepts it, and since a 0 size means "entry
 *    not published yet", the next key creation waits for it forever.
 *  - The same name twice: the same size gives the existing key (two
 *    libraries may share one), another size -EEXIST. Upstream: always -EEXIST.
 *  - Too big: a size over a page's data area (4088 bytes) is -EINVAL, and a
 *    key that does not fit in what is left of the page -ENOSPC, as is one
 *    more key than the table holds. Upstream says -E2BIG for the first two.
 *  - Keys from tld_create_key() share the whole page with those of
 *    TLD_DEFINE_KEY(): there is no TLD_DYN_DATA_SIZE budget (accepted,
 *    unused), so they fail only when the page is full.
 *  - tld_get_data() with a failed key returns NULL with errno set to the
 *    key's error (upstream returns an address before the thread's data).
 *    Any NULL sets errno: EINVAL for a map that is not a task storage map
 *    with uptr values (the reason goes to libtld's print callback), EPERM
 *    without CAP_BPF, EBADF for a bad fd.
 *  - One map per process: the first tld_get_data() names the map every
 *    thread is pinned in. A later call with another map fails with EBUSY
 *    (upstream pins each thread in the map its first call names). Keep that
 *    map's fd open while threads use task local data.
 *  - tld_free() frees the calling thread's data as upstream's does, and
 *    first deletes its map entry, so BPF programs never read freed memory;
 *    the thread's next tld_get_data() gets a new, zeroed page. Threads that
 *    exit without tld_free() are cleaned up anyway: libtld always does what
 *    TLD_FREE_DATA_ON_THREAD_EXIT asks for (accepted, nothing to do).
 *  - The layout is fixed: a TLD_NAME_LEN other than 62 is a compile error,
 *    every thread gets a whole page (the system's, 4 to 64 KiB) with its data
 *    8 bytes in, so BPF readers of either of upstream's layout revisions find
 *    `start` where they look (the map's value BTF tells libtld which one it
 *    is: `start` in the page, or in the map value); TLD_DYN_DATA_SIZE,
 *    TLD_DATA_USE_ALIGNED_ALLOC and TLD_DONT_ROUND_UP_DATA_SIZE change nothing.
 *  - The library's internals (tld_meta_p, tld_data_p) are not reachable.
 *
 * Unlike upstream's header-only library, the state lives in libtld, so every
 * compilation unit and shared object of a process shares one set of keys.
 */
#ifndef __TASK_LOCAL_DATA_H
#define __TASK_LOCAL_DATA_H

#ifdef TLD_H
#error "include either tld.h (libtld's API) or task_local_data.h (upstream's), not both: their tld_free() differ"
#endif

/* What upstream's header brings in, for programs that rely on it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/types.h>
#ifndef __cplusplus
#include <stdatomic.h>
#endif
#ifdef TLD_FREE_DATA_ON_THREAD_EXIT
#include <pthread.h>
#endif

#include <linux/types.h>
#include <bpf/bpf.h>

#ifndef TLD_NAME_LEN
#define TLD_NAME_LEN 62
#elif TLD_NAME_LEN != 62
#error "libtld's layout has 62-byte names: TLD_NAME_LEN cannot change"
#endif

#ifndef TLD_DYN_DATA_SIZE
#define TLD_DYN_DATA_SIZE 64
#endif

#define TLD_PAGE_SIZE getpagesize()
#define TLD_MAX_DATA_CNT (TLD_PAGE_SIZE / sizeof(struct tld_metadata) - 1)

#ifdef __cplusplus
extern "C" {
#endif

/* A key: the value's offset in a thread's data, or a negative errno. */
typedef struct {
	__s16 off;
} tld_key_t;

/*
 * The shared layout under upstream's names, for programs that name them
 * (libtld's own definition is tld_layout.h). The u16 fields are atomic in
 * upstream's header; here they are plain so that C++ can include it.
 */
struct tld_metadata {
	char name[TLD_NAME_LEN];
	__u16 size;
};

struct tld_meta_u {
	__u16 cnt;
	__u16 size;
	struct tld_metadata metadata[];
};

struct tld_data_u {
	__u64 start;
	char data[];
};

struct tld_map_value {
	void *data;
	struct tld_meta_u *meta;
};

/* libtld's entry points for this header (native/src/tld_upstream.c). */
int tld_upstream_create_key(const char *name, size_t size);
void *tld_upstream_get_data(int map_fd, int off);
void tld_upstream_free(void);

/*
 * Defines the global key @key for @name, created by a constructor before
 * main(). Until then it holds -EAGAIN. File scope only.
 */
#define TLD_DEFINE_KEY(key, name, size)                                            \
	tld_key_t key = { -EAGAIN };                                               \
	__attribute__((constructor(101))) static void __tld_define_key_##key(void) \
	{                                                                          \
		key.off = (__s16)tld_upstream_create_key((name), (size));          \
	}

/*
 * Creates the key @name of @size bytes, or finds it. Check it with
 * tld_key_is_err() or tld_key_err_or_zero(): -EINVAL for an empty or too
 * long name or a bad size, -EEXIST for a name created with another size,
 * -ENOSPC for a full page or key table, -ENOMEM or -EOPNOTSUPP (a page size
 * outside 4 to 64 KiB) when there can be no metadata page.
 */
static inline tld_key_t tld_create_key(const char *name, size_t size)
{
	return (tld_key_t){ (__s16)tld_upstream_create_key(name, size) };
}

static inline bool tld_key_is_err(tld_key_t key)
{
	return key.off < 0;
}

static inline int tld_key_err_or_zero(tld_key_t key)
{
	return key.off < 0 ? key.off : 0;
}

/*
 * Returns the calling thread's address of @key's value, 8-byte aligned and
 * valid until tld_free() or the thread's exit. The thread's first call pins
 * its page in the map @map_fd (see above: one map per process). NULL with
 * errno set on failure.
 */
static inline void *tld_get_data(int map_fd, tld_key_t key)
{
	return tld_upstream_get_data(map_fd, key.off);
}

/* Unpins and frees the calling thread's data; its earlier pointers become invalid. */
static inline void tld_free(void)
{
	tld_upstream_free();
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* __TASK_LOCAL_DATA_H */
