/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The process's metadata page and tld_add_key_def(). */
#include <errno.h>
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

tld_off_t tld_add_key_def(const char *name, size_t size)
{
	struct tld_meta_page *meta;

	if (!name || !*name || size == 0 || size > TLD_DATA_MAX)
		return (tld_off_t){ -EINVAL };
	meta = tld_meta_get();
	if (!meta)
		return (tld_off_t){ -errno };
	return (tld_off_t){ tld_meta_add(meta, name, size) };
}
