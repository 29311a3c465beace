/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The loader of scx_hints: shares the task local data map with applications,
 * enables the scheduler, prints its statistics every second, and says how it
 * ended. Exit code: 0 when it stayed enabled for the whole run, 1 when it
 * could not be loaded or enabled, 2 when the kernel disabled it (the reason is
 * printed).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "scx_hints.skel.h"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* "enabled", "disabled"... from /sys/kernel/sched_ext/state. */
static void scx_state(char *buf, size_t len)
{
	FILE *f = fopen("/sys/kernel/sched_ext/state", "r");

	snprintf(buf, len, "unknown");
	if (f) {
		if (fgets(buf, (int)len, f))
			buf[strcspn(buf, "\n")] = 0;
		fclose(f);
	}
}

static void stats(const struct scx_hints_bpf *skel, const char *when)
{
	printf("scx_hints %s: tasks hinted %llu, enqueued high %llu, normal %llu, weighted %llu\n", when,
	       (unsigned long long)skel->bss->nr_tasks_hinted, (unsigned long long)skel->bss->nr_enq_hi,
	       (unsigned long long)skel->bss->nr_enq_normal, (unsigned long long)skel->bss->nr_weighted);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("TLD_PIN_DIR");
	int seconds = argc > 1 ? atoi(argv[1]) : 0;
	struct scx_hints_bpf *skel;
	struct bpf_link *link;
	char pin[256], state[64];
	int rc = 0;

	snprintf(pin, sizeof(pin), "%s/tld_data_map", dir && *dir ? dir : "/sys/fs/bpf/tld");
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	skel = scx_hints_bpf__open();
	if (!skel) {
		fprintf(stderr, "scx_hints: cannot open the scheduler: %s\n", strerror(errno));
		return 1;
	}
	bpf_program__set_flags(skel->progs.hints_init, BPF_F_SLEEPABLE);
	bpf_map__set_pin_path(skel->maps.tld_data_map, pin);
	if (scx_hints_bpf__load(skel)) {
		fprintf(stderr, "scx_hints: the scheduler did not load (see the verifier log above): %s\n",
			strerror(errno));
		return 1;
	}
	link = bpf_map__attach_struct_ops(skel->maps.hints_ops);
	if (!link) {
		fprintf(stderr, "scx_hints: cannot enable the scheduler: %s\n", strerror(errno));
		scx_hints_bpf__destroy(skel);
		return 1;
	}
	scx_state(state, sizeof(state));
	printf("scx_hints: enabled (sched_ext state: %s), sharing %s\n", state, pin);
	fflush(stdout);
	for (int s = 0; !stopping && (!seconds || s < seconds); s++) {
		sleep(1);
		if (skel->bss->exit_kind) {
			printf("scx_hints: the kernel disabled the scheduler (kind %d): %s: %s\n", skel->bss->exit_kind,
			       skel->bss->exit_reason, skel->bss->exit_msg);
			rc = 2;
			break;
		}
		stats(skel, "running");
	}
	stats(skel, "final");
	bpf_link__destroy(link);
	scx_hints_bpf__destroy(skel);
	return rc;
}
