/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Pinning a thread's pages in the task storage map, and unpinning them: one map entry per thread. */
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "tld_internal.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* a pidfd of one thread, not of its thread group */
#endif

TLD_HIDDEN int tld_pin_thread(int map_fd, enum tld_layout_rev rev, pid_t tid, struct tld_data_page *page,
			      struct tld_meta_page *meta, __u64 flags)
{
	/* libtld's pages are whole pages: the data area starts TLD_DATA_START bytes in, under both revisions. */
	struct tld_map_value v1 = { .data = page, .meta = meta };
	struct tld_map_value_v2 v2 = { .data = page, .meta = meta, .start = TLD_DATA_START };
	const void *v = rev == TLD_LAYOUT_START_IN_VALUE ? (const void *)&v2 : (const void *)&v1;
	int pidfd, err = 0;

	pidfd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (pidfd < 0)
		return -errno;
	/* The kernel pins the pages of the caller's address space, whichever thread the entry is for. */
	if (bpf_map_update_elem(map_fd, &pidfd, v, flags))
		err = -errno;
	close(pidfd);
	return err;
}

TLD_HIDDEN void tld_unpin_thread(int map_fd, pid_t tid)
{
	int pidfd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);

	if (pidfd < 0)
		return; /* the thread is gone, and the kernel freed its storage with it */
	bpf_map_delete_elem(map_fd, &pidfd);
	close(pidfd);
}
