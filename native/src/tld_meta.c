/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Lock-free key registration in a metadata page: libtld's, or one the helper builds for attach. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>

#include "tld_internal.h"

/* Waits for a claimed entry to be published: its size is stored last. */
static __u16 tld_entry_size(struct tld_meta_entry *e)
{
	__u16 sz;

	while (!(sz = __atomic_load_n(&e->size, __ATOMIC_ACQUIRE)))
		sched_yield();
	return sz;
}

TLD_HIDDEN int tld_meta_add(struct tld_meta_page *meta, const char *name, size_t size)
{
	size_t len, off = 0;
	__u16 cnt;
	int i;

	if (!name || !(len = strnlen(name, TLD_NAME_LEN)) || len > TLD_NAME_MAX ||
	    size == 0 || size > TLD_DATA_MAX)
		return -EINVAL;

	/*
	 * Protocol: entries are only ever appended. A writer claims slot `cnt`
	 * by compare-and-swap, then writes the name, then publishes the size
	 * with release order. Readers walk the published entries in order,
	 * waiting on a claimed slot until its size is non-zero, so every
	 * reader sums the same sizes before a given slot and sees the same
	 * offset for it.
	 */
	for (i = 0; i < TLD_MAX_KEYS; i++) {
		struct tld_meta_entry *e = &meta->entries[i];
		__u16 sz;

		cnt = __atomic_load_n(&meta->cnt, __ATOMIC_ACQUIRE);
		if (i < cnt) {
			sz = tld_entry_size(e);
			if (!strncmp(e->name, name, TLD_NAME_LEN))
				return sz == size ? (int)off : -EEXIST;
			off += TLD_ROUND_UP(sz);
			continue;
		}
		if (off + TLD_ROUND_UP(size) > TLD_DATA_MAX)
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
