/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Key registration: offsets, packing, and every error of tld_add_key_def(). */
#include "ctest.h"
#include "tld.h"

/* Defined before main in every case: it takes the first slot and 8 bytes. */
TLD_DEFINE_KEY(k_defined, "k.defined", 2);
#define BASE 8

static void same_name_same_size_returns_the_same_offset(void)
{
	tld_off_t a = tld_add_key_def("k.one", 4);
	tld_off_t b = tld_add_key_def("k.two", 8);
	tld_off_t again = tld_add_key_def("k.one", 4);

	CHECK_EQ(a.off, BASE);
	CHECK_EQ(b.off, BASE + 8);
	CHECK_EQ(again.off, a.off);
}

static void same_name_other_size_is_eexist(void)
{
	CHECK_EQ(tld_add_key_def("k.x", 4).off, BASE);
	CHECK_EQ(tld_add_key_def("k.x", 8).off, -EEXIST);
	CHECK_EQ(tld_off_err(tld_add_key_def("k.x", 1)), -EEXIST);
}

static void bad_names_and_sizes_are_einval(void)
{
	char longest[TLD_NAME_MAX + 1], too_long[TLD_NAME_MAX + 2];

	memset(longest, 'a', TLD_NAME_MAX);
	longest[TLD_NAME_MAX] = 0;
	memset(too_long, 'b', TLD_NAME_MAX + 1);
	too_long[TLD_NAME_MAX + 1] = 0;

	CHECK_EQ(tld_add_key_def("", 4).off, -EINVAL);
	CHECK_EQ(tld_add_key_def(NULL, 4).off, -EINVAL);
	CHECK_EQ(tld_add_key_def(too_long, 4).off, -EINVAL);
	CHECK_EQ(tld_add_key_def("k.zero", 0).off, -EINVAL);
	CHECK_EQ(tld_add_key_def("k.huge", TLD_DATA_MAX + 1).off, -EINVAL);
	CHECK(tld_off_is_err(tld_add_key_def("k.zero", 0)), "size 0 is an error");
	/* The longest allowed name works, and none of the failures took a slot. */
	CHECK_EQ(tld_add_key_def(longest, 4).off, BASE);
}

static void values_are_packed_in_order_rounded_up_to_8(void)
{
	static const size_t sizes[] = { 1, 4, 8, 12, 3, 16, 9 };
	int expect = BASE;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[16];

		snprintf(name, sizeof(name), "k.%zu", i);
		CHECK_EQ(tld_add_key_def(name, sizes[i]).off, expect);
		expect += (sizes[i] + 7) / 8 * 8;
	}
}

static void full_table_is_enospc(void)
{
	char name[16];
	int i;

	for (i = 1; i < TLD_MAX_KEYS; i++) {
		snprintf(name, sizeof(name), "k.%d", i);
		CHECK_EQ(tld_add_key_def(name, 1).off, i * 8);
	}
	CHECK_EQ(tld_add_key_def("k.one.more", 1).off, -ENOSPC);
	/* Existing keys are still found in a full table. */
	CHECK_EQ(tld_add_key_def("k.62", 1).off, 62 * 8);
}

static void full_page_is_enospc(void)
{
	CHECK_EQ(tld_add_key_def("k.big", TLD_DATA_MAX - 16 - BASE).off, BASE);
	CHECK_EQ(tld_add_key_def("k.fits", 16).off, TLD_DATA_MAX - 16);
	CHECK_EQ(tld_add_key_def("k.over", 1).off, -ENOSPC);
	CHECK_EQ(tld_add_key_def("k.fits", 16).off, TLD_DATA_MAX - 16);
}

static void define_key_runs_before_main(void)
{
	/* The constructor ran: the key exists, and adding it again finds it. */
	CHECK(!tld_off_is_err(k_defined), "TLD_DEFINE_KEY failed: %d", k_defined.off);
	CHECK_EQ(k_defined.off, 0);
	CHECK_EQ(tld_add_key_def("k.defined", 2).off, k_defined.off);
}

static void failed_key_resolves_to_null_with_its_errno(void)
{
	tld_off_t bad = tld_add_key_def("", 4);

	errno = 0;
	CHECK(tld_resolve_key(bad) == NULL, "a failed key resolved");
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(tld_resolve_key((tld_off_t){ TLD_DATA_MAX }) == NULL, "an offset outside the page resolved");
	CHECK_EQ(errno, EINVAL);
}

CTEST_MAIN(CTEST(same_name_same_size_returns_the_same_offset),
	   CTEST(same_name_other_size_is_eexist),
	   CTEST(bad_names_and_sizes_are_einval),
	   CTEST(values_are_packed_in_order_rounded_up_to_8),
	   CTEST(full_table_is_enospc),
	   CTEST(full_page_is_enospc),
	   CTEST(define_key_runs_before_main),
	   CTEST(failed_key_resolves_to_null_with_its_errno))
