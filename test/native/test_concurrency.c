/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Many threads add an overlapping set of keys at the same moment, with
 * invalid and conflicting sizes mixed in, round after round (tld_free()
 * between rounds gives each round a fresh metadata page). Every thread must
 * see the same offset for a name, values must not overlap, the count must
 * stay within the table, and every error must be the right one.
 */
#include <pthread.h>
#include <stdbool.h>

#include "ctest.h"
#include "tld.h"

#define THREADS 64
#define ROUNDS 100
#define NAMES 80 /* more than the table holds, so it fills up */
#define TRIES 24 /* keys each thread adds per round */

struct attempt {
	int name;
	size_t size;
	int off;
};

static struct attempt attempts[THREADS][TRIES];
static pthread_barrier_t go, ready, done;
static unsigned round_seed;
/* How often each outcome happened, to show the mix was exercised. */
static long n_ok, n_einval, n_eexist, n_enospc;

static size_t canonical_size(int name)
{
	/* Mostly small values, some large ones so the page can fill too. */
	return name % 10 == 0 ? 300 : (size_t)(name * 7 % 60) + 1;
}

static void name_of(int name, char *buf, size_t len)
{
	snprintf(buf, len, "conc.key.%d", name);
}

static void *worker(void *arg)
{
	int t = (int)(long)arg;

	for (int r = 0; r < ROUNDS; r++) {
		unsigned seed = round_seed * 7919 + t * 104729 + r;

		pthread_barrier_wait(&go); /* main has checked the last round */
		for (int i = 0; i < TRIES; i++) {
			struct attempt *a = &attempts[t][i];
			unsigned pick = rand_r(&seed) % 100;

			a->name = rand_r(&seed) % NAMES;
			a->size = canonical_size(a->name);
			if (pick < 8)
				a->size += 1; /* conflicting size: one of the two wins */
			else if (pick < 12)
				a->size = 0; /* invalid */
			else if (pick < 15)
				a->size = TLD_DATA_MAX + 8; /* invalid */
		}
		pthread_barrier_wait(&ready); /* all add at the same moment */
		for (int i = 0; i < TRIES; i++) {
			char name[32];

			name_of(attempts[t][i].name, name, sizeof(name));
			attempts[t][i].off = tld_add_key_def(name, attempts[t][i].size).off;
		}
		pthread_barrier_wait(&done);
	}
	return NULL;
}

static void check_round(int r)
{
	int off_of[NAMES], size_of[NAMES], count = 0;
	char used[TLD_DATA_MAX_FOR(TLD_PAGE_SIZE_MAX)] = { 0 };

	for (int n = 0; n < NAMES; n++)
		off_of[n] = -1, size_of[n] = 0;
	/* Successful adds: one offset and one size per name. */
	for (int t = 0; t < THREADS; t++) {
		for (int i = 0; i < TRIES; i++) {
			struct attempt *a = &attempts[t][i];

			if (a->off < 0)
				continue;
			CHECK(a->size > 0 && a->size <= TLD_DATA_MAX, "round %d: size %zu accepted", r, a->size);
			if (off_of[a->name] < 0) {
				off_of[a->name] = a->off;
				size_of[a->name] = (int)a->size;
				count++;
				continue;
			}
			CHECK(off_of[a->name] == a->off, "round %d: key %d at offsets %d and %d", r,
			      a->name, off_of[a->name], a->off);
			CHECK(size_of[a->name] == (int)a->size, "round %d: key %d added with sizes %d and %zu",
			      r, a->name, size_of[a->name], a->size);
		}
	}
	CHECK(count <= TLD_MAX_KEYS, "round %d: %d keys in a table of %d", r, count, TLD_MAX_KEYS);
	/* No two values overlap, and all fit in the page. */
	for (int n = 0; n < NAMES; n++) {
		int end = off_of[n] + (size_of[n] + 7) / 8 * 8;

		if (off_of[n] < 0)
			continue;
		CHECK(off_of[n] % 8 == 0 && end <= (int)TLD_DATA_MAX, "round %d: key %d at %d..%d", r, n,
		      off_of[n], end);
		for (int b = off_of[n]; b < end; b++) {
			CHECK(!used[b], "round %d: key %d overlaps another at byte %d", r, n, b);
			used[b] = 1;
		}
	}
	/* Every failure is the right one. */
	for (int t = 0; t < THREADS; t++) {
		for (int i = 0; i < TRIES; i++) {
			struct attempt *a = &attempts[t][i];
			bool invalid = a->size == 0 || a->size > TLD_DATA_MAX;

			n_ok += a->off >= 0;
			n_einval += a->off == -EINVAL;
			n_eexist += a->off == -EEXIST;
			n_enospc += a->off == -ENOSPC;
			if (invalid) {
				CHECK_EQ(a->off, -EINVAL);
			} else if (a->off == -EEXIST) {
				CHECK(off_of[a->name] >= 0 && size_of[a->name] != (int)a->size,
				      "round %d: -EEXIST for key %d of size %zu, table has size %d", r,
				      a->name, a->size, size_of[a->name]);
			} else if (a->off == -ENOSPC) {
				CHECK(off_of[a->name] < 0 || size_of[a->name] != (int)a->size,
				      "round %d: -ENOSPC for key %d, which is in the table", r, a->name);
			} else {
				CHECK(a->off >= 0, "round %d: unexpected error %d", r, a->off);
			}
		}
	}
	/* The table is stable: adding the winners again finds the same offsets. */
	for (int n = 0; n < NAMES; n++) {
		char name[32];

		if (off_of[n] < 0)
			continue;
		name_of(n, name, sizeof(name));
		CHECK_EQ(tld_add_key_def(name, size_of[n]).off, off_of[n]);
	}
}

static void concurrent_adds_agree_on_offsets(void)
{
	pthread_t threads[THREADS];

	round_seed = (unsigned)getpid();
	printf("seed %u, %d threads, %d rounds\n", round_seed, THREADS, ROUNDS);
	pthread_barrier_init(&go, NULL, THREADS + 1);
	pthread_barrier_init(&ready, NULL, THREADS + 1);
	pthread_barrier_init(&done, NULL, THREADS + 1);
	for (long t = 0; t < THREADS; t++)
		CHECK(!pthread_create(&threads[t], NULL, worker, (void *)t), "cannot start threads");
	for (int r = 0; r < ROUNDS; r++) {
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&ready);
		pthread_barrier_wait(&done);
		check_round(r);
		tld_free(); /* a fresh metadata page for the next round */
	}
	printf("outcomes: %ld added or found, %ld -EINVAL, %ld -EEXIST, %ld -ENOSPC\n", n_ok,
	       n_einval, n_eexist, n_enospc);
	CHECK(n_ok && n_einval && n_eexist && n_enospc, "every outcome must occur at least once");
	for (int t = 0; t < THREADS; t++)
		pthread_join(threads[t], NULL);
}

CTEST_MAIN(CTEST(concurrent_adds_agree_on_offsets))
