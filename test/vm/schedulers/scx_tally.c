/* SPDX-License-Identifier: GPL-2.0 */
/*
 * scx_tally's own loader, in the usual shape of a sched_ext loader: open the skeleton,
 * set its rodata and the kernel's constants, size the per-CPU array, load, attach (the
 * skeleton attaches the ".struct_ops.link" ops), then report every second until the
 * kernel ends the scheduler, the time is up, or SIGINT/SIGTERM.
 *
 *   scx_tally [-s SLICE_US] [-t SECONDS] [-u] [-v]
 *
 * -u leaves nr_cpus unset (0), to see the kernel throw the scheduler out. Exit code: 0 when
 * it stayed enabled, 1 when it could not be loaded or attached, 2 when the kernel ended it.
 */
#include <signal.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include <scx_test/common.h>

#include "scx_tally.bpf.skel.h"

static volatile sig_atomic_t exiting;
static bool verbose;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const struct scx_tally *skel, int nr_cpus)
{
	printf("scx_tally: direct %llu shared %llu wakeups %llu, per cpu:",
	       (unsigned long long)skel->bss->nr_direct, (unsigned long long)skel->bss->nr_shared,
	       (unsigned long long)skel->bss->nr_wakeups);
	for (int cpu = 0; cpu < nr_cpus; cpu++)
		printf(" %llu", (unsigned long long)skel->data_cpu_dispatches->cpu_dispatches[cpu]);
	printf("\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct scx_tally *skel;
	struct btf *kbtf;
	double seconds = 0, start;
	bool leave_unset = false;
	int nr_cpus, opt, err, rc = 0;

	libbpf_set_print(print_libbpf);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	skel = scx_tally__open();
	if (!skel)
		SCX_TEST_DIE("cannot open the skeleton: %s", strerror(errno));

	while ((opt = getopt(argc, argv, "s:t:uvh")) != -1) {
		switch (opt) {
		case 's':
			skel->rodata->slice_us = strtoull(optarg, NULL, 0);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'u':
			leave_unset = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			fprintf(stderr, "usage: %s [-s SLICE_US] [-t SECONDS] [-u] [-v]\n", argv[0]);
			return opt == 'h' ? 0 : 1;
		}
	}

	nr_cpus = libbpf_num_possible_cpus();
	if (nr_cpus <= 0)
		SCX_TEST_DIE("cannot count the possible CPUs: %s", strerror(-nr_cpus));
	if (!leave_unset)
		skel->rodata->nr_cpus = nr_cpus;
	SCX_TEST_RESIZE(skel, data, cpu_dispatches, nr_cpus);
	SCX_TEST_EXIT_DUMP_INIT(skel, tally_uei);

	kbtf = scx_test_kernel_btf();
	SCX_TEST_ENUM_SET(skel, kbtf, SCX_DSQ_LOCAL);
	SCX_TEST_ENUM_SET(skel, kbtf, SCX_DSQ_GLOBAL);
	SCX_TEST_ENUM_SET(skel, kbtf, SCX_SLICE_DFL);
	SCX_TEST_ENUM_SET(skel, kbtf, SCX_ENQ_WAKEUP);
	btf__free(kbtf);

	err = scx_tally__load(skel);
	if (err) {
		fprintf(stderr, "scx_tally: cannot load: %s\n", strerror(-err));
		rc = 1;
		goto cleanup;
	}
	/* libbpf >= 1.5: the skeleton attaches the .struct_ops.link map, which enables it. */
	err = scx_tally__attach(skel);
	if (err) {
		fprintf(stderr, "scx_tally: cannot attach: %s\n", strerror(-err));
		rc = 1;
		goto cleanup;
	}
	printf("scx_tally: enabled on %d CPUs (nr_cpus %u, slice %llu us)\n", nr_cpus,
	       skel->rodata->nr_cpus, (unsigned long long)skel->rodata->slice_us);
	fflush(stdout);

	start = now();
	while (!exiting && !skel->data->tally_uei.kind && (seconds <= 0 || now() - start < seconds)) {
		sleep(1);
		report(skel, nr_cpus);
	}
	if (skel->data->tally_uei.kind) {
		printf("scx_tally: the kernel ended the scheduler (kind %d): %s%s%s\n", skel->data->tally_uei.kind,
		       skel->data->tally_uei.reason, skel->data->tally_uei.msg[0] ? ": " : "", skel->data->tally_uei.msg);
		if (skel->data_tally_uei_dump->tally_uei_dump[0])
			printf("scx_tally: the kernel's debug dump:\n%s\n", skel->data_tally_uei_dump->tally_uei_dump);
		rc = 2;
	} else {
		printf("scx_tally: stayed enabled for %.0f s\n", now() - start);
	}
cleanup:
	scx_tally__destroy(skel);
	return rc;
}
