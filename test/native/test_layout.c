/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The layout at every page size and in both revisions, without the kernel: key registration
 * in metadata pages of 4, 16 and 64 KiB, and what a map's value BTF says about its revision
 * and page size. libtld's internals are compiled in, so the page size is a parameter here
 * rather than this machine's.
 */
#include <bpf/btf.h>

#include "ctest.h"
#include "tld.h"

/* The internals under test (hidden in libtld.so): key registration and the map's BTF checks. */
#include "../../native/src/tld_meta.c"
#include "../../native/src/tld_map.c"

static const size_t pages[] = { 4096, 16384, 65536 };

static struct tld_meta_page *meta_page(size_t page)
{
	struct tld_meta_page *m = aligned_alloc(page, page);

	CHECK(m, "no memory for a %zu-byte page", page);
	memset(m, 0, page);
	return m;
}

static void geometry_follows_the_page_size(void)
{
	/* The numbers the TypeScript client mirrors (extension/src/client/layout.ts). */
	CHECK_EQ(TLD_MAX_KEYS_FOR(4096), 63);
	CHECK_EQ(TLD_MAX_KEYS_FOR(16384), 255);
	CHECK_EQ(TLD_MAX_KEYS_FOR(65536), 1023);
	CHECK_EQ(TLD_DATA_MAX_FOR(16384), 16376);
	CHECK_EQ(TLD_META_SIZE_FOR(4096), 4036);
	CHECK_EQ(TLD_META_SIZE_FOR(65536), 65476);
	CHECK_EQ(tld_page_size(), (size_t)getpagesize());
}

static void every_page_size_holds_its_full_key_table(void)
{
	for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
		size_t page = pages[p];
		int max = TLD_MAX_KEYS_FOR((int)page);
		struct tld_meta_page *m = meta_page(page);
		char name[32];

		for (int i = 0; i < max; i++) {
			snprintf(name, sizeof(name), "k%d", i);
			CHECK_EQ(tld_meta_add(m, page, name, 8), i * 8);
		}
		CHECK_EQ(m->cnt, max);
		CHECK_EQ(tld_meta_add(m, page, "one.more", 8), -ENOSPC);
		/* Every key is found again at its offset, the last one at the page's far end. */
		snprintf(name, sizeof(name), "k%d", max - 1);
		CHECK_EQ(tld_meta_add(m, page, name, 8), (max - 1) * 8);
		free(m);
	}
}

static void every_page_size_fills_its_data_area_to_the_last_byte(void)
{
	for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
		size_t page = pages[p];
		struct tld_meta_page *m = meta_page(page);

		CHECK_EQ(tld_meta_add(m, page, "too.big", TLD_DATA_MAX_FOR(page) + 1), -EINVAL);
		CHECK_EQ(tld_meta_add(m, page, "first", 8), 0);
		CHECK_EQ(tld_meta_add(m, page, "rest", TLD_DATA_MAX_FOR(page) - 16), 8);
		CHECK_EQ(tld_meta_add(m, page, "last", 8), TLD_DATA_MAX_FOR(page) - 8);
		CHECK_EQ(tld_meta_add(m, page, "over", 1), -ENOSPC);
		/* A table laid out for a smaller page refuses what only a larger one holds. */
		if (page > 4096)
			CHECK_EQ(tld_meta_add(m, 4096, "last", 8), -ENOSPC);
		free(m);
	}
}

static void map_btf_tells_the_revision_and_the_page_size(void)
{
	for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
		for (int rev = TLD_LAYOUT_START_IN_PAGE; rev <= TLD_LAYOUT_START_IN_VALUE; rev++) {
			struct tld_map_shape shape = {};
			struct btf *btf;
			__u32 key_id, value_id;

			CHECK_EQ(tld_build_btf(rev, pages[p], &btf, &key_id, &value_id), 0);
			CHECK_EQ(btf__resolve_size(btf, value_id),
				 rev == TLD_LAYOUT_START_IN_VALUE ? TLD_MAP_VALUE_SIZE_VALUE : TLD_MAP_VALUE_SIZE_PAGE);
			/* On a system of that page size, and on one of the largest pages. */
			CHECK_EQ(tld_btf_shape(btf, value_id, "m", pages[p], &shape), 0);
			CHECK_EQ(shape.rev, rev);
			CHECK_EQ(shape.page, pages[p]);
			CHECK_EQ(tld_btf_shape(btf, value_id, "m", 65536, &shape), 0);
			CHECK_EQ(shape.page, pages[p]);
			/* A map made for larger pages than the system has cannot be pinned here. */
			if (pages[p] > 4096)
				CHECK_EQ(tld_btf_shape(btf, value_id, "m", 4096, &shape), -EINVAL);
			btf__free(btf);
		}
	}
}

static void map_btf_of_another_shape_is_refused(void)
{
	struct btf *btf = btf__new_empty();
	int u16_id, u64_id, value;

	CHECK(btf, "no BTF");
	u16_id = btf__add_int(btf, "unsigned short", 2, 0);
	u64_id = btf__add_int(btf, "unsigned long long", 8, 0);
	/* 24 bytes whose third field is no u16 start. */
	value = btf__add_struct(btf, "tld_map_value", 24);
	btf__add_field(btf, "data", u64_id, 0, 0);
	btf__add_field(btf, "meta", u64_id, 64, 0);
	btf__add_field(btf, "other", u64_id, 128, 0);
	CHECK_EQ(tld_btf_shape(btf, value, "m", 4096, NULL), -EINVAL);
	(void)u16_id;
	btf__free(btf);
}

/* A metadata struct whose entries are aligned to 64 bytes (an upstream variant) is not the layout. */
static void metadata_with_padded_entries_is_refused(void)
{
	struct btf *btf = btf__new_empty();
	int u8_id, u16_id, u32_id, u64_id, int_id, bytes_id, data_id, entries_id, meta_id, value;

	CHECK(btf, "no BTF");
	u8_id = btf__add_int(btf, "unsigned char", 1, 0);
	u16_id = btf__add_int(btf, "unsigned short", 2, 0);
	u32_id = btf__add_int(btf, "unsigned int", 4, 0);
	u64_id = btf__add_int(btf, "unsigned long long", 8, 0);
	int_id = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	bytes_id = btf__add_array(btf, int_id, u8_id, 4088);
	data_id = btf__add_struct(btf, "tld_data_u", 4096);
	btf__add_field(btf, "start", u64_id, 0, 0);
	btf__add_field(btf, "data", bytes_id, 64, 0);
	entries_id = btf__add_array(btf, int_id, u8_id, 63 * 64);
	meta_id = btf__add_struct(btf, "tld_meta_u", 4096);
	btf__add_field(btf, "cnt", u16_id, 0, 0);
	btf__add_field(btf, "size", u16_id, 16, 0);
	btf__add_field(btf, "unused", u32_id, 32, 0);
	btf__add_field(btf, "metadata", entries_id, 64 * 8, 0);
	data_id = btf__add_ptr(btf, btf__add_type_tag(btf, "uptr", data_id));
	meta_id = btf__add_ptr(btf, btf__add_type_tag(btf, "uptr", meta_id));
	value = btf__add_struct(btf, "tld_map_value", 16);
	btf__add_field(btf, "data", data_id, 0, 0);
	btf__add_field(btf, "meta", meta_id, 64, 0);
	CHECK_EQ(tld_btf_shape(btf, value, "m", 4096, NULL), -EINVAL);
	btf__free(btf);
}

CTEST_MAIN(CTEST(geometry_follows_the_page_size),
	   CTEST(every_page_size_holds_its_full_key_table),
	   CTEST(every_page_size_fills_its_data_area_to_the_last_byte),
	   CTEST(map_btf_tells_the_revision_and_the_page_size),
	   CTEST(map_btf_of_another_shape_is_refused),
	   CTEST(metadata_with_padded_entries_is_refused))
