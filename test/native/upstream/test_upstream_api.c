/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A program written for upstream's task_local_data.h, built against libtld
 * with nothing but -I native/include/upstream -ltld (and the libbpf its own
 * bpf_obj_get() needs). Modes:
 *   CASE               one of the cases below (see ctest.h): the documented
 *                      differences from upstream, checked in this process
 *   producer PIN N     N threads publish hints in the map pinned at PIN; prints
 *                      "ready PID TID..."; then per stdin line "free" (every
 *                      thread calls tld_free(): "freed") or "again" (every
 *                      thread gets fresh data and writes it again: "again");
 *                      exits 0 when stdin closes
 *   maps PIN_A PIN_B   which maps tld_get_data() takes: prints "ok" when all held
 * test/native/upstreamApi.test.ts runs it and reads the producer's threads
 * from the other side with tldctl snapshot.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include <task_local_data.h>

#include "../ctest.h"

struct request {
	__u64 a, b, c, d;
};

/* The keys of a typical producer: defined at file scope, created before main(). */
TLD_DEFINE_KEY(prio_key, "upstream.prio", sizeof(int));
TLD_DEFINE_KEY(request_key, "upstream.request", sizeof(struct request));
/* Offset after the two defined keys: 4 rounded up to 8, then 32. */
#define DEFINED_END 40

/* Created at run time, as upstream's tld_create_key() users do. */
static tld_key_t tid_key;

static void check_defined_keys(void)
{
	CHECK_EQ(tld_key_err_or_zero(prio_key), 0);
	CHECK_EQ(tld_key_err_or_zero(request_key), 0);
	CHECK_EQ(prio_key.off, 0);
	CHECK_EQ(request_key.off, 8);
}

/* A name of @len characters. */
static const char *long_name(size_t len)
{
	static char buf[256];

	memset(buf, 'n', len);
	buf[len] = 0;
	return buf;
}

static void long_names_are_refused_not_cut(void)
{
	tld_key_t k61, again;

	check_defined_keys();
	k61 = tld_create_key(long_name(61), 8);
	CHECK_EQ(tld_key_err_or_zero(k61), 0);
	CHECK_EQ(k61.off, DEFINED_END);
	/* Upstream stores 62+ characters cut to 61, then adds them again. */
	CHECK_EQ(tld_key_err_or_zero(tld_create_key(long_name(62), 8)), -EINVAL);
	CHECK_EQ(tld_key_err_or_zero(tld_create_key(long_name(62), 8)), -EINVAL);
	CHECK_EQ(tld_key_err_or_zero(tld_create_key(long_name(100), 8)), -EINVAL);
	/* The 61-character key is still found, and nothing was added after it. */
	again = tld_create_key(long_name(61), 8);
	CHECK_EQ(again.off, k61.off);
	CHECK_EQ(tld_create_key("after.long", 8).off, DEFINED_END + 8);
	CHECK_EQ(tld_key_err_or_zero(tld_create_key("", 8)), -EINVAL);
}

static void size_zero_is_refused_and_the_next_key_is_created(void)
{
	tld_key_t k;

	CHECK_EQ(tld_key_err_or_zero(tld_create_key("zero", 0)), -EINVAL);
	/* Upstream publishes size 0, which reads as "not published yet": this would wait forever. */
	k = tld_create_key("after.zero", 4);
	CHECK_EQ(tld_key_err_or_zero(k), 0);
	CHECK_EQ(k.off, DEFINED_END);
	CHECK_EQ(tld_key_err_or_zero(tld_create_key("zero", 0)), -EINVAL);
}

static void the_same_name_and_size_is_the_same_key_another_size_eexist(void)
{
	tld_key_t a, b;

	a = tld_create_key("dup", 8);
	CHECK_EQ(tld_key_err_or_zero(a), 0);
	/* Upstream: -EEXIST whatever the size. */
	b = tld_create_key("dup", 8);
	CHECK_EQ(tld_key_err_or_zero(b), 0);
	CHECK_EQ(b.off, a.off);
	CHECK_EQ(tld_key_err_or_zero(tld_create_key("dup", 4)), -EEXIST);
	/* A run-time creation finds a defined key too. */
	CHECK_EQ(tld_create_key("upstream.request", sizeof(struct request)).off, request_key.off);
	CHECK_EQ(tld_key_err_or_zero(tld_create_key("upstream.prio", 8)), -EEXIST);
}

static void a_full_page_is_enospc_and_a_size_over_a_page_einval(void)
{
	int page = TLD_PAGE_SIZE;
	tld_key_t big;

	/* Upstream says -E2BIG for both. */
	CHECK_EQ(tld_key_err_or_zero(tld_create_key("huge", page)), -EINVAL);
	CHECK_EQ(tld_key_err_or_zero(tld_create_key("huge", page - 8 + 1)), -EINVAL);
	CHECK_EQ(tld_key_err_or_zero(tld_create_key("rest.plus.one", page - 8 - DEFINED_END + 1)), -ENOSPC);
	big = tld_create_key("rest", page - 8 - DEFINED_END);
	CHECK_EQ(tld_key_err_or_zero(big), 0);
	CHECK_EQ(big.off, DEFINED_END);
	CHECK_EQ(tld_key_err_or_zero(tld_create_key("one.more", 1)), -ENOSPC);
}

static void a_full_key_table_is_enospc(void)
{
	char name[32];
	int i;

	/* Two keys are defined: TLD_MAX_DATA_CNT - 2 more (61 with 4 KiB pages) fill the table. */
	for (i = 2; i < (int)TLD_MAX_DATA_CNT; i++) {
		snprintf(name, sizeof(name), "dummy.%d", i);
		CHECK_EQ(tld_key_err_or_zero(tld_create_key(name, sizeof(int))), 0);
	}
	CHECK_EQ(tld_key_err_or_zero(tld_create_key("one.more", sizeof(int))), -ENOSPC);
	CHECK_EQ(tld_key_err_or_zero(tld_create_key("dummy.2", sizeof(int))), 0);
}

static void created_keys_share_the_page_beyond_TLD_DYN_DATA_SIZE(void)
{
	tld_key_t a, b;

	CHECK_EQ(TLD_DYN_DATA_SIZE, 64);
	a = tld_create_key("dyn.a", TLD_DYN_DATA_SIZE);
	b = tld_create_key("dyn.b", 2 * TLD_DYN_DATA_SIZE);
	/* Upstream's dynamic budget ends after dyn.a: -E2BIG. */
	CHECK_EQ(tld_key_err_or_zero(a), 0);
	CHECK_EQ(tld_key_err_or_zero(b), 0);
	CHECK_EQ(b.off, a.off + TLD_DYN_DATA_SIZE);
}

static void tld_get_data_of_a_failed_key_is_null_with_its_error(void)
{
	tld_key_t bad = tld_create_key("", 4);

	CHECK(tld_key_is_err(bad), "an empty name made a key");
	errno = 0;
	CHECK(!tld_get_data(-1, bad), "a failed key gave an address");
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK(!tld_get_data(-1, prio_key), "no map fd gave an address");
	CHECK_EQ(errno, EBADF);
}

/* The producer: a main thread that opens the map, workers that publish hints. */
enum phase { PHASE_FREE, PHASE_AGAIN, PHASE_EXIT };

static int map_fd;
static pthread_barrier_t go, done;
static volatile enum phase phase;

struct worker {
	pthread_t thread;
	pid_t tid;
};

/* Gets this thread's data for every key and writes @base-derived values into it. */
static void publish(pid_t tid, __u64 base, bool fresh)
{
	int *prio = tld_get_data(map_fd, prio_key);
	struct request *req = tld_get_data(map_fd, request_key);
	__u64 *tidp = tld_get_data(map_fd, tid_key);

	CHECK(prio && req && tidp, "tld_get_data failed: %s", strerror(errno));
	CHECK(((uintptr_t)prio | (uintptr_t)req | (uintptr_t)tidp) % 8 == 0, "values not 8-byte aligned");
	CHECK_EQ((char *)req - (char *)prio, request_key.off - prio_key.off);
	if (fresh)
		CHECK(!*prio && !req->a && !req->d && !*tidp, "new data of thread %d is not zeroed", tid);
	*prio = (int)(base + 1);
	req->a = base + 2;
	req->b = base + 3;
	req->c = base + 4;
	req->d = base + 5;
	*tidp = (__u64)tid;
	CHECK(tld_get_data(map_fd, prio_key) == prio, "tld_get_data moved");
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->tid = gettid();
	publish(w->tid, (__u64)w->tid, true);
	pthread_barrier_wait(&done);
	for (;;) {
		pthread_barrier_wait(&go);
		switch (phase) {
		case PHASE_FREE:
			tld_free();
			break;
		case PHASE_AGAIN:
			publish(w->tid, (__u64)w->tid + 1000, true);
			break;
		case PHASE_EXIT:
			tld_free();
			return NULL;
		}
		pthread_barrier_wait(&done);
	}
}

static void producer(const char *pin, int n)
{
	struct worker *w = calloc(n, sizeof(*w));
	char line[64];

	CHECK(w && n > 0, "bad thread count %d", n);
	check_defined_keys();
	tid_key = tld_create_key("upstream.tid", sizeof(__u64));
	CHECK_EQ(tld_key_err_or_zero(tid_key), 0);
	CHECK_EQ(tid_key.off, DEFINED_END);
	map_fd = bpf_obj_get(pin);
	CHECK(map_fd >= 0, "cannot open the map pinned at %s: %s", pin, strerror(errno));

	pthread_barrier_init(&go, NULL, n + 1);
	pthread_barrier_init(&done, NULL, n + 1);
	for (int i = 0; i < n; i++)
		CHECK(!pthread_create(&w[i].thread, NULL, worker_main, &w[i]), "pthread_create failed");
	pthread_barrier_wait(&done);
	printf("ready %d", getpid());
	for (int i = 0; i < n; i++)
		printf(" %d", w[i].tid);
	printf("\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		if (!strcmp(line, "free\n"))
			phase = PHASE_FREE;
		else if (!strcmp(line, "again\n"))
			phase = PHASE_AGAIN;
		else
			CHECK(0, "unknown command %s", line);
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&done);
		printf("%s", phase == PHASE_FREE ? "freed\n" : "again\n");
		fflush(stdout);
	}
	phase = PHASE_EXIT;
	pthread_barrier_wait(&go);
	for (int i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
	free(w);
}

/* One map per process: another map is EBUSY, another fd of the same map fine, a wrong map EINVAL. */
static void maps(const char *pin_a, const char *pin_b)
{
	int a = bpf_obj_get(pin_a), b = bpf_obj_get(pin_b), a2, array;

	CHECK(a >= 0 && b >= 0, "cannot open %s and %s: %s", pin_a, pin_b, strerror(errno));
	array = bpf_map_create(BPF_MAP_TYPE_ARRAY, "not_tld", 4, 16, 1, NULL);
	CHECK(array >= 0, "cannot create an array map: %s", strerror(errno));
	errno = 0;
	CHECK(!tld_get_data(array, prio_key), "an array map was taken");
	CHECK_EQ(errno, EINVAL);

	CHECK(tld_get_data(a, prio_key), "map A refused: %s", strerror(errno));
	a2 = dup(a);
	CHECK(a2 >= 0, "dup: %s", strerror(errno));
	CHECK(tld_get_data(a2, request_key), "another fd of map A refused: %s", strerror(errno));
	errno = 0;
	CHECK(!tld_get_data(b, prio_key), "map B taken while map A is in use");
	CHECK_EQ(errno, EBUSY);
	tld_free();
	printf("ok\n");
}

static const struct ctest_case cases[] = {
	CTEST(long_names_are_refused_not_cut),
	CTEST(size_zero_is_refused_and_the_next_key_is_created),
	CTEST(the_same_name_and_size_is_the_same_key_another_size_eexist),
	CTEST(a_full_page_is_enospc_and_a_size_over_a_page_einval),
	CTEST(a_full_key_table_is_enospc),
	CTEST(created_keys_share_the_page_beyond_TLD_DYN_DATA_SIZE),
	CTEST(tld_get_data_of_a_failed_key_is_null_with_its_error),
};

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "producer")) {
		producer(argv[2], atoi(argv[3]));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "maps")) {
		maps(argv[2], argv[3]);
		return 0;
	}
	return ctest_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0]));
}
