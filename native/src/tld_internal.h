/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the parts of libtld share with each other, and nothing else. */
#ifndef TLD_INTERNAL_H
#define TLD_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "tld.h"

#define TLD_HIDDEN __attribute__((visibility("hidden")))

/* The system's page size when the layout supports it (4 to 64 KiB, a power of two), else 0. */
TLD_HIDDEN size_t tld_system_page(void);

/* What libtld knows of a map: its layout revision and the page size its uptr structs are for. */
struct tld_map_shape {
	enum tld_layout_rev rev;
	/* The data page struct's size in the map's BTF, or the system page when unreadable. */
	size_t page;
};

/* The process's metadata page (one system page), created on first use (tld_keys.c). */
TLD_HIDDEN struct tld_meta_page *tld_meta_get(void);
/* Forgets the metadata page so that tld_free() can release it. */
TLD_HIDDEN struct tld_meta_page *tld_meta_take(void);

/*
 * Adds or finds a key in @meta, laid out for pages of @page bytes, without
 * locks (tld_meta.c). Returns its offset or -EINVAL, -EEXIST, -ENOSPC as
 * tld_add_key_def() documents.
 */
TLD_HIDDEN int tld_meta_add(struct tld_meta_page *meta, size_t page, const char *name, size_t size);

/*
 * Opens the map pinned at @path, or with @create creates (revision @rev) and
 * pins it; the fd or negative errno (-EINVAL for a map of another shape,
 * reason printed). Fills @shape when not NULL.
 */
TLD_HIDDEN int tld_map_open_path(const char *path, bool create, enum tld_layout_rev rev,
				 struct tld_map_shape *shape);
/* Creates an unpinned map of the shared shape in layout revision @rev; its fd or negative errno. */
TLD_HIDDEN int tld_map_create(enum tld_layout_rev rev);
struct btf;
/*
 * 0 when @value_type_id in @btf is a shared map value of either revision (two
 * uptrs to complete page structs, then for the later one a u16 start), with
 * @shape filled; -EINVAL with the reason printed otherwise.
 */
TLD_HIDDEN int tld_btf_check_value(const struct btf *btf, __u32 value_type_id, const char *map,
				   struct tld_map_shape *shape);
/* 0 when @fd is a map of the shared shape (@shape filled when not NULL); -EINVAL with the reason printed. */
TLD_HIDDEN int tld_map_check(int fd, struct tld_map_shape *shape);

/*
 * Pins @page and @meta for thread @tid through a thread pidfd, as a map of
 * revision @rev holds them (tld_pin.c). @flags: BPF_ANY replaces an entry the
 * thread has, BPF_NOEXIST leaves it. Returns 0 or negative errno (-ESRCH: the
 * thread is gone; -EEXIST: it has an entry and @flags is BPF_NOEXIST).
 */
TLD_HIDDEN int tld_pin_thread(int map_fd, enum tld_layout_rev rev, pid_t tid, struct tld_data_page *page,
			      struct tld_meta_page *meta, __u64 flags);
/* Deletes thread @tid's entry, which unpins its pages. */
TLD_HIDDEN void tld_unpin_thread(int map_fd, pid_t tid);

/*
 * Unpins and frees the calling thread's page, as its exit would; its next
 * tld_thread_data() allocates a new one (tld_thread.c).
 */
TLD_HIDDEN void tld_thread_release(void);

/* The map fd in use, or -1; never opens one (tld_map.c). */
TLD_HIDDEN int tld_map_fd_peek(void);
/* The shape of the map in use; meaningful once tld_map_fd() succeeded. */
TLD_HIDDEN struct tld_map_shape tld_map_shape(void);
/* Closes the map if libtld opened it. */
TLD_HIDDEN void tld_map_release(void);

/* printf-style diagnostics through the print callback. */
TLD_HIDDEN void tld_pr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
