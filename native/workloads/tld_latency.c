/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tld-latency: measures how late periodic threads run under CPU contention,
 * for threads hinted latency critical and for unhinted ones, in one process.
 *
 *   tld-latency [--hogs N] [--sleepers N] [--period-us P] [--seconds S]
 *
 * N hog threads spin without hints. Each class has N sleeper threads that wake
 * every P µs at an absolute time and record how late they got the CPU: timer
 * expiry plus wake-up-to-run latency, the latency an application sees, under
 * any scheduler. Hinted sleepers publish "sched.latency_critical" = 1 through
 * libtld; unhinted ones publish 0.
 *
 * A thread that runs a whole period late has missed the periods in between:
 * each is counted as a sample with its own lateness (from its due time to when
 * the thread finally ran), so that a stall weighs in the percentiles as the
 * periods it cost instead of as one sample, and in "missed". At the end it prints one JSON line:
 *   tld-latency: {..,"hinted":{"n":..,"missed":..,"p50_us":..,"p90_us":..,"p99_us":..,
 *                 "max_us":..,"hist":[[FROM_US,COUNT],..]},"unhinted":{...}}
 * "hist" lists the non-empty buckets of the lateness histogram: 50 µs wide
 * below 1 ms (0.2 ms and 0.3 ms fall apart), 500 µs below 10 ms, 5 ms below
 * 100 ms, then one bucket; few enough that the line stays short on a serial
 * console.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "tld.h"

TLD_DEFINE_KEY(latency_key, "sched.latency_critical", sizeof(unsigned char));

static volatile int stop;

struct sleeper {
	pthread_t thread;
	int hinted;
	long period_ns;
	long *lateness_ns;
	size_t cap, n;
	size_t missed;  /* periods whose time passed while the thread waited */
	int error;
};

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *hog(void *arg)
{
	volatile unsigned long spin = 0;

	(void)arg;
	while (!stop)
		spin++;
	return NULL;
}

static void *sleeper(void *arg)
{
	struct sleeper *s = arg;
	unsigned char *hint = tld_resolve_key(latency_key);
	long long target;

	if (!hint) {
		s->error = 1;
		return NULL;
	}
	*hint = (unsigned char)s->hinted;
	/* Timer slack would add up to 50 µs to every wake-up, the same for both classes: none. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	target = now_ns();
	while (!stop && s->n < s->cap) {
		struct timespec ts;
		long long late;

		target += s->period_ns;
		ts.tv_sec = target / 1000000000LL;
		ts.tv_nsec = target % 1000000000LL;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
			;
		late = now_ns() - target;
		s->lateness_ns[s->n++] = late;
		/*
		 * Periods that came due while it waited were missed: count each, late
		 * from its own due time, and skip them rather than run a burst to catch up.
		 */
		for (long long k = 1; late >= k * s->period_ns && s->n < s->cap; k++) {
			s->lateness_ns[s->n++] = late - k * s->period_ns;
			s->missed++;
			target += s->period_ns;
		}
	}
	return NULL;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* The lateness histogram's bucket of @ns: 50 µs to 1 ms, 500 µs to 10 ms, 5 ms to 100 ms. */
#define HIST_BUCKETS (20 + 18 + 18 + 1)

static unsigned int hist_bucket(long ns)
{
	long us = ns < 0 ? 0 : ns / 1000;

	if (us < 1000)
		return (unsigned int)(us / 50);
	if (us < 10000)
		return 20 + (unsigned int)(us / 500 - 2);
	if (us < 100000)
		return 38 + (unsigned int)(us / 5000 - 2);
	return HIST_BUCKETS - 1;
}

/* The smallest lateness, in µs, of bucket @b. */
static long hist_floor_us(unsigned int b)
{
	if (b < 20)
		return b * 50L;
	if (b < 38)
		return 1000 + (b - 20) * 500L;
	return 10000 + (b - 38) * 5000L;
}

static void print_class(const char *name, struct sleeper *s, int count)
{
	size_t total = 0, missed = 0, k = 0, hist[HIST_BUCKETS] = { 0 };
	bool first = true;
	long *all;

	for (int i = 0; i < count; i++) {
		total += s[i].n;
		missed += s[i].missed;
	}
	all = calloc(total ? total : 1, sizeof(*all));
	if (!all) {
		printf("\"%s\":null", name);
		return;
	}
	for (int i = 0; i < count; i++) {
		memcpy(all + k, s[i].lateness_ns, s[i].n * sizeof(*all));
		k += s[i].n;
	}
	qsort(all, total, sizeof(*all), cmp_long);
	if (!total) {
		printf("\"%s\":{\"n\":0,\"missed\":0}", name);
		free(all);
		return;
	}
	printf("\"%s\":{\"n\":%zu,\"missed\":%zu,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"hist\":[",
	       name, total, missed, all[total / 2] / 1e3, all[total * 90 / 100] / 1e3, all[total * 99 / 100] / 1e3,
	       all[total - 1] / 1e3);
	for (size_t i = 0; i < total; i++)
		hist[hist_bucket(all[i])]++;
	for (unsigned int b = 0; b < HIST_BUCKETS; b++) {
		if (!hist[b])
			continue;
		printf("%s[%ld,%zu]", first ? "" : ",", hist_floor_us(b), hist[b]);
		first = false;
	}
	printf("]}");
	free(all);
}

static int arg_int(const char *flag, const char *v, int min)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*end || n < min || n > 100000) {
		fprintf(stderr, "tld-latency: %s takes a number from %d to 100000, not '%s'\n", flag, min, v);
		exit(2);
	}
	return (int)n;
}

int main(int argc, char **argv)
{
	int hogs = 2 * (int)sysconf(_SC_NPROCESSORS_ONLN), sleepers = 2, period_us = 2000, seconds = 5, err = 0;
	struct sleeper *s;
	pthread_t *h;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc) {
			fprintf(stderr, "usage: tld-latency [--hogs N] [--sleepers N] [--period-us P] [--seconds S]\n");
			return 2;
		}
		if (!strcmp(argv[i], "--hogs"))
			hogs = arg_int(argv[i], argv[i + 1], 0);
		else if (!strcmp(argv[i], "--sleepers"))
			sleepers = arg_int(argv[i], argv[i + 1], 1);
		else if (!strcmp(argv[i], "--period-us"))
			period_us = arg_int(argv[i], argv[i + 1], 50);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = arg_int(argv[i], argv[i + 1], 1);
		else {
			fprintf(stderr, "tld-latency: unknown option %s\n", argv[i]);
			return 2;
		}
		i++;
	}
	if (tld_off_is_err(latency_key)) {
		fprintf(stderr, "tld-latency: cannot add the key sched.latency_critical: %s\n", strerror(-tld_off_err(latency_key)));
		return 1;
	}
	s = calloc((size_t)sleepers * 2, sizeof(*s));
	h = calloc((size_t)hogs + 1, sizeof(*h));
	if (!s || !h)
		return 1;
	for (int i = 0; i < hogs; i++)
		pthread_create(&h[i], NULL, hog, NULL);
	for (int i = 0; i < 2 * sleepers; i++) {
		s[i].hinted = i < sleepers;
		s[i].period_ns = period_us * 1000L;
		s[i].cap = (size_t)seconds * 1000000 / (size_t)period_us + 16;
		s[i].lateness_ns = calloc(s[i].cap, sizeof(long));
		if (!s[i].lateness_ns)
			return 1;
		pthread_create(&s[i].thread, NULL, sleeper, &s[i]);
	}
	sleep((unsigned int)seconds);
	stop = 1;
	for (int i = 0; i < 2 * sleepers; i++) {
		pthread_join(s[i].thread, NULL);
		err |= s[i].error;
	}
	for (int i = 0; i < hogs; i++)
		pthread_join(h[i], NULL);
	if (err) {
		fprintf(stderr, "tld-latency: a sleeper could not get its task local data page (see libtld's message above)\n");
		return 1;
	}
	printf("tld-latency: {\"hogs\":%d,\"sleepers\":%d,\"period_us\":%d,\"seconds\":%d,", hogs, sleepers, period_us, seconds);
	print_class("hinted", s, sleepers);
	printf(",");
	print_class("unhinted", s + sleepers, sleepers);
	printf("}\n");
	return 0;
}
