/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libtld: task local data for C programs. Each process publishes named keys in
 * one metadata page; each thread that uses them owns one page of values that
 * BPF programs find by key name through the pinned task storage map.
 *
 *	TLD_DEFINE_KEY(prio, "sched.priority", sizeof(int));
 *	int *p = tld_resolve_key(prio);   // once per thread; then plain stores
 *	if (p) *p = 3;
 */
#ifndef TLD_H
#define TLD_H

#include <errno.h>
#include <stddef.h>

#include "tld_layout.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The page size libtld lays pages out for: the system's (getpagesize()), or
 * less when the map in use was made by a BPF object compiled for smaller
 * pages (its uptr structs' size: what its programs can reach).
 */
size_t tld_page_size(void);
/* The bytes of values a thread's page holds, and the keys a process can have, at that page size. */
#define TLD_DATA_MAX ((size_t)TLD_DATA_MAX_FOR(tld_page_size()))
#define TLD_MAX_KEYS ((int)TLD_MAX_KEYS_FOR(tld_page_size()))

/* An opaque key: the value's offset in a thread's data area, or -errno. */
typedef struct {
	int off;
} tld_off_t;

static inline int tld_off_is_err(tld_off_t k)
{
	return k.off < 0;
}

/* Returns the negative errno of a failed key, 0 for a valid one. */
static inline int tld_off_err(tld_off_t k)
{
	return k.off < 0 ? k.off : 0;
}

/*
 * Adds a key, or finds it. Callable at any time, from any thread, without
 * locks. Returns its offset; the same name with the same size returns the same
 * offset. Errors (negative off): -EINVAL for an empty name, a name longer than
 * TLD_NAME_MAX, size 0 or a size over TLD_DATA_MAX; -EEXIST for a name added
 * with another size; -ENOSPC when the page or the key table is full; -ENOMEM
 * or -EOPNOTSUPP (a page size outside 4 to 64 KiB) when the metadata page
 * cannot exist.
 */
tld_off_t tld_add_key_def(const char *name, size_t size);

/*
 * Returns the calling thread's address of the value of @off, 8-byte aligned.
 * The first call in a thread allocates its page and pins it, with the metadata
 * page, in the task storage map; later calls only add the offset. Returns NULL
 * with errno set on failure: the key's own error for a failed key, EINVAL for
 * an offset outside the page, or the error of opening the map (see
 * tld_map_fd()) or of the map update (EPERM without CAP_BPF / CAP_SYS_ADMIN).
 */
void *tld_resolve_key(tld_off_t off);

/*
 * Returns the calling thread's data area (the address of offset 0), pinning it
 * on first use as tld_resolve_key() does; NULL with errno set on failure.
 */
void *tld_thread_data(void);

/*
 * Returns the offset from the data area (tld_thread_data()) of a scratch area
 * of at least TLD_PAGE_SIZE_MIN bytes that every thread with a page has and
 * nothing reads: tld::variable stores the values of a key that failed there,
 * so that its stores need no check. It costs no memory until written.
 */
size_t tld_scratch_offset(void);

/*
 * Returns the fd of the task storage map, opening the pin
 * $TLD_PIN_DIR/tld_data_map (default /sys/fs/bpf/tld/tld_data_map) once per
 * process, or creating and pinning it when absent. Negative errno on failure:
 * -EINVAL for a pinned map of another shape (the reason goes to the print
 * callback), -EPERM without CAP_BPF, -ENOENT/-EACCES when bpffs or the folder
 * is missing or not writable.
 */
int tld_map_fd(void);

/*
 * Makes the library use @fd (a map of the right shape, of either layout
 * revision: see tld_layout.h) instead of the pin.
 * Call before any thread resolves a key. Returns 0, -EINVAL for a map of
 * another shape, -EBUSY when a map is already in use. The caller keeps
 * ownership of @fd.
 */
int tld_use_map_fd(int fd);

/* Returns the pin path this process uses (it honours $TLD_PIN_DIR). */
const char *tld_map_pin_path(void);

/*
 * Releases everything: deletes every thread's map entry, frees the pages and
 * the metadata page, closes the map. For programs that unload the library;
 * no other thread may use task local data meanwhile or afterwards.
 */
void tld_free(void);

/* Diagnostics (why a map was refused, what failed): default to stderr. */
typedef void (*tld_print_fn_t)(const char *msg);
tld_print_fn_t tld_set_print(tld_print_fn_t fn);

/* Defines a global key, added by a constructor before main(). */
#define TLD_DEFINE_KEY(ident, name, size)                                          \
	tld_off_t ident = { -EAGAIN };                                             \
	__attribute__((constructor)) static void __tld_define_key_##ident(void)    \
	{                                                                          \
		ident = tld_add_key_def((name), (size));                           \
	}

/* Declares a key defined with TLD_DEFINE_KEY() in another compilation unit. */
#define TLD_DECLARE_KEY(ident) extern tld_off_t ident

#ifdef __cplusplus
}
#endif

#endif /* TLD_H */
