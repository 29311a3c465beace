/* SPDX-License-Identifier: GPL-2.0 */
/*
 * own_fifo: the loader of own_fifo.bpf.c, built from its skeleton as a
 * developer builds theirs: open, set rodata, load, attach the struct_ops, then
 * print the enqueue count every second until SIGINT/SIGTERM or until the
 * kernel disables the scheduler (its exit record says why).
 *
 *   own_fifo [--slice-us N] [--give-up-after N]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <linux/types.h>

/* The skeleton names the BPF side's types: its globals' and the exit record's (scx_run.h). */
typedef __u64 u64;
#include "scx_run.h"
#include "own_fifo.skel.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int number(const char *opt, const char *text, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(text, &end, 10);
	if (errno || *end || end == text) {
		fprintf(stderr, "own_fifo: %s takes a number, not %s\n", opt, text);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long slice_us = 0, give_up = 0;
	struct own_fifo_bpf *skel = NULL;
	struct bpf_link *link = NULL;
	int rc = 1, i, err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--slice-us") && i + 1 < argc) {
			if (number(argv[i], argv[i + 1], &slice_us))
				return 1;
			i++;
		} else if (!strcmp(argv[i], "--give-up-after") && i + 1 < argc) {
			if (number(argv[i], argv[i + 1], &give_up))
				return 1;
			i++;
		} else {
			fprintf(stderr, "usage: own_fifo [--slice-us N] [--give-up-after N]\n");
			return 1;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);

	skel = own_fifo_bpf__open();
	if (!skel) {
		fprintf(stderr, "own_fifo: cannot open the BPF object: %s\n", strerror(errno));
		return 1;
	}
	if (slice_us)
		skel->rodata->slice_ns = slice_us * 1000;
	skel->rodata->give_up_after = give_up;
	err = own_fifo_bpf__load(skel);
	if (err) {
		fprintf(stderr, "own_fifo: the scheduler did not load: %s\n", strerror(-err));
		goto cleanup;
	}
	link = bpf_map__attach_struct_ops(skel->maps.own_fifo_ops);
	if (!link) {
		fprintf(stderr, "own_fifo: the kernel did not enable the scheduler: %s\n", strerror(errno));
		goto cleanup;
	}
	printf("own_fifo: attached (slice %llu ns)\n", (unsigned long long)skel->rodata->slice_ns);
	rc = 0;
	while (!stopping && !skel->bss->scx_run_exit.kind) {
		sleep(1);
		printf("own_fifo: %llu enqueues\n", (unsigned long long)skel->bss->nr_enqueued);
	}
	if (skel->bss->scx_run_exit.kind) {
		printf("own_fifo: the kernel disabled it: %s: %s\n", skel->bss->scx_run_exit.reason,
		       skel->bss->scx_run_exit.msg);
		rc = 2;
	} else {
		printf("own_fifo: stopping\n");
	}
cleanup:
	bpf_link__destroy(link);
	own_fifo_bpf__destroy(skel);
	return rc;
}
