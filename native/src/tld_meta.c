/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Lock-free key registration in a metadata page (libtld's, or one the helper builds for attach), and the page size. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "tld_internal.h"

TLD_HIDDEN size_t tld_system_page(void)
{
	long page = sysconf(_SC_PAGESIZE);

	if (page < TLD_PAGE_SIZE_MIN || page > TLD_PAGE_SIZE_MAX || (page & (page - 1)))
		return 0;
	return (size_t)page;
}

/* Waits for a claimed entry to be published: its size is stored last. */
static __u16 tld_entry_size(struct tld_meta_entry *e)
{
	__u16 sz;

	while (!(sz = __atomic_load_n(&e->size, __ATOMIC_ACQUIRE)))
		sched_yield();
	return sz;
}

TLD_HIDDEN int tld_meta_add(struct tld_meta_page *meta, size_t page, const char *name, size_t size)
{
	const size_t data_max = TLD_DATA_MAX_FOR(page);
	const int max_keys = TLD_MAX_KEYS_FOR((int)page);
	size_t len, off = 0;
	__u16 cnt;
	int i;

	if (!name || !(len = strnlen(name, TLD_NAME_LEN)) || len > TLD_NAME_MAX ||
	    size == 0 || size > data_max)
		return -EINVAL;

	/*
	 * Protocol: entries are only ever appended. A writer claims slot `cnt`
	 * by compare-and-swap, then writes the name, then publishes the size
	 * with release order. Readers walk the published entries in order,
	 * waiting on a claimed slot until its size is non-zero, so every
	 * reader sums the same sizes before a given slot and sees the same
	 * offset for it.
	 */
	for (i = 0; i < max_keys; i++) {
		struct tld_meta_entry *e = &meta->entries[i];
		__u16 sz;

		cnt = __atomic_load_n(&meta->cnt, __ATOMIC_ACQUIRE);
		if (i < cnt) {
			sz = tld_entry_size(e);
			if (!strncmp(e->name, name, TLD_NAME_LEN)) {
				if (sz != size)
					return -EEXIST;
				/* Added for larger pages than @page: past what readers of @page reach. */
				return off + sz > data_max ? -ENOSPC : (int)off;
			}
			off += TLD_ROUND_UP(sz);
			continue;
		}
		if (off + TLD_ROUND_UP(size) > data_max)
			return -ENOSPC;
		if (!__atomic_compare_exchange_n(&meta->cnt, &cnt, cnt + 1, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			/* Another writer took slot i: read it like any published entry. */
			i--;
			continue;
		}
		memcpy(e->name, name, len);
		__atomic_store_n(&e->size, (__u16)size, __ATOMIC_RELEASE);
		return (int)off;
	}
	return -ENOSPC;
}
