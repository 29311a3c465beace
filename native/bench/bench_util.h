// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// What the C++ benchmarks share: a monotonic clock in nanoseconds and the median of a sample.
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <time.h>

#include <algorithm>
#include <vector>

static inline double now_ns()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v[v.size() / 2];
}

#endif
