/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libtldhelper's attach cleaner: the hints an attach gave go away when the
 * process that attached dies without detaching (SIGKILL), a detach stands the
 * cleaner down, and a detach after the cleaner died does not kill its caller
 * with SIGPIPE (a plain C program keeps SIGPIPE's default action).
 */
#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include <bpf/bpf.h>

#include "ctest.h"
#include "tldhelper.h"

/* A target with no task local data of its own: sleeps until killed. */
static pid_t start_target(void)
{
	pid_t parent = getpid(), pid = fork();

	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* A failing case exits at once: its target must not outlive it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(0); /* it died before the death signal was set */
		for (;;)
			pause();
	}
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int pinned_map(void)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/tld_data_map", getenv("TLD_PIN_DIR"));
	fd = bpf_obj_get(path);
	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	return fd;
}

/* Whether the main thread of @pid has an entry in @map_fd. */
static bool has_entry(int map_fd, pid_t pid)
{
	unsigned char value[256];
	int pidfd = syscall(SYS_pidfd_open, pid, 0);
	int rc;

	CHECK(pidfd >= 0, "pidfd_open(%d): %s", pid, strerror(errno));
	rc = bpf_map_lookup_elem(map_fd, &pidfd, value);
	close(pidfd);
	CHECK(rc == 0 || errno == ENOENT, "lookup: %s", strerror(errno));
	return rc == 0;
}

/* Polls for 10 s until the entry of @pid is gone; whether it went. */
static bool entry_goes(int map_fd, pid_t pid)
{
	struct timespec ts = { 0, 10 * 1000000L };

	for (int i = 0; i < 1000; i++) {
		if (!has_entry(map_fd, pid))
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

/* Our children named tld-attach-gc: their count, and the last one's pid in *@pid. */
static int cleaners(pid_t *pid)
{
	struct dirent *de;
	DIR *proc = opendir("/proc");
	int n = 0;

	CHECK(proc, "opendir /proc");
	while ((de = readdir(proc))) {
		char path[64], stat[512], *close_paren;
		int p = atoi(de->d_name), ppid;
		char state;
		FILE *f;

		if (p <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", p);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (!fgets(stat, sizeof(stat), f)) {
			fclose(f);
			continue;
		}
		fclose(f);
		close_paren = strrchr(stat, ')');
		if (!close_paren || sscanf(close_paren + 2, "%c %d", &state, &ppid) != 2)
			continue;
		if (ppid == getpid() && strstr(stat, "(tld-attach-gc)") && state != 'Z') {
			n++;
			if (pid)
				*pid = p;
		}
	}
	closedir(proc);
	return n;
}

/* Waits (10 s at most) until @n cleaners run, the last one's pid in *@pid. */
static void wait_cleaners(int n, pid_t *pid)
{
	for (int i = 0; i < 10000 && cleaners(pid) != n; i++)
		usleep(1000);
	CHECK_EQ(cleaners(pid), n);
}

/* A child that attaches to @target and then waits to be killed; returns once it has attached. */
static pid_t start_holder(pid_t target)
{
	struct tldh_error err;
	pid_t holder;
	int ready[2];
	char c;

	CHECK(!pipe(ready), "pipe");
	holder = fork();
	CHECK(holder >= 0, "fork");
	if (holder == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		CHECK(!tldh_open("", &err), "tldh_open: %s", err.message);
		CHECK(!tldh_attach(target, "gc.k:4\n", &err), "tldh_attach: %s", err.message);
		CHECK(write(ready[1], "r", 1) == 1, "write");
		for (;;)
			pause();
	}
	close(ready[1]);
	CHECK(read(ready[0], &c, 1) == 1, "the holder attached");
	close(ready[0]);
	return holder;
}

static void holder_killed_leaves_no_entries(void)
{
	pid_t target = start_target(), holder;
	int map_fd;

	ctest_uses("task storage, uptr");
	holder = start_holder(target);
	map_fd = pinned_map();
	CHECK(has_entry(map_fd, target), "the target has an entry while the holder runs");

	stop(holder);
	CHECK(entry_goes(map_fd, target), "the entry went with the holder");
	CHECK(!kill(target, 0), "the target lives on");
	close(map_fd);
	stop(target);
}

/* A zombie keeps its task storage, and so our pages pinned, until reaped: the cleaner deletes it. */
static void holder_killed_over_a_zombie_target_leaves_no_entries(void)
{
	pid_t target = start_target(), holder;
	int map_fd;
	siginfo_t info;

	ctest_uses("task storage, uptr");
	holder = start_holder(target);
	map_fd = pinned_map();
	kill(target, SIGKILL);
	/* Wait for its death without reaping it: it stays a zombie. */
	CHECK(!waitid(P_PID, target, &info, WEXITED | WNOWAIT), "waitid: %s", strerror(errno));
	CHECK(has_entry(map_fd, target), "the zombie still has its entry");

	stop(holder);
	CHECK(entry_goes(map_fd, target), "the cleaner deleted the zombie's entry");
	close(map_fd);
	waitpid(target, NULL, 0);
}

static void detach_stands_the_cleaner_down_even_when_it_died(void)
{
	struct tldh_error err;
	pid_t target = start_target(), cleaner = 0;
	int map_fd, status;

	ctest_uses("task storage, uptr");
	signal(SIGPIPE, SIG_DFL);
	CHECK(!tldh_open("", &err), "tldh_open: %s", err.message);
	map_fd = pinned_map();

	/* Detach stands the cleaner down and reaps it; the entry is gone. */
	CHECK(!tldh_attach(target, "gc.k:4\n", &err), "tldh_attach: %s", err.message);
	wait_cleaners(1, &cleaner); /* it names itself once running */
	CHECK(has_entry(map_fd, target), "attached");
	CHECK(!tldh_detach(target, &err), "tldh_detach: %s", err.message);
	CHECK_EQ(cleaners(NULL), 0);
	CHECK(waitpid(cleaner, &status, WNOHANG) < 0 && errno == ECHILD, "the cleaner was reaped");
	CHECK(!has_entry(map_fd, target), "detached");

	/* A cleaner killed first: detach still works, and does not SIGPIPE us. */
	CHECK(!tldh_attach(target, "gc.k:4\n", &err), "tldh_attach again: %s", err.message);
	wait_cleaners(1, &cleaner);
	kill(cleaner, SIGKILL);
	wait_cleaners(0, NULL);
	CHECK(!tldh_detach(target, &err), "tldh_detach: %s", err.message);
	CHECK(!has_entry(map_fd, target), "detached");

	close(map_fd);
	tldh_close();
	stop(target);
}

CTEST_MAIN(CTEST(holder_killed_leaves_no_entries), CTEST(holder_killed_over_a_zombie_target_leaves_no_entries),
	   CTEST(detach_stands_the_cleaner_down_even_when_it_died))
