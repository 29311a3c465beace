/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The metadata page and lock-free key registration. */
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tld_internal.h"

static struct tld_meta_page *tld_meta;

TLD_HIDDEN struct tld_meta_page *tld_meta_get(void)
{
	struct tld_meta_page *meta, *expected = NULL;

	meta = __atomic_load_n(&tld_meta, __ATOMIC_ACQUIRE);
	if (meta)
		return meta;
	if (sysconf(_SC_PAGESIZE) != TLD_PAGE_SIZE) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	/* A whole zeroed page: the kernel pins it as one uptr. */
	meta = mmap(NULL, TLD_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (meta == MAP_FAILED)
		return NULL;
	meta->size = TLD_DATA_MAX;
	/* Two first callers may race: one page wins, the other is returned. */
	if (!__atomic_compare_exchange_n(&tld_meta, &expected, meta, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		munmap(meta, TLD_PAGE_SIZE);
		return expected;
	}
	return meta;
}

TLD_HIDDEN struct tld_meta_page *tld_meta_take(void)
{
	return __atomic_exchange_n(&tld_meta, NULL, __ATOMIC_ACQ_REL);
}

/* Waits for a claimed entry to be published: its size is stored last. */
static __u16 tld_entry_size(struct tld_meta_entry *e)
{
	__u16 sz;

	while (!(sz = __atomic_load_n(&e->size, __ATOMIC_ACQUIRE)))
		sched_yield();
	return sz;
}

tld_off_t tld_add_key_def(const char *name, size_t size)
{
	struct tld_meta_page *meta;
	size_t len, off = 0;
	__u16 cnt;
	int i;

	if (!name || !(len = strnlen(name, TLD_NAME_LEN)) || len > TLD_NAME_MAX ||
	    size == 0 || size > TLD_DATA_MAX)
		return (tld_off_t){ -EINVAL };
	meta = tld_meta_get();
	if (!meta)
		return (tld_off_t){ -errno };

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
				return sz == size ? (tld_off_t){ (int)off } : (tld_off_t){ -EEXIST };
			off += TLD_ROUND_UP(sz);
			continue;
		}
		if (off + TLD_ROUND_UP(size) > TLD_DATA_MAX)
			return (tld_off_t){ -ENOSPC };
		if (!__atomic_compare_exchange_n(&meta->cnt, &cnt, cnt + 1, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			/* Another writer took slot i: read it like any published entry. */
			i--;
			continue;
		}
		memcpy(e->name, name, len);
		__atomic_store_n(&e->size, (__u16)size, __ATOMIC_RELEASE);
		return (tld_off_t){ (int)off };
	}
	return (tld_off_t){ -ENOSPC };
}
