// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// What the C++ benchmarks share: a monotonic clock in nanoseconds, the median and percentiles of a sample.
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <sched.h>
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

/* The @p-th percentile (0 to 100) of @v, nearest rank. */
static inline double percentile(std::vector<double> v, double p)
{
	std::sort(v.begin(), v.end());
	return v[(size_t)(p / 100 * (double)(v.size() - 1) + 0.5)];
}

/* Keeps the run (and the threads it starts) on the CPU it started on: no migration between the kinds compared. */
static inline void pin_to_this_cpu()
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	CPU_ZERO(&set);
	if (cpu >= 0) {
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
}

#endif
