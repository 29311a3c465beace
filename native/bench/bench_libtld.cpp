// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// libtld's costs, each beside its floor measured in the same run; prints one JSON object.
// bench/run.ts turns these into ratios against the goals.
#include <errno.h>
#include <fcntl.h>
#include <linux/types.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_util.h"

#include "tld.hpp"
#include "tld_bench.h"
#include "tld_bench.skel.h"

#define barrier() asm volatile("" ::: "memory")

static void die(const char *what)
{
	fprintf(stderr, "bench_libtld: %s: %s\n", what, strerror(errno));
	exit(1);
}


/*
 * ---- stores: a hint update between other work (the barrier stands for it) ----
 *
 * Many short rounds, the three kinds interleaved in a rotating order on one
 * CPU after a warm-up, so that a round the kernel build or a migration slows
 * down moves a percentile, not the median, and each kind sees the same
 * conditions.
 */

/*
 * Not static: the compiler drops every store to a static __thread nothing
 * reads, and the floor measured an empty loop.
 */
__thread uint64_t bench_plain_tls;
static tld::variable<uint64_t> var_hint("bench.var");
TLD_DEFINE_KEY(k_ptr, "bench.ptr", sizeof(uint64_t));

__attribute__((noinline)) static double store_tls(long n)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++) {
		bench_plain_tls = i;
		barrier();
	}
	return (now_ns() - t0) / n;
}

__attribute__((noinline)) static double store_ptr(uint64_t *p, long n)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++) {
		*p = i;
		barrier();
	}
	return (now_ns() - t0) / n;
}

__attribute__((noinline)) static double store_var(long n)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++) {
		var_hint = i;
		barrier();
	}
	return (now_ns() - t0) / n;
}

/* "name":{"p10":..,"p50":..,"p90":..} of the per-round ratios @num / @den. */
static void print_ratios(const char *name, const std::vector<double> &num, const std::vector<double> &den)
{
	std::vector<double> r;

	for (size_t i = 0; i < num.size(); i++)
		r.push_back(num[i] / den[i]);
	printf("\"%s\":{\"p10\":%.3f,\"p50\":%.3f,\"p90\":%.3f}", name, percentile(r, 10), percentile(r, 50),
	       percentile(r, 90));
}

static void bench_stores(long n, int rounds)
{
	std::vector<double> tls, ptr, var;
	uint64_t *p = static_cast<uint64_t *>(tld_resolve_key(k_ptr));

	if (!p || !var_hint.get())
		die("resolve");
	for (int r = -3; r < rounds; r++) { /* three rounds of warm-up */
		double t[3];

		for (int k = 0; k < 3; k++) {
			switch ((r + 3 + k) % 3) {
			case 0: t[0] = store_tls(n); break;
			case 1: t[1] = store_ptr(p, n); break;
			default: t[2] = store_var(n); break;
			}
		}
		if (r < 0)
			continue;
		tls.push_back(t[0]);
		ptr.push_back(t[1]);
		var.push_back(t[2]);
	}
	printf("\"store\":{\"iterations\":%ld,\"rounds\":%d,\"tls_ns\":%.4f,\"pointer_ns\":%.4f,"
	       "\"variable_ns\":%.4f,",
	       n, rounds, median(tls), median(ptr), median(var));
	print_ratios("variable_ratio", var, tls);
	printf(",");
	print_ratios("pointer_ratio", ptr, tls);
	printf("}");
}

/* ---- a thread's first resolve against the bare pin ---- */

struct first_arg {
	bool floor;
	double ns;
};

static void *first_resolve(void *a)
{
	struct first_arg *arg = static_cast<struct first_arg *>(a);
	double t0, t1;

	if (arg->floor) {
		void *page = aligned_alloc((size_t)getpagesize(), (size_t)getpagesize());
		static struct tld_meta_page *meta;
		struct tld_map_value v;
		int map_fd = tld_map_fd(), pidfd;

		if (!meta)
			meta = static_cast<struct tld_meta_page *>(aligned_alloc((size_t)getpagesize(), (size_t)getpagesize()));
		memset(page, 0, (size_t)getpagesize());
		v.data = static_cast<struct tld_data_page *>(page);
		v.meta = meta;
		t0 = now_ns();
		pidfd = syscall(SYS_pidfd_open, gettid(), O_EXCL);
		if (pidfd < 0 || bpf_map_update_elem(map_fd, &pidfd, &v, BPF_ANY))
			die("floor pin");
		close(pidfd);
		t1 = now_ns();
		/* Not timed: unpin before the page goes. */
		pidfd = syscall(SYS_pidfd_open, gettid(), O_EXCL);
		bpf_map_delete_elem(map_fd, &pidfd);
		close(pidfd);
		free(page);
	} else {
		t0 = now_ns();
		if (!tld_resolve_key(k_ptr))
			die("first resolve");
		t1 = now_ns();
	}
	arg->ns = t1 - t0;
	return nullptr;
}

static void bench_first_resolve(int threads)
{
	std::vector<double> floor_ns, tld_ns;

	for (int i = 0; i < 2 * threads; i++) {
		struct first_arg arg = { i % 2 == 0, 0 };
		pthread_t t;

		if (pthread_create(&t, nullptr, first_resolve, &arg))
			die("pthread_create");
		pthread_join(t, nullptr);
		(arg.floor ? floor_ns : tld_ns).push_back(arg.ns);
	}
	printf("\"first_resolve\":{\"threads\":%d,\"floor_ns\":%.1f,\"tld_ns\":%.1f,", threads,
	       median(floor_ns), median(tld_ns));
	print_ratios("ratio", tld_ns, floor_ns);
	printf("}");
}

/* ---- a hint read in BPF, per event ---- */

/* Added by main() in this order, after the store keys: bench.hint lands at BENCH_HINT_OFF. */
static tld_off_t k_pad1, k_pad2, k_hint;

static double bpf_run(struct bpf_program *prog, unsigned iters)
{
	struct bench_args args = {};
	/* Not LIBBPF_OPTS: in C++ its partial designated initializer trips -Wmissing-field-initializers. */
	struct bpf_test_run_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.ctx_in = &args;
	opts.ctx_size_in = sizeof(args);

	args.tid = gettid();
	args.iters = iters;
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts))
		die("BPF_PROG_TEST_RUN");
	if (args.err) {
		fprintf(stderr, "bench_libtld: %s: error %d\n", bpf_program__name(prog), args.err);
		exit(1);
	}
	if (args.sum != (uint64_t)iters * 77) {
		fprintf(stderr, "bench_libtld: %s read %llu, expected %llu\n", bpf_program__name(prog),
			(unsigned long long)args.sum, (unsigned long long)iters * 77);
		exit(1);
	}
	return (double)args.ns / iters;
}

static void bench_bpf_read(unsigned iters, int rounds)
{
	std::vector<double> floor_ns, tld_ns, cached_ns, upstream_ns;
	struct tld_bench_bpf *skel;
	uint64_t *hint = static_cast<uint64_t *>(tld_resolve_key(k_hint));

	if (!hint)
		die("resolve");
	/* The floor reads bench.hint at its known offset, the others find it by name. */
	if (TLD_DATA_START + k_hint.off != BENCH_HINT_OFF) {
		fprintf(stderr, "bench_libtld: bench.hint is at offset %d of the page, the floor reads %d\n",
			TLD_DATA_START + k_hint.off, BENCH_HINT_OFF);
		exit(1);
	}
	*hint = 77;
	skel = tld_bench_bpf__open();
	if (!skel || bpf_map__reuse_fd(skel->maps.tld_data_map, tld_map_fd()) ||
	    tld_bench_bpf__load(skel))
		die("load tld_bench.bpf.o");
	/* Short rounds in a rotating order after a warm-up round, as for the stores. */
	for (int r = -1; r < rounds; r++) {
		double t[4];

		for (int k = 0; k < 4; k++) {
			switch ((r + 1 + k) % 4) {
			case 0: t[0] = bpf_run(skel->progs.bench_floor, iters); break;
			case 1: t[1] = bpf_run(skel->progs.bench_tld, iters); break;
			case 2: t[2] = bpf_run(skel->progs.bench_cached, iters); break;
			default: t[3] = bpf_run(skel->progs.bench_upstream, iters); break;
			}
		}
		if (r < 0)
			continue;
		floor_ns.push_back(t[0]);
		tld_ns.push_back(t[1]);
		cached_ns.push_back(t[2]);
		upstream_ns.push_back(t[3]);
	}
	printf("\"bpf_read\":{\"iterations\":%u,\"rounds\":%d,\"floor_ns\":%.3f,\"tld_ns\":%.3f,"
	       "\"cached_map_ns\":%.3f,\"upstream_ns\":%.3f,",
	       iters, rounds, median(floor_ns), median(tld_ns), median(cached_ns), median(upstream_ns));
	print_ratios("tld_ratio", tld_ns, floor_ns);
	printf("}");
	tld_bench_bpf__destroy(skel);
}

int main(int argc, char **argv)
{
	double scale = argc > 1 ? atof(argv[1]) : 1.0; /* smaller runs for a quick look */

	if (scale <= 0)
		scale = 1.0;
	k_pad1 = tld_add_key_def("bench.pad.one", 24);
	k_pad2 = tld_add_key_def("bench.pad.two", 4);
	k_hint = tld_add_key_def("bench.hint", sizeof(uint64_t));
	if (tld_off_is_err(k_ptr) || tld_off_is_err(k_hint) || tld_off_is_err(k_pad1) ||
	    tld_off_is_err(k_pad2) || !var_hint.ok()) {
		fprintf(stderr, "bench_libtld: cannot define keys\n");
		return 1;
	}
	pin_to_this_cpu();
	printf("{");
	bench_stores(500000, std::max(21, (int)(201 * scale)) | 1);
	printf(",");
	bench_first_resolve((int)(1000 * scale) | 1);
	printf(",");
	bench_bpf_read(200000, std::max(11, (int)(41 * scale)) | 1);
	printf("}\n");
	tld_free();
	return 0;
}
