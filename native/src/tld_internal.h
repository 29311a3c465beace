/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the parts of libtld share with each other, and nothing else. */
#ifndef TLD_INTERNAL_H
#define TLD_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "tld.h"

#define TLD_HIDDEN __attribute__((visibility("hidden")))

/* The process's metadata page, created on first use (tld_keys.c). */
TLD_HIDDEN struct tld_meta_page *tld_meta_get(void);
/* Forgets the metadata page so that tld_free() can release it. */
TLD_HIDDEN struct tld_meta_page *tld_meta_take(void);

/*
 * Adds or finds a key in @meta, without locks (tld_meta.c). Returns its offset
 * or -EINVAL, -EEXIST, -ENOSPC as tld_add_key_def() documents.
 */
TLD_HIDDEN int tld_meta_add(struct tld_meta_page *meta, const char *name, size_t size);

/*
 * Opens the map pinned at @path, or with @create creates and pins it; the fd
 * or negative errno (-EINVAL for a map of another shape, reason printed).
 */
TLD_HIDDEN int tld_map_open_path(const char *path, bool create);
/* Creates an unpinned map of the shared shape; its fd or negative errno. */
TLD_HIDDEN int tld_map_create(void);
struct btf;
/* 0 when @value_type_id in @btf is the shared map value (two uptrs to complete page structs). */
TLD_HIDDEN int tld_btf_check_value(const struct btf *btf, __u32 value_type_id, const char *map);
/* 0 when @fd is a map of the shared shape; -EINVAL with the reason printed. */
TLD_HIDDEN int tld_map_check(int fd);

/*
 * Pins @page and @meta for thread @tid through a thread pidfd (tld_pin.c).
 * Returns 0 or negative errno (-ESRCH: the thread is gone).
 */
TLD_HIDDEN int tld_pin_thread(int map_fd, pid_t tid, struct tld_data_page *page, struct tld_meta_page *meta);
/* Deletes thread @tid's entry, which unpins its pages. */
TLD_HIDDEN void tld_unpin_thread(int map_fd, pid_t tid);

/*
 * Unpins and frees the calling thread's page, as its exit would; its next
 * tld_thread_data() allocates a new one (tld_thread.c).
 */
TLD_HIDDEN void tld_thread_release(void);

/* The map fd in use, or -1; never opens one (tld_map.c). */
TLD_HIDDEN int tld_map_fd_peek(void);
/* Closes the map if libtld opened it. */
TLD_HIDDEN void tld_map_release(void);

/* printf-style diagnostics through the print callback. */
TLD_HIDDEN void tld_pr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
