// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// tld::variable<T> with an int and with a struct, read back by a BPF program.
#include <pthread.h>
#include <string.h>

#include <vector>

#include "tld.hpp"
#include "tld_reader.h"

static tld::variable<int> v_int("test.cpp.int");
static tld::variable<tld_test_pair> v_pair("test.cpp.pair");

#define THREADS 6

static pthread_barrier_t written, checked;

static void *worker(void *arg)
{
	pid_t tid = gettid();

	*static_cast<pid_t *>(arg) = tid;
	v_int = tid * 2;
	v_pair->x = static_cast<__u64>(tid) * 3;
	v_pair->y = static_cast<__u32>(tid) + 5;
	(*v_pair).z = 1;
	pthread_barrier_wait(&written);
	pthread_barrier_wait(&checked);
	return nullptr;
}

static void variables_of_int_and_struct_reach_bpf()
{
	struct tld_test_record recs[64];
	pthread_t t[THREADS];
	pid_t tids[THREADS];
	struct tld_test_bpf *skel;
	int n;

	ctest_uses("tld::variable, task storage map with uptr values, iter/task");
	CHECK(v_int.ok() && v_pair.ok(), "keys failed: %d %d", v_int.error(), v_pair.error());
	skel = reader_open();
	pthread_barrier_init(&written, nullptr, THREADS + 1);
	pthread_barrier_init(&checked, nullptr, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		CHECK(!pthread_create(&t[i], nullptr, worker, &tids[i]), "cannot start threads");
	pthread_barrier_wait(&written);
	n = reader_dump(skel, recs, 64);
	for (int i = 0; i < THREADS; i++) {
		const struct tld_test_record *r = reader_find(recs, n, tids[i]);
		unsigned both = 1u << TLD_TEST_CPP_INT | 1u << TLD_TEST_CPP_PAIR;

		CHECK(r && (r->found & both) == both, "BPF did not find the C++ values of thread %d",
		      tids[i]);
		CHECK_EQ(static_cast<int>(r->vals[TLD_TEST_CPP_INT]), tids[i] * 2);
		CHECK_EQ(r->vals[TLD_TEST_CPP_PAIR], static_cast<__u64>(tids[i]) * 3);
		CHECK_EQ(r->pair_y, static_cast<__u32>(tids[i]) + 5);
	}
	pthread_barrier_wait(&checked);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], nullptr);
	tld_test_bpf__destroy(skel);
}

static void variable_of_a_failed_key_leaves_the_page_alone()
{
	static tld::variable<long> bad("");
	std::vector<char> before(TLD_DATA_MAX);
	char *data;

	CHECK(!bad.ok(), "an empty name made a key");
	CHECK_EQ(bad.error(), -EINVAL);
	CHECK(bad.get() == nullptr, "a failed key has an address");
	CHECK_EQ(*v_int.get() = 9, 9);
	data = static_cast<char *>(tld_thread_data());
	CHECK(data != nullptr, "no data page");
	memcpy(before.data(), data, before.size());
	// Its stores go to the thread's scratch area, past the page: no value changes.
	bad = 5;
	bad = -1;
	*bad += 2;
	CHECK(memcmp(before.data(), data, before.size()) == 0, "a failed key's store changed the data page");
	CHECK_EQ(*v_int, 9);
}

CTEST_MAIN(CTEST(variables_of_int_and_struct_reach_bpf),
	   CTEST(variable_of_a_failed_key_leaves_the_page_alone))
