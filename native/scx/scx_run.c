/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tld-scx-run: loads any sched_ext scheduler object, enables it, optionally
 * runs a command under it, prints its statistics, and says how it ended.
 *
 *   tld-scx-run [--seconds N] SCHEDULER.bpf.o [-- COMMAND [ARG...]]
 *
 * The scheduler shares the pinned task local data map with applications
 * ($TLD_PIN_DIR/tld_data_map, default /sys/fs/bpf/tld). Programs in the
 * section "struct_ops/sleepable" are loaded sleepable (scx.bpf.h). Statistics
 * come from the object's BTF: every integer global is a counter, every
 * `u64 NAME[SCX_LAT_BUCKETS]` a latency histogram (scx_run.h); they are
 * printed every second and once more at the end as one JSON line
 * ("tld-scx-run: final {...}").
 *
 * The run ends after N seconds (the command is then stopped, its whole process
 * group), when the command exits, on SIGINT/SIGTERM, or
 * when the kernel disables the scheduler. Exit code: 0 when it stayed enabled
 * for the whole run, 1 when it could not be loaded or enabled, 2 when the
 * kernel disabled it (the reason is printed).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "scx_run.h"
#include "tld_layout.h"

#define SLEEPABLE_SEC "struct_ops/sleepable"
#define MAX_STATS 64

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* One global of the scheduler worth printing, and where its value lives. */
struct stat_var {
	const char *name;
	const void *data;   /* in the mmaped .bss/.data map */
	unsigned int size;  /* of a counter */
	int is_signed;
	int is_hist;
};

struct stats {
	struct stat_var vars[MAX_STATS];
	int n;
	const struct scx_run_exit *exit;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/*
 * The live value of the internal map holding data section @sec (".bss", ".data"), mapped
 * read-only: libbpf 1.1 maps these only for skeletons, and this loader has none.
 */
static const void *section_data(struct bpf_object *obj, const char *sec, size_t *size)
{
	struct bpf_map *map;
	void *p;

	bpf_object__for_each_map(map, obj) {
		if (!ends_with(bpf_map__name(map), sec))
			continue;
		if (!(bpf_map__map_flags(map) & BPF_F_MMAPABLE))
			return NULL;
		*size = bpf_map__value_size(map);
		p = mmap(NULL, *size, PROT_READ, MAP_SHARED, bpf_map__fd(map), 0);
		return p == MAP_FAILED ? NULL : p;
	}
	return NULL;
}

/* Collects the counters, histograms and exit record of one data section from the BTF. */
static void collect_section(struct bpf_object *obj, const struct btf *btf, const char *sec, struct stats *st)
{
	const struct btf_var_secinfo *vi;
	const struct btf_type *ds, *var, *t;
	const char *data;
	size_t size = 0;
	int id, i;

	id = btf__find_by_name_kind(btf, sec, BTF_KIND_DATASEC);
	data = section_data(obj, sec, &size);
	if (id < 0 || !data)
		return;
	ds = btf__type_by_id(btf, id);
	vi = btf_var_secinfos(ds);
	for (i = 0; i < btf_vlen(ds); i++, vi++) {
		struct stat_var *sv = &st->vars[st->n];
		const char *name;
		int tid;

		var = btf__type_by_id(btf, vi->type);
		if (!var || !btf_is_var(var) || vi->offset + vi->size > size)
			continue;
		name = btf__name_by_offset(btf, var->name_off);
		tid = btf__resolve_type(btf, var->type);
		t = tid < 0 ? NULL : btf__type_by_id(btf, tid);
		if (!t || !name)
			continue;
		if (!strcmp(name, SCX_RUN_EXIT_VAR) && vi->size == sizeof(struct scx_run_exit)) {
			st->exit = (const void *)(data + vi->offset);
			continue;
		}
		if (st->n == MAX_STATS)
			continue;
		if (btf_is_int(t) && (t->size == 1 || t->size == 2 || t->size == 4 || t->size == 8) &&
		    !(btf_int_encoding(t) & (BTF_INT_CHAR | BTF_INT_BOOL))) {
			*sv = (struct stat_var){ name, data + vi->offset, t->size, !!(btf_int_encoding(t) & BTF_INT_SIGNED), 0 };
			st->n++;
		} else if (btf_is_array(t) && btf_array(t)->nelems == SCX_LAT_BUCKETS && vi->size == SCX_LAT_BUCKETS * 8) {
			*sv = (struct stat_var){ name, data + vi->offset, 8, 0, 1 };
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

static const char *kind_class(int kind)
{
	if (kind >= 1024)
		return "error";
	if (kind >= 64)
		return "unregistered by the system";
	return "done";
}

static void print_exit(const struct scx_run_exit *e)
{
	printf("tld-scx-run: the kernel disabled the scheduler (%s, kind %d, exit code %lld): %s%s%s\n",
	       kind_class(e->kind), e->kind, (long long)e->exit_code, e->reason, e->msg[0] ? ": " : "", e->msg);
	fflush(stdout);
}

/* Starts @argv in a process group of its own, so that the run can stop all of it. */
static pid_t start_command(char **argv)
{
	pid_t pid = fork();

	if (pid == 0) {
		setpgid(0, 0);
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
	fprintf(stderr, "usage: tld-scx-run [--seconds N] SCHEDULER.bpf.o [-- COMMAND [ARG...]]\n");
}

int main(int argc, char **argv)
{
	const char *dir = getenv("TLD_PIN_DIR"), *path = NULL;
	struct bpf_map *map, *ops = NULL;
	struct bpf_program *prog;
	struct bpf_object *obj = NULL;
	struct bpf_link *link = NULL;
	char **command = NULL, pin[256], state[64];
	struct stats st = { 0 };
	double seconds = 0, start, last_print;
	pid_t child = -1;
	int rc = 1, i, n_ops = 0, err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
			seconds = atof(argv[++i]);
			if (seconds <= 0) {
				fprintf(stderr, "tld-scx-run: --seconds takes a positive number, not %s\n", argv[i]);
				return 1;
			}
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
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	obj = bpf_object__open_file(path, NULL);
	err = libbpf_get_error(obj);
	if (err) {
		fprintf(stderr, "tld-scx-run: cannot open %s: %s\n", path, strerror(-err));
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		if (!strcmp(bpf_program__section_name(prog), SLEEPABLE_SEC))
			bpf_program__set_flags(prog, bpf_program__flags(prog) | BPF_F_SLEEPABLE);
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
		fprintf(stderr, "tld-scx-run: %s has %d struct_ops maps; a scheduler has exactly one (SEC(\".struct_ops\") struct sched_ext_ops)\n",
			path, n_ops);
		goto out;
	}
	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "tld-scx-run: the scheduler %s did not load (the verifier's log is above): %s\n",
			bpf_map__name(ops), strerror(-err));
		goto out;
	}
	collect_section(obj, bpf_object__btf(obj), ".bss", &st);
	collect_section(obj, bpf_object__btf(obj), ".data", &st);
	link = bpf_map__attach_struct_ops(ops);
	if (!link) {
		err = -errno;
		fprintf(stderr, "tld-scx-run: the kernel did not enable the scheduler %s: %s\n", bpf_map__name(ops), strerror(-err));
		if (st.exit && st.exit->kind)
			print_exit(st.exit);
		goto out;
	}
	scx_state(state, sizeof(state));
	printf("tld-scx-run: %s enabled (sched_ext state: %s), sharing %s\n", bpf_map__name(ops), state, pin);
	fflush(stdout);

	start = last_print = now_s();
	if (command) {
		child = start_command(command);
		if (child < 0)
			fprintf(stderr, "tld-scx-run: cannot start %s: %s\n", command[0], strerror(errno));
	}
	rc = 0;
	while (!stopping && (seconds <= 0 || now_s() - start < seconds)) {
		int status;

		usleep(50000);
		if (st.exit && st.exit->kind) {
			print_exit(st.exit);
			rc = 2;
			break;
		}
		scx_state(state, sizeof(state));
		if (strcmp(state, "enabled") && strcmp(state, "enabling")) {
			/* Disabling runs ops.exit: give it a moment to record why. */
			for (int w = 0; w < 40 && st.exit && !st.exit->kind; w++)
				usleep(50000);
			if (st.exit && st.exit->kind) {
				print_exit(st.exit);
				rc = 2;
				break;
			}
			printf("tld-scx-run: the kernel disabled the scheduler (sched_ext state: %s); the kernel log above says why\n", state);
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
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return rc;
}
