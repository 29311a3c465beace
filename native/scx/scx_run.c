/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tld-scx-run: loads any sched_ext scheduler object, enables it, optionally
 * runs a command under it, prints its statistics, and says how it ended.
 *
 *   tld-scx-run [--seconds N] [--set NAME=VALUE]... [--from-port NAME] SCHEDULER.bpf.o [-- COMMAND [ARG...]]
 *
 * --from-port NAME first receives the object into SCHEDULER.bpf.o from the
 * virtio-serial port NAME (scx_port.h), while the kernel's BTF is parsed.
 *
 * It loads the object as scx's own loaders load theirs (scx_globals.c): the ops
 * in ".struct_ops" or ".struct_ops.link", sleepable programs in "struct_ops.s/"
 * (libbpf >= 1.5); every "__NAME" rodata global filled with the running
 * kernel's enumerator NAME (SCX_DSQ_LOCAL, SCX_SLICE_DFL...); every array
 * declared resizable (alone at the end of a ".data.NAME"/".bss.NAME" section)
 * given one element per possible CPU; --set for rodata, data and bss globals;
 * the ops' flags checked against the running kernel and, with
 * SCX_OPS_SWITCH_PARTIAL, COMMAND started in SCHED_EXT so that it runs under
 * the scheduler. The scheduler shares the pinned task local data map with
 * applications ($TLD_PIN_DIR/tld_data_map, default /sys/fs/bpf/tld).
 * Statistics come from the object's BTF: every integer global of .bss/.data is
 * a counter, every `u64 NAME[SCX_LAT_BUCKETS]` a latency histogram
 * (scx_run.h); they are printed every second and once more at the end as one
 * JSON line ("tld-scx-run: final {...}").
 *
 * When the kernel ends the scheduler, the reason comes from the object's exit
 * record (scx_run_exit, or any global struct with kind, reason and msg, as
 * scx's user_exit_info), else from the kernel log; then, where it can tell,
 * the likely cause ("tld-scx-run: likely cause: ..."): a kernel constant left
 * 0, or a rodata global still at its default.
 *
 * The run ends after N seconds (the command is then stopped, its whole process
 * group), when the command exits, on SIGINT/SIGTERM, or
 * when the kernel disables the scheduler. Exit code: 0 when it stayed enabled
 * for the whole run, 1 when it could not be loaded or enabled, 2 when the
 * kernel disabled it (the reason is printed).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "scx_exit.h"
#include "scx_globals.h"
#include "scx_ops.h"
#include "scx_port.h"
#include "scx_run.h"
#include "tld_layout.h"

#define MAX_STATS 64
#define MAX_SETS 64
#define SCHED_EXT 7
/* The exit dump buffer's size when the ops leave exit_dump_len 0, as scx's loaders use. */
#define EXIT_DUMP_DEFAULT_LEN 32768

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* One global of the scheduler worth printing, and where its value lives. */
struct stat_var {
	const char *name;
	const void *data;   /* in the section's map, mapped by libbpf */
	unsigned int size;  /* of a counter */
	int is_signed;
	int is_hist;
};

struct stats {
	struct stat_var vars[MAX_STATS];
	int n;
	struct scx_exit_record exit;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * The running kernel's BTF, parsed on a thread of its own while libbpf opens the
 * object: each takes tens of milliseconds in a TCG guest, where this loader
 * runs before every scheduler's start.
 */
struct kbtf_load {
	pthread_t thread;
	bool started;
	struct btf *btf;
	int err;
};

static void *kbtf_parse(void *arg)
{
	struct kbtf_load *k = arg;

	k->btf = btf__load_vmlinux_btf();
	k->err = k->btf ? 0 : errno;
	return NULL;
}

static void kbtf_start(struct kbtf_load *k)
{
	k->started = pthread_create(&k->thread, NULL, kbtf_parse, k) == 0;
}

/* The kernel's BTF, or NULL with errno set. */
static struct btf *kbtf_wait(struct kbtf_load *k)
{
	if (k->started)
		pthread_join(k->thread, NULL);
	else
		kbtf_parse(k);
	k->started = false;
	errno = k->err;
	return k->btf;
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

/*
 * After load: the counters, histograms and exit record among the globals of .bss/.data
 * sections. scx_run_exit (scx.bpf.h) is preferred as the exit record; else the first
 * struct shaped like one.
 */
static void collect_stats(const struct scx_globals *g, struct stats *st)
{
	bool named_exit = false;

	for (int i = 0; i < g->n; i++) {
		const struct scx_global *v = &g->v[i];
		const struct btf_type *t = v->type_id > 0 ? btf__type_by_id(g->btf, v->type_id) : NULL;
		const void *data = scx_global_data(v);
		struct stat_var *sv = &st->vars[st->n];

		if (v->rodata || !data || !t)
			continue;
		if (v->exit_dump) {
			st->exit.dump = data;
			st->exit.dump_len = v->size;
			continue;
		}
		if (v->kind == SCX_GLOBAL_STRUCT && !named_exit) {
			bool is_named = !strcmp(v->name, SCX_RUN_EXIT_VAR);

			if ((is_named || !st->exit.kind) && scx_exit_record_of(g->btf, v, &st->exit))
				named_exit = is_named;
			continue;
		}
		if (st->n == MAX_STATS)
			continue;
		if (v->kind == SCX_GLOBAL_INT && !(btf_int_encoding(t) & BTF_INT_CHAR)) {
			*sv = (struct stat_var){ v->name, data, v->size, v->is_signed, 0 };
			st->n++;
		} else if (v->kind == SCX_GLOBAL_ARRAY && btf_array(t)->nelems == SCX_LAT_BUCKETS &&
			   v->size == SCX_LAT_BUCKETS * 8) {
			*sv = (struct stat_var){ v->name, data, 8, 0, 1 };
			st->n++;
		}
	}
}

static long long counter_value(const struct stat_var *v)
{
	switch (v->size) {
	case 1: return v->is_signed ? (long long)*(const volatile __s8 *)v->data : (long long)*(const volatile __u8 *)v->data;
	case 2: return v->is_signed ? (long long)*(const volatile __s16 *)v->data : (long long)*(const volatile __u16 *)v->data;
	case 4: return v->is_signed ? (long long)*(const volatile __s32 *)v->data : (long long)*(const volatile __u32 *)v->data;
	default: return *(const volatile long long *)v->data;
	}
}

struct hist_summary {
	unsigned long long count, p50, p90, p99, max;
};

/* A bucket's upper bound: percentiles are reported as "at most". */
static unsigned long long bucket_ceil(unsigned int b)
{
	return b + 1 < SCX_LAT_BUCKETS ? scx_lat_bucket_floor(b + 1) : scx_lat_bucket_floor(b);
}

static struct hist_summary summarize(const volatile __u64 *h)
{
	struct hist_summary s = { 0 };
	__u64 snap[SCX_LAT_BUCKETS], seen = 0;
	unsigned int b;

	for (b = 0; b < SCX_LAT_BUCKETS; b++) {
		snap[b] = h[b];
		s.count += snap[b];
	}
	for (b = 0; b < SCX_LAT_BUCKETS; b++) {
		if (!snap[b])
			continue;
		seen += snap[b];
		if (!s.p50 && seen * 100 >= s.count * 50)
			s.p50 = bucket_ceil(b);
		if (!s.p90 && seen * 100 >= s.count * 90)
			s.p90 = bucket_ceil(b);
		if (!s.p99 && seen * 100 >= s.count * 99)
			s.p99 = bucket_ceil(b);
		s.max = bucket_ceil(b);
	}
	return s;
}

static void print_stats(const struct stats *st, double elapsed)
{
	printf("tld-scx-run: %.0f s:", elapsed);
	for (int i = 0; i < st->n; i++) {
		const struct stat_var *v = &st->vars[i];

		if (v->is_hist) {
			struct hist_summary h = summarize(v->data);

			printf("%s %s n %llu p50 %.1f us p99 %.1f us", i ? "," : "", v->name, h.count,
			       (double)h.p50 / 1000, (double)h.p99 / 1000);
		} else {
			printf("%s %s %lld", i ? "," : "", v->name, counter_value(v));
		}
	}
	printf("\n");
	fflush(stdout);
}

/* The final statistics as one JSON line; names are C identifiers, so they need no escaping. */
static void print_final(const struct stats *st, double elapsed)
{
	int first = 1;

	printf("tld-scx-run: final {\"seconds\":%.3f,\"counters\":{", elapsed);
	for (int i = 0; i < st->n; i++) {
		if (st->vars[i].is_hist)
			continue;
		printf("%s\"%s\":%lld", first ? "" : ",", st->vars[i].name, counter_value(&st->vars[i]));
		first = 0;
	}
	printf("},\"histograms\":{");
	first = 1;
	for (int i = 0; i < st->n; i++) {
		const volatile __u64 *h = st->vars[i].data;
		struct hist_summary s;
		int firstb = 1;

		if (!st->vars[i].is_hist)
			continue;
		s = summarize(h);
		printf("%s\"%s\":{\"count\":%llu,\"p50_ns\":%llu,\"p90_ns\":%llu,\"p99_ns\":%llu,\"max_ns\":%llu,\"buckets\":[",
		       first ? "" : ",", st->vars[i].name, s.count, s.p50, s.p90, s.p99, s.max);
		for (unsigned int b = 0; b < SCX_LAT_BUCKETS; b++) {
			if (!h[b])
				continue;
			printf("%s[%llu,%llu]", firstb ? "" : ",", (unsigned long long)scx_lat_bucket_floor(b),
			       (unsigned long long)h[b]);
			firstb = 0;
		}
		printf("]}");
		first = 0;
	}
	printf("}}\n");
	fflush(stdout);
}

/* sched_setattr() to SCHED_EXT: libc has no wrapper. */
struct sched_attr_v0 {
	__u32 size;
	__u32 sched_policy;
	__u64 sched_flags;
	__s32 sched_nice;
	__u32 sched_priority;
	__u64 sched_runtime, sched_deadline, sched_period;
};

static int set_sched_ext(void)
{
	struct sched_attr_v0 attr = { .size = sizeof(attr), .sched_policy = SCHED_EXT };

	return (int)syscall(SYS_sched_setattr, 0, &attr, 0);
}

/* Starts @argv in a process group of its own, so that the run can stop all of it. */
static pid_t start_command(char **argv, bool partial)
{
	pid_t pid = fork();

	if (pid == 0) {
		setpgid(0, 0);
		if (partial && set_sched_ext())
			fprintf(stderr, "tld-scx-run: cannot put %s in SCHED_EXT: %s\n", argv[0], strerror(errno));
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(argv[0], argv);
		fprintf(stderr, "tld-scx-run: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (pid > 0)
		setpgid(pid, pid);
	return pid;
}

static void stop_command(pid_t pid)
{
	int status;

	kill(-pid, SIGTERM);
	for (int i = 0; i < 20; i++) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return;
		usleep(100000);
	}
	kill(-pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static void usage(void)
{
	fprintf(stderr, "usage: tld-scx-run [--seconds N] [--set NAME=VALUE]... [--from-port NAME] SCHEDULER.bpf.o [-- COMMAND [ARG...]]\n");
}

/* Sets NAME_len of every exit dump buffer NAME that scx_resize_arrays() sized. */
static void tell_dump_len(struct scx_globals *g, __u32 dump_len)
{
	for (int i = 0; i < g->n; i++) {
		struct scx_global *buf = &g->v[i];
		struct scx_global *len;
		char name[256];

		if (buf->kind != SCX_GLOBAL_ARRAY || buf->size != dump_len)
			continue;
		snprintf(name, sizeof(name), "%s_len", buf->name);
		len = scx_global_by_name(g, name);
		if (len && !scx_set_number(len, dump_len)) {
			len->set_by_loader = true;
			buf->exit_dump = true;
		}
	}
}

/* Prints the kernel constants filled into the object, on one line. */
static void print_constants(const struct scx_globals *g, int n)
{
	if (!n)
		return;
	printf("tld-scx-run: %d kernel constant%s from the running kernel:", n, n == 1 ? "" : "s");
	for (int i = 0, k = 0; i < g->n; i++) {
		if (!g->v[i].from_kernel)
			continue;
		printf("%s %s=0x%llx", k++ ? "," : "", g->v[i].name + 2, (unsigned long long)scx_global_number(&g->v[i]));
	}
	printf("\n");
	for (int i = 0; i < g->n; i++)
		if (g->v[i].kernel_missing)
			printf("tld-scx-run: warning: the running kernel has no %s, so %s stays 0\n", g->v[i].name + 2, g->v[i].name);
}

int main(int argc, char **argv)
{
	const char *dir = getenv("TLD_PIN_DIR"), *path = NULL, *port = NULL, *sets[MAX_SETS];
	struct bpf_map *map, *ops = NULL;
	struct bpf_object *obj = NULL;
	struct bpf_link *link = NULL;
	struct scx_globals g = { 0 };
	struct btf *kbtf = NULL;
	struct kbtf_load kload = { 0 };
	char **command = NULL, pin[256], state[64], err_msg[1024];
	struct stats st = { 0 };
	double seconds = 0, start, last_print;
	pid_t child = -1;
	int rc = 1, i, n_ops = 0, n_sets = 0, err, nr_cpus, kmsg = -1;
	__u32 dump_len, *dump_field;
	bool partial = false;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = atof(argv[++i]);
			if (seconds <= 0) {
				fprintf(stderr, "tld-scx-run: --seconds takes a positive number, not %s\n", argv[i]);
				return 1;
			}
		} else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
			if (n_sets == MAX_SETS) {
				fprintf(stderr, "tld-scx-run: at most %d --set\n", MAX_SETS);
				return 1;
			}
			sets[n_sets++] = argv[++i];
		} else if (!strcmp(argv[i], "--from-port") && i + 1 < argc) {
			port = argv[++i];
		} else if (!strcmp(argv[i], "--")) {
			command = argv + i + 1;
			break;
		} else if (!path && argv[i][0] != '-') {
			path = argv[i];
		} else {
			usage();
			return 1;
		}
	}
	if (!path || (command && !command[0])) {
		usage();
		return 1;
	}
	snprintf(pin, sizeof(pin), "%s/%s", dir && *dir ? dir : TLD_DEFAULT_PIN_DIR, TLD_MAP_NAME);
	/* Line by line, so that its lines and libbpf's (stderr) stay in order on a console or pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	kbtf_start(&kload);
	if (port && scx_receive_object(port, path, err_msg, sizeof(err_msg))) {
		fprintf(stderr, "tld-scx-run: %s\n", err_msg);
		goto out;
	}
	obj = bpf_object__open_file(path, NULL);
	err = libbpf_get_error(obj);
	if (err) {
		obj = NULL;
		fprintf(stderr, "tld-scx-run: cannot open %s: %s\n", path, strerror(-err));
		goto out;
	}
	bpf_object__for_each_map(map, obj) {
		if (!strcmp(bpf_map__name(map), TLD_MAP_NAME))
			bpf_map__set_pin_path(map, pin);
		if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS) {
			ops = map;
			n_ops++;
		}
	}
	if (n_ops != 1) {
		fprintf(stderr, "tld-scx-run: %s has %d struct_ops maps; a scheduler has exactly one "
			"(a struct sched_ext_ops in SEC(\".struct_ops.link\") or SEC(\".struct_ops\"))\n", path, n_ops);
		goto out;
	}

	/* Before load, in scx's order: arrays sized, then constants, then the user's settings. */
	nr_cpus = libbpf_num_possible_cpus();
	if (nr_cpus <= 0) {
		fprintf(stderr, "tld-scx-run: cannot count the possible CPUs: %s\n", strerror(-nr_cpus));
		goto out;
	}
	dump_field = scx_ops_field(obj, ops, "exit_dump_len", 4);
	dump_len = dump_field && *dump_field ? *dump_field : EXIT_DUMP_DEFAULT_LEN;
	err = scx_resize_arrays(obj, nr_cpus, dump_len, stdout, err_msg, sizeof(err_msg));
	if (err < 0) {
		fprintf(stderr, "tld-scx-run: %s\n", err_msg);
		goto out;
	}
	if (scx_globals_find(obj, &g)) {
		fprintf(stderr, "tld-scx-run: out of memory\n");
		goto out;
	}
	tell_dump_len(&g, dump_len);
	kbtf = kbtf_wait(&kload);
	if (!kbtf)
		fprintf(stderr, "tld-scx-run: warning: cannot read the running kernel's BTF (%s): kernel constants stay 0\n",
			strerror(errno));
	else
		print_constants(&g, scx_enums_init(&g, kbtf));
	for (i = 0; i < n_sets; i++) {
		if (scx_set_global(&g, sets[i], err_msg, sizeof(err_msg))) {
			fprintf(stderr, "tld-scx-run: %s\n", err_msg);
			goto out;
		}
		printf("tld-scx-run: set %s\n", sets[i]);
	}
	if (scx_check_ops_flags(obj, ops, kbtf, &partial))
		goto out;
	scx_set_hotplug_seq(obj, ops);
	fflush(stdout);

	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "tld-scx-run: the scheduler %s did not load (the verifier's log is above): %s\n",
			bpf_map__name(ops), strerror(-err));
		goto out;
	}
	collect_stats(&g, &st);
	kmsg = scx_kmsg_open();
	link = bpf_map__attach_struct_ops(ops);
	if (!link) {
		err = -errno;
		fprintf(stderr, "tld-scx-run: the kernel did not enable the scheduler %s: %s\n", bpf_map__name(ops), strerror(-err));
		if (scx_exit_recorded(&st.exit) || kmsg >= 0)
			scx_report_exit(&st.exit, &g, kmsg);
		goto out;
	}
	scx_state(state, sizeof(state));
	printf("tld-scx-run: %s enabled (sched_ext state: %s), sharing %s\n", bpf_map__name(ops), state, pin);
	fflush(stdout);

	start = last_print = now_s();
	if (command) {
		child = start_command(command, partial);
		if (child < 0)
			fprintf(stderr, "tld-scx-run: cannot start %s: %s\n", command[0], strerror(errno));
	}
	rc = 0;
	while (!stopping && (seconds <= 0 || now_s() - start < seconds)) {
		int status;

		usleep(50000);
		if (scx_exit_recorded(&st.exit)) {
			scx_report_exit(&st.exit, &g, kmsg);
			rc = 2;
			break;
		}
		scx_state(state, sizeof(state));
		if (strcmp(state, "enabled") && strcmp(state, "enabling")) {
			/* Disabling runs ops.exit: give it a moment to record why. */
			for (int w = 0; w < 40 && st.exit.kind && !scx_exit_recorded(&st.exit); w++)
				usleep(50000);
			scx_report_exit(&st.exit, &g, kmsg);
			rc = 2;
			break;
		}
		if (child > 0 && waitpid(child, &status, WNOHANG) == child) {
			printf("tld-scx-run: %s exited with status %d\n", command[0], WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			child = -1;
			break;
		}
		if (now_s() - last_print >= 1) {
			last_print = now_s();
			print_stats(&st, last_print - start);
		}
	}
	if (child > 0)
		stop_command(child);
	print_final(&st, now_s() - start);
out:
	if (kload.started)
		btf__free(kbtf_wait(&kload));
	if (kmsg >= 0)
		close(kmsg);
	bpf_link__destroy(link);
	bpf_object__close(obj);
	btf__free(kbtf);
	scx_globals_free(&g);
	return rc;
}
