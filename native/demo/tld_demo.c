/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tld-demo: a multi-threaded workload that publishes task local data hints
 * from its main program, from C++ tld::variables and from a plugin it
 * dlopen()s after its threads run, and changes them in a pattern a person
 * recognises: every thread counts up, a phase flips every two seconds, and
 * threads 0, 4, 8... are latency critical with priorities 0..3 repeating.
 *
 * Hints (sched.latency_critical, sched.weight, demo.request's prio) are written
 * once when a thread starts and never again, so a value a user sets stays;
 * only the counters (demo.counter, demo.phase, demo.request's id,
 * plugin.requests) change on every tick.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demo.h"
#include "tld.h"

TLD_DEFINE_KEY(k_counter, "demo.counter", sizeof(uint64_t));
TLD_DEFINE_KEY(k_phase, "demo.phase", sizeof(uint8_t));
TLD_DEFINE_KEY(k_latency, "sched.latency_critical", sizeof(uint8_t));

struct demo_thread {
	pthread_t thread;
	unsigned idx;
	pid_t tid;
	/* This thread's values, for the report (read racily by design). */
	uint64_t *counter;
	uint8_t *phase;
	uint8_t *latency;
	const struct demo_request *request;
	const uint32_t *weight;
	const uint32_t *plugin;
};

static struct {
	unsigned threads;
	unsigned tick_ms;
	double seconds;
	unsigned report_ms;
	bool table;
	unsigned plugin_delay_ms;
	char plugin_path[PATH_MAX];
} opt = { .threads = 4, .tick_ms = 100, .report_ms = 0, .plugin_delay_ms = 300 };

static volatile sig_atomic_t stopping;
static demo_plugin_tick_fn plugin_tick;
static pthread_barrier_t started;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR && !stopping)
		;
}

static void *thread_main(void *arg)
{
	struct demo_thread *t = arg;
	unsigned long round = 0;
	int err;

	t->tid = gettid();
	t->counter = tld_resolve_key(k_counter);
	t->phase = tld_resolve_key(k_phase);
	t->latency = tld_resolve_key(k_latency);
	if (!t->counter || !t->phase || !t->latency) {
		fprintf(stderr, "tld-demo: thread %u: cannot resolve its hints: %s\n", t->idx,
			strerror(errno));
		exit(1);
	}
	err = demo_cpp_tick(t->idx, 0);
	if (err) {
		fprintf(stderr, "tld-demo: thread %u: C++ hints failed: %s\n", t->idx, strerror(-err));
		exit(1);
	}
	t->request = demo_cpp_request();
	t->weight = demo_cpp_weight();
	*t->latency = t->idx % 4 == 0;
	pthread_barrier_wait(&started);

	while (!stopping) {
		demo_plugin_tick_fn tick = __atomic_load_n(&plugin_tick, __ATOMIC_ACQUIRE);

		round++;
		*t->counter += 1;
		*t->phase = (round * opt.tick_ms / 2000) % 2;
		demo_cpp_tick(t->idx, round);
		if (tick)
			__atomic_store_n(&t->plugin, tick(t->idx), __ATOMIC_RELEASE);
		sleep_ms(opt.tick_ms);
	}
	return NULL;
}

static void load_plugin(void)
{
	void *handle = dlopen(opt.plugin_path, RTLD_NOW | RTLD_LOCAL);
	demo_plugin_tick_fn tick;

	if (!handle) {
		fprintf(stderr, "tld-demo: cannot load the plugin: %s\n", dlerror());
		exit(1);
	}
	tick = (demo_plugin_tick_fn)dlsym(handle, DEMO_PLUGIN_TICK);
	if (!tick) {
		fprintf(stderr, "tld-demo: the plugin has no %s\n", DEMO_PLUGIN_TICK);
		exit(1);
	}
	__atomic_store_n(&plugin_tick, tick, __ATOMIC_RELEASE);
}

/* One JSON line: every thread's current values, as the demo itself sees them. */
static void report(const struct demo_thread *threads)
{
	printf("{\"pid\":%d,\"threads\":[", getpid());
	for (unsigned i = 0; i < opt.threads; i++) {
		const struct demo_thread *t = &threads[i];
		const uint32_t *plugin = __atomic_load_n(&t->plugin, __ATOMIC_ACQUIRE);

		printf("%s{\"tid\":%d,\"values\":{\"demo.counter\":%llu,\"demo.phase\":%u,"
		       "\"sched.latency_critical\":%u,\"demo.request\":{\"prio\":%u,\"id\":%u},"
		       "\"sched.weight\":%u",
		       i ? "," : "", t->tid, (unsigned long long)*t->counter, *t->phase, *t->latency,
		       t->request->prio, t->request->id, *t->weight);
		if (plugin)
			printf(",\"plugin.requests\":%u", *plugin);
		printf("}}");
	}
	printf("]}\n");
	fflush(stdout);
}

/* The same values as a table a person can follow, redrawn in place on a terminal. */
static void report_table(const struct demo_thread *threads)
{
	static bool drawn;

	if (drawn && isatty(STDOUT_FILENO))
		printf("\033[%uA", opt.threads + 2);
	drawn = true;
	printf("%-8s %12s %5s %8s %5s %8s %7s %8s\n", "tid", "counter", "phase", "latency", "prio",
	       "req.id", "weight", "plugin");
	for (unsigned i = 0; i < opt.threads; i++) {
		const struct demo_thread *t = &threads[i];
		const uint32_t *plugin = __atomic_load_n(&t->plugin, __ATOMIC_ACQUIRE);
		char plugin_s[16] = "-";

		if (plugin)
			snprintf(plugin_s, sizeof(plugin_s), "%u", *plugin);
		printf("%-8d %12llu %5u %8s %5u %8u %7u %8s\n", t->tid,
		       (unsigned long long)*t->counter, *t->phase, *t->latency ? "yes" : "no",
		       t->request->prio, t->request->id, *t->weight, plugin_s);
	}
	printf("(values as this process wrote them; BPF reads the same bytes by key name)\n");
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tld-demo [options]\n"
		"Runs threads that publish task local data hints, for the inspector and schedulers.\n\n"
		"  -t, --threads N        worker threads (default 4)\n"
		"  -s, --seconds S        stop after S seconds (default: run until interrupted)\n"
		"  -i, --tick MS          milliseconds between value changes (default 100)\n"
		"  -r, --report MS        print every thread's values as a JSON line every MS\n"
		"      --table            with --report: a table for people instead of JSON\n"
		"  -p, --plugin PATH      plugin to dlopen (default: libtld-demo-plugin.so beside tld-demo)\n"
		"  -d, --plugin-delay MS  load the plugin MS after the threads start (default 300)\n"
		"  -h, --help             this text\n\n"
		"Hints, set once at start and then left to you: sched.latency_critical (u8),\n"
		"sched.weight (u32), demo.request.prio. Counters, changed every tick: demo.counter (u64),\n"
		"demo.phase (u8), demo.request.id, plugin.requests (u32).\n"
		"demo.request is struct demo_request {u32 prio; u32 id;}.\n"
		"The map is pinned at $TLD_PIN_DIR/tld_data_map (default /sys/fs/bpf/tld).\n");
}

static unsigned parse_uint(const char *s, const char *what, unsigned max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max) {
		fprintf(stderr, "tld-demo: %s must be a whole number up to %u, not '%s'\n", what, max, s);
		exit(2);
	}
	return (unsigned)v;
}

static void default_plugin_path(void)
{
	char exe[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		n = 0;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(opt.plugin_path, sizeof(opt.plugin_path), "%s/libtld-demo-plugin.so", exe);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "threads", required_argument, NULL, 't' },
		{ "seconds", required_argument, NULL, 's' },
		{ "tick", required_argument, NULL, 'i' },
		{ "report", required_argument, NULL, 'r' },
		{ "plugin", required_argument, NULL, 'p' },
		{ "plugin-delay", required_argument, NULL, 'd' },
		{ "table", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct demo_thread *threads;
	struct timespec t0, now;
	int c, err;

	default_plugin_path();
	while ((c = getopt_long(argc, argv, "t:s:i:r:p:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't': opt.threads = parse_uint(optarg, "--threads", 100000); break;
		case 's': opt.seconds = parse_uint(optarg, "--seconds", 86400); break;
		case 'i': opt.tick_ms = parse_uint(optarg, "--tick", 60000); break;
		case 'r': opt.report_ms = parse_uint(optarg, "--report", 60000); break;
		case 'p': snprintf(opt.plugin_path, sizeof(opt.plugin_path), "%s", optarg); break;
		case 'd': opt.plugin_delay_ms = parse_uint(optarg, "--plugin-delay", 60000); break;
		case 'T': opt.table = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!opt.threads || !opt.tick_ms) {
		fprintf(stderr, "tld-demo: --threads and --tick must be at least 1\n");
		return 2;
	}
	if (tld_off_is_err(k_counter) || tld_off_is_err(k_phase) || tld_off_is_err(k_latency)) {
		fprintf(stderr, "tld-demo: cannot define keys: %s\n", strerror(-tld_off_err(k_counter)));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	threads = calloc(opt.threads, sizeof(*threads));
	if (!threads || pthread_barrier_init(&started, NULL, opt.threads + 1)) {
		fprintf(stderr, "tld-demo: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < opt.threads; i++) {
		threads[i].idx = i;
		err = pthread_create(&threads[i].thread, NULL, thread_main, &threads[i]);
		if (err) {
			fprintf(stderr, "tld-demo: cannot start thread %u: %s\n", i, strerror(err));
			return 1;
		}
	}
	pthread_barrier_wait(&started);
	fprintf(stderr, "tld-demo: pid %d, %u threads with hints, map %s\n", getpid(), opt.threads,
		tld_map_pin_path());

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long ms = 0; !stopping; ms += 50) {
		if (ms == opt.plugin_delay_ms)
			load_plugin();
		if (opt.report_ms && ms % opt.report_ms == 0)
			(opt.table ? report_table : report)(threads);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (opt.seconds && (now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 >= opt.seconds)
			break;
		sleep_ms(50);
	}
	stopping = 1;
	for (unsigned i = 0; i < opt.threads; i++)
		pthread_join(threads[i].thread, NULL);
	free(threads);
	return 0;
}
