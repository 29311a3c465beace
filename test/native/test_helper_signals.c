/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libtldhelper loads its BPF programs in a thread that signals keep interrupting, as a
 * profiler's SIGPROF does every millisecond. The verifier gives up with EAGAIN while a
 * signal is pending for the loading thread, so without care every try fails. The signals
 * that came meanwhile still reach their handler.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <time.h>

#include "ctest.h"
#include "tldhelper.h"

static atomic_long handled;
static atomic_bool storming;
static pid_t loader_tid;

static void on_signal(int sig)
{
	(void)sig;
	atomic_fetch_add(&handled, 1);
}

/* SIGUSR1 to the loading thread every 20 us, until told to stop. */
static void *storm(void *arg)
{
	const struct timespec gap = { 0, 20000 };

	(void)arg;
	while (atomic_load(&storming)) {
		syscall(SYS_tgkill, getpid(), loader_tid, SIGUSR1);
		nanosleep(&gap, NULL);
	}
	return NULL;
}

static void with_storm(void (*loads)(void))
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	pthread_t t;
	long before;

	sigemptyset(&sa.sa_mask);
	CHECK(!sigaction(SIGUSR1, &sa, NULL), "sigaction: %s", strerror(errno));
	loader_tid = (pid_t)syscall(SYS_gettid);
	atomic_store(&storming, true);
	CHECK(!pthread_create(&t, NULL, storm, NULL), "pthread_create");
	/* The storm is under way before the load starts. */
	for (before = atomic_load(&handled); atomic_load(&handled) < before + 10;)
		;
	before = atomic_load(&handled);
	loads();
	CHECK(atomic_load(&handled) > before, "no signal reached the handler during the loads");
	atomic_store(&storming, false);
	pthread_join(t, NULL);
}

static void open_and_trace(void)
{
	struct tldh_error err;

	CHECK(!tldh_open("", &err), "tldh_open under signals: %s", err.message);
	CHECK(!tldh_trace_start(getpid(), &err), "tldh_trace_start under signals: %s", err.message);
	tldh_trace_stop();
	tldh_close();
}

static void loads_while_signals_keep_coming(void)
{
	ctest_uses("bpf tp_btf");
	with_storm(open_and_trace);
}

CTEST_MAIN(CTEST(loads_while_signals_keep_coming))
