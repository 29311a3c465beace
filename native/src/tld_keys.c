/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The process's metadata page, the page size, and tld_add_key_def(). */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tld_internal.h"

static struct tld_meta_page *tld_meta;

size_t tld_page_size(void)
{
	size_t page = tld_system_page();

	/* A map made for smaller pages bounds what its programs reach: lay keys out within that. */
	if (tld_map_fd_peek() >= 0 && tld_map_shape().page < page)
		page = tld_map_shape().page;
	return page;
}

TLD_HIDDEN struct tld_meta_page *tld_meta_get(void)
{
	struct tld_meta_page *meta, *expected = NULL;
	size_t page;

	meta = __atomic_load_n(&tld_meta, __ATOMIC_ACQUIRE);
	if (meta)
		return meta;
	page = tld_system_page();
	if (!page) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	/* A whole zeroed page: the kernel pins it as one uptr. */
	meta = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (meta == MAP_FAILED)
		return NULL;
	meta->size = TLD_DATA_MAX_FOR(page);
	/* Two first callers may race: one page wins, the other is returned. */
	if (!__atomic_compare_exchange_n(&tld_meta, &expected, meta, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		munmap(meta, page);
		return expected;
	}
	return meta;
}

TLD_HIDDEN struct tld_meta_page *tld_meta_take(void)
{
	return __atomic_exchange_n(&tld_meta, NULL, __ATOMIC_ACQ_REL);
}

tld_off_t tld_add_key_def(const char *name, size_t size)
{
	struct tld_meta_page *meta;
	size_t page;

	meta = tld_meta_get();
	if (!meta)
		return (tld_off_t){ -errno };
	page = tld_page_size();
	if (!name || !*name || size == 0 || size > TLD_DATA_MAX_FOR(page))
		return (tld_off_t){ -EINVAL };
	return (tld_off_t){ tld_meta_add(meta, page, name, size) };
}
