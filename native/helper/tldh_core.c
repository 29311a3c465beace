/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The helper's lifecycle, its iterators, and list / snapshot / write. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tldh_internal.h"
#include "tldh_records.h"
#include "tld_helper.skel.h"
#include "../src/tld_internal.h"

TLDH_HIDDEN pthread_mutex_t tldh_lock = PTHREAD_MUTEX_INITIALIZER;

static struct tld_helper_bpf *skel;
static int map_fd = -1;
/* The open map's layout revision and page size (the helper's BPF programs are loaded for them). */
static struct tld_map_shape map_shape;
static char open_path[PATH_MAX];
/* The last iterator output, reused between calls. */
static char *out_buf;
static size_t out_len, out_cap;
/* The process requests for bound_pid must reach (tldh_bind_process): its start time. */
static int bound_pid;
static uint64_t bound_start;
/* libtld's diagnostics while a call runs, for its error message. */
static char last_diag[TLDH_MESSAGE_LEN];

int32_t tldh_abi_version(void)
{
	return TLDH_ABI_VERSION;
}

TLDH_HIDDEN int tldh_fail(struct tldh_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	errno = -code;
	return code;
}

TLDH_HIDDEN void tldh_ok(struct tldh_error *err)
{
	if (err) {
		err->code = 0;
		err->message[0] = 0;
	}
}

static __u64 effective_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data))
		return 0;
	return data[0].effective | (__u64)data[1].effective << 32;
}

/* Why @code (EPERM, EACCES) happened, from the capabilities this process holds and lacks. */
TLDH_HIDDEN const char *tldh_priv_hint(int code)
{
	__u64 caps;
	bool bpf, perfmon;

	if (code != -EPERM && code != -EACCES)
		return "";
	caps = effective_caps();
	if (caps & (1ULL << CAP_SYS_ADMIN))
		return code == -EACCES ? ": the file's owner and mode do not allow it" : "";
	bpf = caps & (1ULL << CAP_BPF);
	perfmon = caps & (1ULL << CAP_PERFMON);
	if (!bpf && !perfmon)
		return ": needs CAP_BPF (for bpf() calls) and CAP_PERFMON (for reading other processes' "
		       "hint pages): run as root, or as an ordinary user through the installed helper "
		       "host (sudo tldctl helper install --user $USER)";
	if (!bpf)
		return ": needs CAP_BPF, for bpf() calls (this process has CAP_PERFMON)";
	if (!perfmon)
		return ": needs CAP_PERFMON, for reading other processes' hint pages (this process has CAP_BPF)";
	if (code == -EACCES)
		return ": the pin's owner and mode do not let this user open it (the group tld of "
		       "tldctl helper install can)";
	return ": needs CAP_SYS_ADMIN (this process has CAP_BPF and CAP_PERFMON): run as root";
}

static void capture_diag(const char *msg)
{
	snprintf(last_diag, sizeof(last_diag), "%s", msg);
}

TLDH_HIDDEN void tldh_signals_hold(sigset_t *saved)
{
	/* The synchronous ones stay open: blocked, a fault in the load would kill the process unexplained. */
	static const int synchronous[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT };
	sigset_t all;

	sigfillset(&all);
	for (size_t i = 0; i < sizeof(synchronous) / sizeof(synchronous[0]); i++)
		sigdelset(&all, synchronous[i]);
	pthread_sigmask(SIG_BLOCK, &all, saved);
}

TLDH_HIDDEN void tldh_signals_release(const sigset_t *saved)
{
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}

TLDH_HIDDEN void tldh_capture_reset(void)
{
	last_diag[0] = 0;
}

TLDH_HIDDEN void tldh_capture_first(const char *msg)
{
	if (!last_diag[0])
		capture_diag(msg);
}

TLDH_HIDDEN const char *tldh_captured(void)
{
	return last_diag;
}

TLDH_HIDDEN void tldh_resolve_pin(const char *pin_path, char *out, size_t len)
{
	if (pin_path && *pin_path)
		snprintf(out, len, "%s", pin_path);
	else
		snprintf(out, len, "%s", tld_map_pin_path());
}

TLDH_HIDDEN int tldh_map_fd(void)
{
	return map_fd;
}

TLDH_HIDDEN struct tld_map_shape tldh_map_shape(void)
{
	return map_shape;
}

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static void unbind_locked(void)
{
	bound_pid = 0;
	bound_start = 0;
}

static void close_locked(void)
{
	unbind_locked();
	tldh_detach_all();
	tld_helper_bpf__destroy(skel);
	skel = NULL;
	if (map_fd >= 0)
		close(map_fd);
	map_fd = -1;
	open_path[0] = 0;
}

int32_t tldh_open(const char *pin_path, struct tldh_error *err)
{
	struct tld_map_shape shape;
	char path[PATH_MAX];
	int fd, rc;

	tldh_resolve_pin(pin_path, path, sizeof(path));
	pthread_mutex_lock(&tldh_lock);
	if (skel && !strcmp(path, open_path)) {
		pthread_mutex_unlock(&tldh_lock);
		tldh_ok(err);
		return 0;
	}
	close_locked();
	libbpf_set_print(silent_print);
	tldh_capture_reset();
	tld_set_print(tldh_capture_first);
	fd = tld_map_open_path(path, true, TLD_LAYOUT_START_IN_PAGE, &shape);
	tld_set_print(NULL);
	if (fd < 0) {
		rc = tldh_fail(err, fd, "cannot open the task local data map at %s: %s%s", path,
			       last_diag[0] ? last_diag : strerror(-fd), tldh_priv_hint(fd));
		goto out;
	}
	skel = tld_helper_bpf__open();
	if (!skel) {
		rc = tldh_fail(err, -errno, "cannot open the helper's BPF object: %s", strerror(errno));
		close(fd);
		goto out;
	}
	/* The programs read and write pages of this map's size and revision (tld_helper.bpf.c). */
	skel->rodata->page_size = shape.page;
	skel->rodata->layout = shape.rev;
	rc = bpf_map__reuse_fd(skel->maps.tld_data_map, fd);
	if (!rc) {
		sigset_t saved;

		tldh_signals_hold(&saved);
		rc = tld_helper_bpf__load(skel);
		tldh_signals_release(&saved);
	}
	if (rc) {
		tld_helper_bpf__destroy(skel);
		skel = NULL;
		close(fd);
		rc = tldh_fail(err, rc, "cannot load the helper's BPF programs: %s%s", strerror(-rc),
			       tldh_priv_hint(rc));
		goto out;
	}
	map_fd = fd;
	map_shape = shape;
	snprintf(open_path, sizeof(open_path), "%s", path);
	tldh_ok(err);
	rc = 0;
out:
	pthread_mutex_unlock(&tldh_lock);
	return rc;
}

void tldh_close(void)
{
	tldh_trace_stop();
	pthread_mutex_lock(&tldh_lock);
	close_locked();
	free(out_buf);
	out_buf = NULL;
	out_len = out_cap = 0;
	pthread_mutex_unlock(&tldh_lock);
}

/*
 * Runs @prog (limited to @pid when > 0) and reads its whole output: into @dst
 * while it fits (no second copy), the rest into out_buf only to learn the size
 * needed. Sets *len to the output's size; -ENOSPC when it did not fit @cap.
 * With @dst NULL everything goes to out_buf (for the helper's own use).
 */
static int run_iter(struct bpf_program *prog, int pid, uint8_t *dst, size_t cap, size_t *len,
		    struct tldh_error *err)
{
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info linfo;
	struct bpf_link *link;
	size_t total = 0;
	ssize_t n;
	int fd, rc = 0;

	memset(&linfo, 0, sizeof(linfo));
	/* The programs skip threads of any process but the bound one (tld_helper.bpf.c). */
	skel->bss->expect_start = pid > 0 && pid == bound_pid ? bound_start + 1 : 0;
	if (pid > 0) {
		linfo.task.pid = pid;
		opts.link_info = &linfo;
		opts.link_info_len = sizeof(linfo);
	}
	link = bpf_program__attach_iter(prog, &opts);
	if (!link) {
		rc = -errno;
		if (rc == -ESRCH || rc == -ENOENT)
			return tldh_fail(err, -ESRCH, "process %d does not exist", pid);
		return tldh_fail(err, rc, "cannot start the task iterator: %s", strerror(-rc));
	}
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		rc = -errno;
		bpf_link__destroy(link);
		return tldh_fail(err, rc, "cannot create the task iterator: %s", strerror(-rc));
	}
	out_len = 0;
	for (;;) {
		/* Into the caller's buffer until it is full, then into ours to count the rest. */
		bool direct = dst && total < cap;
		uint8_t *to;
		size_t room;

		if (direct) {
			to = dst + total;
			room = cap - total;
		} else {
			if (out_cap - out_len < 65536) {
				size_t ncap = out_cap ? out_cap * 2 : 1 << 20;
				char *p = realloc(out_buf, ncap);

				if (!p) {
					rc = tldh_fail(err, -ENOMEM, "out of memory reading the iterator");
					break;
				}
				out_buf = p;
				out_cap = ncap;
			}
			to = (uint8_t *)out_buf + out_len;
			room = out_cap - out_len;
		}
		n = read(fd, to, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = tldh_fail(err, -errno, "reading the task iterator failed: %s", strerror(errno));
			break;
		}
		if (n == 0)
			break;
		total += n;
		if (!direct)
			out_len += n;
	}
	close(fd);
	bpf_link__destroy(link);
	*len = total;
	if (!rc && dst && total > cap)
		rc = tldh_fail(err, -ENOSPC, "the result needs %zu bytes, the buffer has %zu", total, cap);
	if (!rc)
		tldh_ok(err);
	return rc;
}

/*
 * @pid's start time (22nd field of its stat), or ~0 when it cannot be read. From the task's
 * own stat (/proc/PID/task/PID): the same start time as /proc/PID/stat, without the kernel
 * summing the times of every thread of the process (46 against 11 us at 1,000 threads).
 */
static uint64_t start_time_of(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = ~0ull;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ~0ull;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return ~0ull;
	buf[n] = 0;
	/* The command name may hold anything, ')' too: fields start after the last one. */
	p = strrchr(buf, ')');
	if (!p)
		return ~0ull;
	/* After ") ", the state is field 3; the start time is field 22. */
	for (field = 2, p++; *p && field < 22; p++) {
		if (*p == ' ')
			field++;
	}
	if (field == 22 && sscanf(p, "%llu", &start) != 1)
		start = ~0ull;
	return start;
}

int32_t tldh_bind_process(int32_t pid, uint64_t start_time, struct tldh_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&tldh_lock);
	unbind_locked();
	if (pid <= 0)
		goto out;
	if (start_time_of(pid) != start_time) {
		rc = tldh_fail(err, -ESRCH, "process %d exited (its pid names another process now)", pid);
		goto out;
	}
	bound_pid = pid;
	bound_start = start_time;
out:
	if (!rc)
		tldh_ok(err);
	pthread_mutex_unlock(&tldh_lock);
	return rc;
}

static int need_open(struct tldh_error *err)
{
	if (skel)
		return 0;
	return tldh_fail(err, -EBADF, "the helper is not open (call tldh_open first)");
}

static int check_pid(int pid, struct tldh_error *err)
{
	if (pid <= 0)
		return tldh_fail(err, -EINVAL, "%d is not a process id", pid);
	if (kill(pid, 0) && errno == ESRCH)
		return tldh_fail(err, -ESRCH, "process %d does not exist", pid);
	return 0;
}

int32_t tldh_list(uint8_t *buf, size_t cap, size_t *len, struct tldh_error *err)
{
	int rc;

	pthread_mutex_lock(&tldh_lock);
	rc = need_open(err);
	if (!rc)
		rc = run_iter(skel->progs.list_tasks, 0, buf, cap, len, err);
	pthread_mutex_unlock(&tldh_lock);
	return rc;
}

int32_t tldh_snapshot(int32_t pid, uint8_t *buf, size_t cap, size_t *len, struct tldh_error *err)
{
	int rc;

	pthread_mutex_lock(&tldh_lock);
	rc = need_open(err);
	if (!rc)
		rc = check_pid(pid, err);
	if (!rc) {
		skel->bss->dump_meta_done = 0;
		skel->bss->dump_used = 0;
		rc = run_iter(skel->progs.dump_process, pid, buf, cap, len, err);
	}
	/* A process that went away meanwhile gave a partial pass: say so rather than return it. */
	if ((!rc || rc == -ENOSPC) && kill(pid, 0) && errno == ESRCH)
		rc = tldh_fail(err, -ESRCH, "process %d exited during the snapshot", pid);
	pthread_mutex_unlock(&tldh_lock);
	return rc;
}

TLDH_HIDDEN int tldh_thread_ids(int pid, uint32_t **tids, size_t *n, struct tldh_error *err)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	uint32_t cnt;

	skel->bss->list_pid = (uint32_t)pid;
	/* Threads of a process that took the pid since the helper checked it are not listed. */
	skel->bss->expect_start = pid > 0 && pid == bound_pid ? bound_start + 1 : 0;
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.list_threads), &opts))
		return tldh_fail(err, -errno, "cannot list the threads of process %d: %s", pid, strerror(errno));
	if (opts.retval)
		return tldh_fail(err, -ESRCH, "process %d does not exist", pid);
	cnt = skel->bss->list_cnt;
	if (cnt > TLDH_MAX_LISTED)
		return tldh_fail(err, -E2BIG, "process %d has %u threads, more than the %d attach can follow", pid,
				 cnt, TLDH_MAX_LISTED);
	*tids = skel->bss->list_tids;
	*n = cnt;
	tldh_ok(err);
	return 0;
}

int32_t tldh_write(int32_t pid, int32_t tid, uint32_t offset, const uint8_t *bytes, uint32_t n,
		   uint8_t *buf, size_t cap, size_t *len, struct tldh_error *err)
{
	int rc;

	pthread_mutex_lock(&tldh_lock);
	rc = need_open(err);
	if (!rc)
		rc = check_pid(pid, err);
	if (!rc && (n == 0 || n > TLD_DATA_MAX_FOR(map_shape.page) ||
		    offset > TLD_DATA_MAX_FOR(map_shape.page) - n))
		rc = tldh_fail(err, -EINVAL, "%u bytes at offset %u do not fit a data page of %zu bytes", n,
			       offset, map_shape.page);
	if (!rc) {
		skel->bss->write_tid = tid > 0 ? (uint32_t)tid : 0;
		skel->bss->write_off = offset;
		skel->bss->write_len = n;
		memcpy(skel->bss->write_bytes, bytes, n);
		rc = run_iter(skel->progs.write_values, pid, buf, cap, len, err);
	}
	if (!rc && *len == 0)
		rc = tldh_fail(err, -ENOENT, tid > 0 ? "thread %d of process %d has no task local data page "
						       "it can write (none, or data not at the start of its page)"
						     : "process %d has no thread with a task local data page it can "
						       "write (none, or data not at the start of its page)",
			       tid > 0 ? tid : pid, pid);
	pthread_mutex_unlock(&tldh_lock);
	return rc;
}

/* Detach what this process attached when it exits normally. */
__attribute__((destructor)) static void tldh_fini(void)
{
	tldh_close();
}
