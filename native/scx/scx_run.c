/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tld-scx-run: loads any sched_ext scheduler object, enables it, optionally
 * runs a command under it, prints its statistics, and says how it ended.
 *
 *   tld-scx-run [--seconds N] [--set NAME=VALUE]... SCHEDULER.bpf.o [-- COMMAND [ARG...]]
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
#include <fcntl.h>
#include <sched.h>
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

#include "scx_globals.h"
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

/* How the kernel ended the scheduler, as its object records it (ops.exit). */
struct exit_record {
	const volatile __s32 *kind;
	const volatile __s64 *exit_code;    /* NULL when the record has none */
	const char *reason, *msg;
	unsigned int reason_len, msg_len;
};

struct stats {
	struct stat_var vars[MAX_STATS];
	int n;
	struct exit_record exit;
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

/* The member @name of struct @t, or NULL. */
static const struct btf_member *member(const struct btf *btf, const struct btf_type *t, const char *name)
{
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), name))
			return m;
	return NULL;
}

static const struct btf_type *resolved(const struct btf *btf, __u32 id)
{
	int r = btf__resolve_type(btf, id);

	return r < 0 ? NULL : btf__type_by_id(btf, r);
}

/*
 * A struct global that records the exit as scx's user_exit_info does: an int "kind", char
 * arrays "reason" and "msg", maybe an 8-byte "exit_code". Fills @e from it; false otherwise.
 */
static bool exit_record_of(const struct btf *btf, const struct scx_global *v, struct exit_record *e)
{
	const struct btf_type *t = btf__type_by_id(btf, v->type_id), *kt, *rt, *mt;
	const struct btf_member *kind, *code, *reason, *msg;
	const char *base = scx_global_data(v);

	if (!t || !btf_is_struct(t) || !base)
		return false;
	kind = member(btf, t, "kind");
	code = member(btf, t, "exit_code");
	reason = member(btf, t, "reason");
	msg = member(btf, t, "msg");
	if (!kind || !reason || !msg)
		return false;
	kt = resolved(btf, kind->type);
	rt = resolved(btf, reason->type);
	mt = resolved(btf, msg->type);
	if (!kt || !btf_is_int(kt) || kt->size != 4 || !rt || !btf_is_array(rt) || !mt || !btf_is_array(mt))
		return false;
	e->kind = (const volatile __s32 *)(base + btf_member_bit_offset(t, kind - btf_members(t)) / 8);
	e->exit_code = NULL;
	if (code) {
		const struct btf_type *ct = resolved(btf, code->type);

		if (ct && btf_is_int(ct) && ct->size == 8)
			e->exit_code = (const volatile __s64 *)(base + btf_member_bit_offset(t, code - btf_members(t)) / 8);
	}
	e->reason = base + btf_member_bit_offset(t, reason - btf_members(t)) / 8;
	e->reason_len = btf_array(rt)->nelems;
	e->msg = base + btf_member_bit_offset(t, msg - btf_members(t)) / 8;
	e->msg_len = btf_array(mt)->nelems;
	return true;
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
		if (v->kind == SCX_GLOBAL_STRUCT && !named_exit) {
			bool is_named = !strcmp(v->name, SCX_RUN_EXIT_VAR);

			if ((is_named || !st->exit.kind) && exit_record_of(g->btf, v, &st->exit))
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

static const char *kind_class(int kind)
{
	if (kind >= 1024)
		return "error";
	if (kind >= 64)
		return "unregistered by the system";
	return "done";
}

static bool exit_recorded(const struct exit_record *e)
{
	return e->kind && *e->kind;
}

static void print_exit(const struct exit_record *e)
{
	printf("tld-scx-run: the kernel disabled the scheduler (%s, kind %d, exit code %lld): %.*s%s%.*s\n",
	       kind_class(*e->kind), *e->kind, e->exit_code ? (long long)*e->exit_code : 0LL,
	       (int)e->reason_len, e->reason, e->msg[0] ? ": " : "", (int)e->msg_len, e->msg);
	fflush(stdout);
}

/*
 * The kernel log from here on, to read why the scheduler was disabled when the object
 * keeps no exit record. -1 when it cannot be read (no /dev/kmsg, no privilege).
 */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * Appends to @buf (holding @at bytes) sched_ext's own lines about the disable that reached
 * the kernel log since kmsg_open: "sched_ext: BPF scheduler "NAME" disabled (REASON)" and
 * the "sched_ext: NAME: MSG" lines after it. Returns the new length.
 */
static size_t kmsg_collect(int fd, char *buf, size_t len, size_t at)
{
	char rec[2048];
	ssize_t n;

	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		char *msg;

		if (n <= 0)
			continue; /* EPIPE: records were overwritten; go on with the next */
		rec[n] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		msg[strcspn(msg, "\n")] = 0;
		if (strncmp(msg, "sched_ext: ", 11) || (!at && !strstr(msg, "disabled (")))
			continue;
		at += snprintf(buf + at, at < len ? len - at : 0, "%s%s", at ? "; " : "", msg + 11);
		if (at >= len)
			return len - 1;
	}
	return at;
}

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Whether @text mentions @name as a whole identifier. */
static bool mentions(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; (p = strstr(p, name)); p++)
		if ((p == text || !ident_char(p[-1])) && !ident_char(p[n]))
			return true;
	return false;
}

/* Whether @v is a rodata number the user did not set and that is still 0, its usual default. */
static bool unset_rodata(const struct scx_global *v)
{
	return v->rodata && !v->set_by_user && !v->set_by_loader && !v->from_kernel && !v->kernel_missing &&
	       (v->kind == SCX_GLOBAL_INT || v->kind == SCX_GLOBAL_BOOL || v->kind == SCX_GLOBAL_ENUM) &&
	       scx_global_number(v) == 0;
}

/*
 * What the runner can tell of why the kernel threw the scheduler out: kernel constants
 * left 0, and rodata still at a zero default that the kernel's message @why names. Only
 * when neither is found, the rodata globals left at 0, as candidates.
 */
static void print_likely_cause(const struct scx_globals *g, const char *why)
{
	char cause[1024];
	size_t at = 0;

#define ADD(...) (at += snprintf(cause + at, at < sizeof(cause) ? sizeof(cause) - at : 0, __VA_ARGS__))
	for (int i = 0; i < g->n; i++) {
		const struct scx_global *v = &g->v[i];

		if (v->kernel_missing && !v->set_by_user)
			ADD("%s%s was left 0: the running kernel has no %s", at ? "; " : "", v->name, v->name + 2);
		else if (unset_rodata(v) && why && mentions(why, v->name))
			ADD("%sthe rodata global %s is still its default 0 and the exit message names it: set it with --set %s=VALUE",
			    at ? "; " : "", v->name, v->name);
	}
	if (!at) {
		for (int i = 0; i < g->n; i++)
			if (unset_rodata(&g->v[i]))
				ADD("%s%s", at ? ", " : "rodata still at its default 0: ", g->v[i].name);
		if (at)
			ADD(" (--set NAME=VALUE if the scheduler needs one set)");
	}
#undef ADD
	if (at) {
		printf("tld-scx-run: likely cause: %s\n", cause);
		fflush(stdout);
	}
}

/*
 * The kernel logs the disable from a worker, a moment after the state changes: waits up to
 * two seconds for it, then for the lines that follow it to stop coming.
 */
static bool kmsg_wait(int fd, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (int w = 0; fd >= 0 && w < 40; w++) {
		size_t before = at;

		at = kmsg_collect(fd, buf, len, at);
		if (at && at == before)
			break;
		usleep(50000);
	}
	return at > 0;
}

/* Says how the kernel ended the scheduler: its exit record, else the kernel log; then why. */
static void report_exit(const struct stats *st, const struct scx_globals *g, int kmsg)
{
	char why[2048] = "";

	if (exit_recorded(&st->exit)) {
		print_exit(&st->exit);
		snprintf(why, sizeof(why), "%.*s: %.*s", (int)st->exit.reason_len, st->exit.reason,
			 (int)st->exit.msg_len, st->exit.msg);
	} else if (kmsg_wait(kmsg, why, sizeof(why))) {
		printf("tld-scx-run: the kernel disabled the scheduler (from the kernel log): %s\n", why);
	} else {
		printf("tld-scx-run: the kernel disabled the scheduler; it keeps no exit record and the kernel log above says why\n");
	}
	print_likely_cause(g, why);
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
	fprintf(stderr, "usage: tld-scx-run [--seconds N] [--set NAME=VALUE]... SCHEDULER.bpf.o [-- COMMAND [ARG...]]\n");
}

/* Field @name of the ops @ops before load, when it is an integer of @size bytes; else NULL. */
static void *ops_field(struct bpf_object *obj, struct bpf_map *ops, const char *name, unsigned int size)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *t = btf ? btf__type_by_id(btf, bpf_map__btf_value_type_id(ops)) : NULL;
	const struct btf_member *m;
	const struct btf_type *mt;
	size_t sz = 0;
	char *data = bpf_map__initial_value(ops, &sz);

	if (!t || !data || !btf_is_struct(t) || !(m = member(btf, t, name)))
		return NULL;
	mt = resolved(btf, m->type);
	if (!mt || btf__resolve_size(btf, m->type) != size || (!btf_is_int(mt) && !btf_is_any_enum(mt)))
		return NULL;
	return data + btf_member_bit_offset(t, m - btf_members(t)) / 8;
}

/*
 * The ops' flags, named from the running kernel's enum scx_ops_flags; a flag that kernel
 * does not know is an error here (the kernel would only say EINVAL). Sets *@partial when
 * SCX_OPS_SWITCH_PARTIAL is on. Returns 0 or -EINVAL.
 */
static int check_ops_flags(struct bpf_object *obj, struct bpf_map *ops, const struct btf *kbtf, bool *partial)
{
	const __u64 *flags = ops_field(obj, ops, "flags", 8);
	const struct btf_type *t;
	__u64 known = 0, left;
	char names[512] = "";
	size_t at = 0;
	int id;

	*partial = false;
	if (!flags || !*flags)
		return 0;
	id = kbtf ? btf__find_by_name_kind(kbtf, "scx_ops_flags", BTF_KIND_ENUM64) : -1;
	if (id < 0 && kbtf)
		id = btf__find_by_name_kind(kbtf, "scx_ops_flags", BTF_KIND_ENUM);
	if (id < 0) {
		printf("tld-scx-run: ops flags 0x%llx (the running kernel's BTF does not name them)\n", (unsigned long long)*flags);
		return 0;
	}
	t = btf__type_by_id(kbtf, id);
	for (int i = 0; i < btf_vlen(t); i++) {
		const char *n;
		__u64 bit;

		if (btf_is_enum64(t)) {
			n = btf__name_by_offset(kbtf, btf_enum64(t)[i].name_off);
			bit = btf_enum64_value(btf_enum64(t) + i);
		} else {
			n = btf__name_by_offset(kbtf, btf_enum(t)[i].name_off);
			bit = (__u32)btf_enum(t)[i].val;
		}
		/* Single bits only: the enum also has masks such as SCX_OPS_ALL_FLAGS. */
		if (!bit || (bit & (bit - 1)))
			continue;
		known |= bit;
		if (!(*flags & bit))
			continue;
		at += snprintf(names + at, at < sizeof(names) ? sizeof(names) - at : 0, "%s%s", at ? " | " : "", n);
		if (!strcmp(n, "SCX_OPS_SWITCH_PARTIAL"))
			*partial = true;
	}
	left = *flags & ~known;
	if (left) {
		fprintf(stderr, "tld-scx-run: the ops' flags 0x%llx include 0x%llx, which this kernel does not know (it knows %s%s0x%llx); "
			"rebuild the scheduler against this kernel's vmlinux.h\n",
			(unsigned long long)*flags, (unsigned long long)left, names, at ? ", all flags " : "", (unsigned long long)known);
		return -EINVAL;
	}
	printf("tld-scx-run: ops flags %s%s\n", names,
	       *partial ? " (only SCHED_EXT tasks run on it: the command is started in SCHED_EXT)" : "");
	return 0;
}

/* scx's loaders tell the kernel which CPU hotplug generation they saw: do the same. */
static void set_hotplug_seq(struct bpf_object *obj, struct bpf_map *ops)
{
	__u64 *seq = ops_field(obj, ops, "hotplug_seq", 8);
	FILE *f;
	unsigned long long v;

	if (!seq || !(f = fopen("/sys/kernel/sched_ext/hotplug_seq", "r")))
		return;
	if (fscanf(f, "%llu", &v) == 1)
		*seq = v;
	fclose(f);
}

/* Sets NAME_len of every exit dump buffer NAME that scx_resize_arrays() sized. */
static void tell_dump_len(struct scx_globals *g, __u32 dump_len)
{
	for (int i = 0; i < g->n; i++) {
		const struct scx_global *buf = &g->v[i];
		struct scx_global *len;
		char name[256];

		if (buf->kind != SCX_GLOBAL_ARRAY || buf->size != dump_len)
			continue;
		snprintf(name, sizeof(name), "%s_len", buf->name);
		len = scx_global_by_name(g, name);
		if (len && !scx_set_number(len, dump_len))
			len->set_by_loader = true;
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
	const char *dir = getenv("TLD_PIN_DIR"), *path = NULL, *sets[MAX_SETS];
	struct bpf_map *map, *ops = NULL;
	struct bpf_object *obj = NULL;
	struct bpf_link *link = NULL;
	struct scx_globals g = { 0 };
	struct btf *kbtf = NULL;
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

	obj = bpf_object__open_file(path, NULL);
	err = libbpf_get_error(obj);
	if (err) {
		fprintf(stderr, "tld-scx-run: cannot open %s: %s\n", path, strerror(-err));
		return 1;
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
	dump_field = ops_field(obj, ops, "exit_dump_len", 4);
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
	kbtf = btf__load_vmlinux_btf();
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
	if (check_ops_flags(obj, ops, kbtf, &partial))
		goto out;
	set_hotplug_seq(obj, ops);
	fflush(stdout);

	err = bpf_object__load(obj);
	if (err) {
		fprintf(stderr, "tld-scx-run: the scheduler %s did not load (the verifier's log is above): %s\n",
			bpf_map__name(ops), strerror(-err));
		goto out;
	}
	collect_stats(&g, &st);
	kmsg = kmsg_open();
	link = bpf_map__attach_struct_ops(ops);
	if (!link) {
		err = -errno;
		fprintf(stderr, "tld-scx-run: the kernel did not enable the scheduler %s: %s\n", bpf_map__name(ops), strerror(-err));
		if (exit_recorded(&st.exit) || kmsg >= 0)
			report_exit(&st, &g, kmsg);
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
		if (exit_recorded(&st.exit)) {
			report_exit(&st, &g, kmsg);
			rc = 2;
			break;
		}
		scx_state(state, sizeof(state));
		if (strcmp(state, "enabled") && strcmp(state, "enabling")) {
			/* Disabling runs ops.exit: give it a moment to record why. */
			for (int w = 0; w < 40 && st.exit.kind && !exit_recorded(&st.exit); w++)
				usleep(50000);
			report_exit(&st, &g, kmsg);
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
	if (kmsg >= 0)
		close(kmsg);
	bpf_link__destroy(link);
	bpf_object__close(obj);
	btf__free(kbtf);
	scx_globals_free(&g);
	return rc;
}
