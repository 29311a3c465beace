/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A target process for the helper's tests and benchmarks. Modes:
 *   hints    N threads, each with K keys "fx.k00".. of sizes 1, 2, 4, 8 in turn,
 *            value (tid * 16 + i) truncated to the size; with --update-ms MS each
 *            thread, every MS ms from a random phase, counts fx.k00 up by one and
 *            sets fx.k02 (when K > 2) to a pseudo-random 0..999: a live load
 *   plain    N threads without task local data (for attach); --spawn-after MS starts one more
 *   churn    threads with hints start and exit for --seconds
 *   wait     one thread waits until its "fx.wait" (u32) equals --value
 *   busy     two threads with hints: one runs on a CPU, counting fx.k00 up every
 *            50 ms of running and sleeping 2 ms then (wake-ups, switches); the
 *            other blocks until the end and never runs. Prints "ready PID BUSY IDLE"
 *   exiting  N threads with hints; then one of them calls exit_group while a child
 *            process traces it with PTRACE_O_TRACEEXIT, so it stops in its exit and
 *            the process stays half gone (the others left, the group exiting) until
 *            stdin closes. The tracer prints "ready PID TID" (TID: the stopped thread)
 *   corrupt-count | corrupt-name | corrupt-size
 *            the main thread pins a hand-made hostile metadata page
 * Prints "ready PID" (and more words per mode) once set up, then runs until
 * stdin closes or --seconds pass.
 */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "ctest.h"
#include "tld.h"

static struct {
	const char *mode;
	int threads, keys, seconds, spawn_after_ms, update_ms;
	unsigned long value;
} opt = { "hints", 4, 16, 0, 0, 0, 0 };

static tld_off_t keys[64];
static pthread_barrier_t ready;
static volatile bool stopping;
/* Threads that only wait block on its read end until main closes the write end at the end. */
static int rest_pipe[2];

/* Blocks until the end: no run time and no switches meanwhile (the scheduling tests rely on it). */
static void rest(void)
{
	char c;

	while (read(rest_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
}

static size_t key_size(int i)
{
	static const size_t sizes[] = { 1, 2, 4, 8 };

	return sizes[i % 4];
}

static void write_hints(void)
{
	pid_t tid = gettid();

	for (int i = 0; i < opt.keys; i++) {
		uint64_t v = (uint64_t)tid * 16 + i;
		void *p = tld_resolve_key(keys[i]);

		CHECK(p, "resolve failed: %s", strerror(errno));
		memcpy(p, &v, key_size(i)); /* little-endian: the low bytes */
	}
}

/* Changes two of this thread's values every --update-ms, as a workload's hints would. */
static void update_hints(void)
{
	unsigned seed = (unsigned)gettid();
	uint8_t *counter = tld_resolve_key(keys[0]);
	uint32_t *load = opt.keys > 2 ? tld_resolve_key(keys[2]) : NULL;

	usleep((rand_r(&seed) % opt.update_ms) * 1000);
	while (!stopping) {
		(*counter)++;
		if (load)
			*load = rand_r(&seed) % 1000;
		usleep(opt.update_ms * 1000);
	}
}

static void *hint_thread(void *arg)
{
	(void)arg;
	write_hints();
	pthread_barrier_wait(&ready);
	if (opt.update_ms > 0) {
		update_hints();
		return NULL;
	}
	rest();
	return NULL;
}

static void *plain_thread(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&ready);
	rest();
	return NULL;
}

static void *late_thread(void *arg)
{
	(void)arg;
	printf("spawned %d\n", gettid());
	fflush(stdout);
	while (!stopping)
		usleep(20000);
	return NULL;
}

static void *churn_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	write_hints();
	usleep(5000 + rand_r(&seed) % 45000);
	return NULL;
}

/* Waits for stdin to close or --seconds to pass. */
static void hold(void)
{
	struct pollfd p = { .fd = 0, .events = POLLIN };
	time_t end = time(NULL) + opt.seconds;
	char buf[64];

	for (;;) {
		int left = opt.seconds ? (int)(end - time(NULL)) * 1000 : -1;

		if (opt.seconds && left <= 0)
			return;
		if (poll(&p, 1, left) > 0 && read(0, buf, sizeof(buf)) <= 0)
			return;
	}
}

static void run_threads(void *(*fn)(void *))
{
	pthread_t *t = calloc(opt.threads, sizeof(*t));

	pthread_barrier_init(&ready, NULL, opt.threads + 1);
	for (int i = 0; i < opt.threads; i++)
		CHECK(!pthread_create(&t[i], NULL, fn, NULL), "cannot start thread %d", i);
	pthread_barrier_wait(&ready);
	printf("ready %d\n", getpid());
	fflush(stdout);
	if (opt.spawn_after_ms) {
		pthread_t late;

		usleep(opt.spawn_after_ms * 1000);
		pthread_create(&late, NULL, late_thread, NULL);
	}
	hold();
	stopping = true;
	close(rest_pipe[1]);
	for (int i = 0; i < opt.threads; i++)
		pthread_join(t[i], NULL);
}

static void run_churn(void)
{
	time_t end = time(NULL) + (opt.seconds ? opt.seconds : 10);
	unsigned n = 0;

	printf("ready %d\n", getpid());
	fflush(stdout);
	while (time(NULL) < end) {
		pthread_t t[8];

		for (int i = 0; i < 8; i++)
			CHECK(!pthread_create(&t[i], NULL, churn_thread, (void *)(uintptr_t)n++), "cannot start");
		for (int i = 0; i < 8; i++)
			pthread_join(t[i], NULL);
	}
	printf("done %u\n", n);
}

static void run_wait(void)
{
	tld_off_t k = tld_add_key_def("fx.wait", sizeof(uint32_t));
	volatile uint32_t *v = tld_resolve_key(k);
	time_t end = time(NULL) + (opt.seconds ? opt.seconds : 30);

	CHECK(v, "resolve failed: %s", strerror(errno));
	printf("ready %d %d\n", getpid(), gettid());
	fflush(stdout);
	while (*v != opt.value) {
		if (time(NULL) > end) {
			printf("timeout %u\n", *v);
			exit(1);
		}
		usleep(1000);
	}
	printf("seen %u\n", *v);
}

static volatile pid_t busy_tid, idle_tid;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void *busy_thread(void *arg)
{
	uint8_t *counter;

	(void)arg;
	write_hints();
	counter = tld_resolve_key(keys[0]);
	busy_tid = gettid();
	pthread_barrier_wait(&ready);
	while (!stopping) {
		uint64_t until = now_ns() + 50000000ull;

		while (now_ns() < until && !stopping)
			;
		(*counter)++;
		usleep(2000);
	}
	return NULL;
}

static void *idle_thread(void *arg)
{
	(void)arg;
	write_hints();
	idle_tid = gettid();
	pthread_barrier_wait(&ready);
	rest();
	return NULL;
}

static void run_busy(void)
{
	pthread_t busy, idle;

	pthread_barrier_init(&ready, NULL, 3);
	CHECK(!pthread_create(&busy, NULL, busy_thread, NULL), "cannot start the busy thread");
	CHECK(!pthread_create(&idle, NULL, idle_thread, NULL), "cannot start the idle thread");
	pthread_barrier_wait(&ready);
	printf("ready %d %d %d\n", getpid(), busy_tid, idle_tid);
	fflush(stdout);
	hold();
	stopping = true;
	close(rest_pipe[1]);
	pthread_join(busy, NULL);
	pthread_join(idle, NULL);
}

static volatile pid_t exit_tid;
static int go_pipe[2];

static void *exiting_thread(void *arg)
{
	char c;

	(void)arg;
	write_hints();
	exit_tid = gettid();
	pthread_barrier_wait(&ready);
	while (read(go_pipe[0], &c, 1) < 0 && errno == EINTR)
		;
	syscall(SYS_exit_group, 0);
	return NULL;
}

/* Blocks until one byte arrives on @fd. */
static void await_byte(int fd)
{
	char c;

	while (read(fd, &c, 1) < 0 && errno == EINTR)
		;
}

static void run_exiting(void)
{
	pthread_t t;
	int allowed[2], seized[2], st;
	pid_t pid = getpid(), tracer;

	CHECK(opt.threads >= 1, "--threads must be at least 1");
	CHECK(!pipe(go_pipe) && !pipe(allowed) && !pipe(seized), "pipe: %s", strerror(errno));
	pthread_barrier_init(&ready, NULL, opt.threads + 1);
	for (int i = 1; i < opt.threads; i++)
		CHECK(!pthread_create(&t, NULL, hint_thread, NULL), "cannot start thread %d", i);
	CHECK(!pthread_create(&t, NULL, exiting_thread, NULL), "cannot start the exiting thread");
	pthread_barrier_wait(&ready);
	tracer = fork();
	CHECK(tracer >= 0, "fork: %s", strerror(errno));
	if (tracer == 0) {
		await_byte(allowed[0]);
		CHECK(!ptrace(PTRACE_SEIZE, exit_tid, NULL, (void *)PTRACE_O_TRACEEXIT), "PTRACE_SEIZE: %s", strerror(errno));
		CHECK(write(seized[1], "s", 1) == 1, "write: %s", strerror(errno));
		CHECK(waitpid(exit_tid, &st, __WALL) == exit_tid, "waitpid: %s", strerror(errno));
		CHECK(WIFSTOPPED(st) && st >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8)), "the thread did not stop at its exit (status %#x)", st);
		printf("ready %d %d\n", pid, exit_tid);
		fflush(stdout);
		hold();
		ptrace(PTRACE_DETACH, exit_tid, NULL, NULL);
		_exit(0);
	}
	/* Yama's ptrace_scope 1 lets a process trace only its descendants, unless they allow it. */
	prctl(PR_SET_PTRACER, tracer, 0, 0, 0);
	CHECK(write(allowed[1], "a", 1) == 1, "write: %s", strerror(errno));
	await_byte(seized[0]);
	CHECK(write(go_pipe[1], "g", 1) == 1, "write: %s", strerror(errno));
	for (;;)
		pause(); /* until exit_group ends this thread */
}

static void run_corrupt(void)
{
	struct tld_meta_page *meta = mmap(NULL, (size_t)getpagesize(), PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct tld_data_page *data = mmap(NULL, (size_t)getpagesize(), PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct tld_map_value v = { .data = data, .meta = meta };
	int pidfd, fd = tld_map_fd();

	CHECK(fd >= 0, "no map: %s", strerror(errno));
	data->start = 8;
	strcpy(meta->entries[0].name, "fx.fine");
	meta->entries[0].size = 4;
	meta->cnt = 1;
	if (!strcmp(opt.mode, "corrupt-count")) {
		meta->cnt = 200;
	} else if (!strcmp(opt.mode, "corrupt-name")) {
		memset(meta->entries[1].name, 'x', TLD_NAME_LEN);
		meta->entries[1].size = 4;
		meta->cnt = 2;
	} else {
		strcpy(meta->entries[1].name, "fx.huge");
		meta->entries[1].size = 5000;
		meta->cnt = 2;
	}
	pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	CHECK(pidfd >= 0 && !bpf_map_update_elem(fd, &pidfd, &v, BPF_ANY), "cannot pin: %s",
	      strerror(errno));
	printf("ready %d\n", getpid());
	fflush(stdout);
	hold();
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "keys", required_argument, NULL, 'k' },
		{ "seconds", required_argument, NULL, 's' },
		{ "value", required_argument, NULL, 'v' },
		{ "spawn-after", required_argument, NULL, 'a' },
		{ "update-ms", required_argument, NULL, 'u' },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': opt.mode = optarg; break;
		case 't': opt.threads = atoi(optarg); break;
		case 'k': opt.keys = atoi(optarg); break;
		case 's': opt.seconds = atoi(optarg); break;
		case 'v': opt.value = strtoul(optarg, NULL, 0); break;
		case 'a': opt.spawn_after_ms = atoi(optarg); break;
		case 'u': opt.update_ms = atoi(optarg); break;
		default: return 2;
		}
	}
	CHECK(opt.keys > 0 && opt.keys <= 63, "--keys must be 1..63");
	CHECK(!pipe(rest_pipe), "pipe: %s", strerror(errno));
	for (int i = 0; i < opt.keys; i++) {
		char name[16];

		snprintf(name, sizeof(name), "fx.k%02d", i);
		keys[i] = tld_add_key_def(name, key_size(i));
		CHECK(!tld_off_is_err(keys[i]), "cannot add %s", name);
	}
	if (!strcmp(opt.mode, "hints"))
		run_threads(hint_thread);
	else if (!strcmp(opt.mode, "plain"))
		run_threads(plain_thread);
	else if (!strcmp(opt.mode, "churn"))
		run_churn();
	else if (!strcmp(opt.mode, "wait"))
		run_wait();
	else if (!strcmp(opt.mode, "busy"))
		run_busy();
	else if (!strcmp(opt.mode, "exiting"))
		run_exiting();
	else if (!strncmp(opt.mode, "corrupt-", 8))
		run_corrupt();
	else
		CHECK(0, "unknown --mode %s", opt.mode);
	return 0;
}
