/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The latency histogram scheme scx_run.h defines for schedulers and
 * tld-scx-run: every value lands in the bucket whose bounds hold it, buckets
 * are ordered, and a bucket's bounds are within 25% of each other.
 */
#include "ctest.h"
#include "scx_run.h"

static void small_values_have_a_bucket_each(void)
{
	for (unsigned int v = 0; v < 4; v++) {
		CHECK_EQ(scx_lat_bucket(v), v);
		CHECK_EQ(scx_lat_bucket_floor(v), v);
	}
}

static void every_bucket_holds_its_floor_and_not_the_next(void)
{
	for (unsigned int b = 0; b + 1 < SCX_LAT_BUCKETS; b++) {
		__u64 lo = scx_lat_bucket_floor(b), hi = scx_lat_bucket_floor(b + 1);

		CHECK(lo < hi, "bucket %u starts at %llu, bucket %u at %llu", b, (unsigned long long)lo, b + 1,
		      (unsigned long long)hi);
		CHECK_EQ(scx_lat_bucket(lo), b);
		CHECK_EQ(scx_lat_bucket(hi - 1), b);
		CHECK(b < 4 || (hi - lo) * 4 <= lo, "bucket %u spans %llu..%llu: more than 25%%", b,
		      (unsigned long long)lo, (unsigned long long)hi);
	}
}

static void huge_values_share_the_last_bucket(void)
{
	CHECK_EQ(scx_lat_bucket((1ULL << (SCX_LAT_MAX_LOG2 + 1)) - 1), SCX_LAT_BUCKETS - 1);
	CHECK_EQ(scx_lat_bucket(1ULL << (SCX_LAT_MAX_LOG2 + 1)), SCX_LAT_BUCKETS - 1);
	CHECK_EQ(scx_lat_bucket(~0ULL), SCX_LAT_BUCKETS - 1);
	CHECK_EQ(scx_lat_log2(1), 0);
	CHECK_EQ(scx_lat_log2(~0ULL), 63);
}

CTEST_MAIN(CTEST(small_values_have_a_bucket_each), CTEST(every_bucket_holds_its_floor_and_not_the_next),
	   CTEST(huge_values_share_the_last_bucket))
