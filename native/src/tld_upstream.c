/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The calls behind include/upstream/task_local_data.h, the drop-in for upstream's header. */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "tld_internal.h"

/* Declared in include/upstream/task_local_data.h (which programs include instead of tld.h). */
int tld_upstream_create_key(const char *name, size_t size);
void *tld_upstream_get_data(int map_fd, int off);
void tld_upstream_free(void);

int tld_upstream_create_key(const char *name, size_t size)
{
	return tld_add_key_def(name, size).off;
}

static int tld_map_id(int fd, __u32 *id)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_map_get_info_by_fd(fd, &info, &len))
		return -errno;
	*id = info.id;
	return 0;
}

/*
 * 0 when @map_fd is the map this process's threads are pinned in, making it
 * that map when there is none yet. libtld pins every thread of a process in
 * one map, where upstream pins each thread in the map its first call names.
 */
static int tld_upstream_use_map(int map_fd)
{
	int cur = tld_map_fd_peek(), err;
	__u32 want = 0, have = 0;

	if (cur == map_fd && cur >= 0)
		return 0;
	if (map_fd < 0)
		return -EBADF;
	if (cur < 0) {
		/* 0, or the map's shape refused (-EINVAL, the reason printed). */
		err = tld_use_map_fd(map_fd);
		if (err != -EBUSY)
			return err;
		/* Another thread's first call was first. */
		cur = tld_map_fd_peek();
	}
	err = tld_map_id(map_fd, &want);
	if (!err)
		err = tld_map_id(cur, &have);
	if (err)
		return err;
	if (want == have)
		return 0;
	tld_pr("map fd %d (map id %u) is not the map this process's task local data is pinned in (map id %u)",
	       map_fd, want, have);
	return -EBUSY;
}

void *tld_upstream_get_data(int map_fd, int off)
{
	int err;

	/* A failed key adopts no map. */
	if (off < 0) {
		errno = -off;
		return NULL;
	}
	err = tld_upstream_use_map(map_fd);
	if (err) {
		errno = -err;
		return NULL;
	}
	return tld_resolve_key((tld_off_t){ off });
}

void tld_upstream_free(void)
{
	tld_thread_release();
}
