/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Attach: hints for a process that does not use task local data. The helper
 * owns a metadata page and one data page per target thread, pins them for the
 * target's threads (the kernel pins uptrs from the caller's address space),
 * follows threads started later, and deletes the entries on detach. A cleaner
 * process started at attach deletes them when this process dies without
 * detaching (kill -9), so no attach outlives its holder.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "tldh_internal.h"
#include "../src/tld_internal.h"

#define FOLLOW_INTERVAL_MS 20

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* a pidfd of one thread, not of its thread group */
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/*
 * Pages come from chunks mapped zeroed by the kernel and faulted in by one
 * madvise for as many pages as a scan needs, so a thousand threads cost one
 * mmap and no page faults. A free page is ready to pin: zeroed, its `start`
 * set, when it is freed (detach, or its thread's exit) or made, and kept on a
 * stack outside the pages, so that taking one touches no page: the pins then
 * run back to back as the bare pins do.
 */
#define CHUNK_PAGES 64

static void **free_pages; /* a stack of ready pages, room for every page made */
static size_t free_count, pages_made;
static char *chunk_next, *chunk_end;

/* Zeroes @page and sets its start: what every page handed out looks like. */
static void page_ready(void *page)
{
	memset(page, 0, tld_system_page());
	((struct tld_data_page *)page)->start = TLD_DATA_START;
}

/* Room on the free stack for @more pages to be made; 0 or -ENOMEM. */
static int pages_room(size_t more)
{
	void **s = realloc(free_pages, (pages_made + more) * sizeof(*s));

	if (!s)
		return -ENOMEM;
	free_pages = s;
	return 0;
}

static struct tld_data_page *page_alloc(void)
{
	char *p;

	if (free_count)
		return free_pages[--free_count];
	if (chunk_next == chunk_end) {
		if (pages_room(CHUNK_PAGES))
			return NULL;
		p = mmap(NULL, CHUNK_PAGES * tld_system_page(), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		chunk_next = p;
		chunk_end = chunk_next + CHUNK_PAGES * tld_system_page();
	}
	p = chunk_next;
	chunk_next += tld_system_page();
	pages_made++;
	((struct tld_data_page *)p)->start = TLD_DATA_START;
	return (struct tld_data_page *)p;
}

/*
 * Makes the next @n page_alloc() calls take ready pages: a chunk of at least
 * @n pages (the rest of the current one joins the free stack), whose first @n
 * one madvise faults in. Best effort: page_alloc() works without it.
 */
static void page_reserve(size_t n)
{
	size_t page = tld_system_page(), left = (size_t)(chunk_end - chunk_next) / page, pages;
	char *p;

	if (free_count + left >= n)
		return;
	n -= free_count;
	pages = n > CHUNK_PAGES ? n : CHUNK_PAGES;
	/* Room for every page of both chunks, the one left and the new one. */
	if (pages_room(left + pages))
		return;
	p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return;
	for (; chunk_next != chunk_end; chunk_next += page) {
		((struct tld_data_page *)chunk_next)->start = TLD_DATA_START;
		free_pages[free_count++] = chunk_next;
		pages_made++;
	}
	madvise(p, n * page, MADV_POPULATE_WRITE);
	for (size_t i = n; i-- > 0;) { /* the lowest address on top */
		((struct tld_data_page *)(p + i * page))->start = TLD_DATA_START;
		free_pages[free_count++] = p + i * page;
		pages_made++;
	}
	chunk_next = p + n * page;
	chunk_end = p + pages * page;
}

/* Only for pages no longer pinned: the kernel holds no reference to them. */
static void page_free(struct tld_data_page *page)
{
	page_ready(page);
	free_pages[free_count++] = page;
}

struct attached_thread {
	int tid;
	struct tld_data_page *page;
	bool seen; /* still in /proc during the last scan */
};

struct attached {
	struct attached *next;
	int pid;
	struct tld_meta_page *meta;
	struct attached_thread *threads;
	size_t n, cap;
	size_t own;     /* threads the last scan found with an entry of their own, left alone */
	pid_t cleaner;  /* the process that deletes the entries if we die, or 0 */
	int cleaner_fd; /* our end of its socket: a byte stands it down, EOF (our death) sets it off */
	void *cleaner_stack;
};

static struct attached *attached;
static pthread_t follower;
static bool follower_running, follower_stop;

static struct attached *find_attached(int pid)
{
	for (struct attached *a = attached; a; a = a->next)
		if (a->pid == pid)
			return a;
	return NULL;
}

static int by_tid(const void *x, const void *y)
{
	return ((const struct attached_thread *)x)->tid - ((const struct attached_thread *)y)->tid;
}

/*
 * Pins a fresh page for thread @tid of @a, unless the thread has an entry
 * already (its own task local data, which is never replaced). Returns 0, or
 * negative errno (-ESRCH: gone already; -EEXIST: it has an entry).
 */
static int add_thread(struct attached *a, int tid)
{
	struct tld_data_page *page;
	int rc;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct attached_thread *t = realloc(a->threads, cap * sizeof(*t));

		if (!t)
			return -ENOMEM;
		a->threads = t;
		a->cap = cap;
	}
	page = page_alloc();
	if (!page)
		return -ENOMEM;
	rc = tld_pin_thread(tldh_map_fd(), tldh_map_shape().rev, tid, page, a->meta, BPF_NOEXIST);
	if (rc) {
		page_free(page);
		return rc;
	}
	a->threads[a->n++] = (struct attached_thread){ tid, page, true };
	return 0;
}

/*
 * Pins pages for threads of @a not seen before and frees those of threads
 * gone (the kernel dropped their entries with them); a->own counts the
 * threads left alone because they have entries of their own. Returns the
 * number of threads alive, or negative errno (-ESRCH: the process is gone).
 */
static int scan_threads(struct attached *a, struct tldh_error *err)
{
	size_t i, n, known = a->n, kept = 0, nnew = 0;
	uint32_t *tids;
	int rc;

	rc = tldh_thread_ids(a->pid, &tids, &n, err);
	if (rc)
		return rc;
	for (i = 0; i < a->n; i++)
		a->threads[i].seen = false;
	for (i = 0; i < n; i++) {
		struct attached_thread *t;

		t = bsearch(&(struct attached_thread){ .tid = (int)tids[i] }, a->threads, known, sizeof(*t),
			    by_tid);
		if (t) {
			t->seen = true;
			tids[i] = 0; /* known: not pinned again below */
		} else {
			nnew++;
		}
	}
	/* Listed first and pinned after: every page faulted in at once, and the pins back to back. */
	page_reserve(nnew);
	a->own = 0;
	for (i = 0; i < n; i++)
		if (tids[i] && add_thread(a, (int)tids[i]) == -EEXIST) /* one that exits meanwhile is not added */
			a->own++;
	for (i = 0; i < a->n; i++) {
		if (a->threads[i].seen)
			a->threads[kept++] = a->threads[i];
		else
			page_free(a->threads[i].page); /* the kernel dropped its entry with the thread */
	}
	a->n = kept;
	qsort(a->threads, a->n, sizeof(*a->threads), by_tid);
	return (int)kept;
}

/*
 * The cleaner. It runs in a child that shares this process's memory (see
 * start_cleaner), so it calls only async-signal-safe functions and makes its
 * file syscalls through syscall(2): no stdio, no malloc, no opendir, and none
 * of glibc's cancellation points, which write the state of the thread that
 * started it.
 */
struct linux_dirent64 {
	__u64 d_ino;
	__s64 d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int raw_open(const char *path, int flags)
{
	return syscall(SYS_openat, AT_FDCWD, path, flags);
}

static void raw_close(int fd)
{
	syscall(SYS_close, fd);
}

/* Appends @pid's digits at @buf; returns the end. */
static char *put_pid(char *buf, int pid)
{
	char digits[12];
	int n = 0;

	do
		digits[n++] = '0' + pid % 10;
	while ((pid /= 10));
	while (n)
		*buf++ = digits[--n];
	return buf;
}

/* Copies @s with its NUL to @buf; returns the position of the NUL. */
static char *put_str(char *buf, const char *s)
{
	while ((*buf = *s++))
		buf++;
	return buf;
}

/* "/proc/<pid><tail>" into @buf (large enough), without snprintf. */
static void proc_path(char *buf, int pid, const char *tail)
{
	put_str(put_pid(put_str(buf, "/proc/"), pid), tail);
}

/*
 * When @pid started (field 22 of its main thread's stat, clock ticks after
 * boot), or 0 when there is no such process. A zombie keeps its pid and start
 * time until it is reaped, and its task storage with them. The thread's file
 * (/proc/<pid>/task/<pid>/stat) carries the same start time as the process's
 * and costs the same for any process, where /proc/<pid>/stat adds up every
 * thread's figures first (O(threads): 80 us instead of 19 at 1,000 threads).
 */
static unsigned long long start_time(int pid)
{
	char path[48], buf[1024], *p = NULL;
	unsigned long long v = 0;
	int fd, field = 2;
	ssize_t n;

	put_str(put_pid(put_str(put_pid(put_str(path, "/proc/"), pid), "/task/"), pid), "/stat");
	fd = raw_open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
	raw_close(fd);
	if (n <= 0)
		return 0;
	/* The comm may hold ')' and spaces: the fields start after the last ')'. */
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == ')')
			p = buf + i;
	if (!p)
		return 0;
	buf[n] = 0;
	for (; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	return v;
}

static int parse_tid(const char *s)
{
	int v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/*
 * Deletes the entry of every thread of @pid in @map_fd, while @pid is the
 * process attached (started at @start; a zombie still is, and still pins our
 * pages). A thread is opened first, then checked to be listed in that process
 * still, so a reused id never points the delete at another process.
 */
static void cleaner_delete_entries(int map_fd, int pid, unsigned long long start)
{
	char path[40], buf[4096] __attribute__((aligned(8)));
	long n;
	int dfd;

	if (start_time(pid) != start)
		return; /* reaped: the kernel freed its entries with it */
	proc_path(path, pid, "/task");
	dfd = raw_open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			int tid = parse_tid(d->d_name), tfd;

			off += d->d_reclen;
			if (tid <= 0)
				continue;
			tfd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
			if (tfd < 0)
				continue;
			if (!syscall(SYS_faccessat, dfd, d->d_name, F_OK) && start_time(pid) == start)
				bpf_map_delete_elem(map_fd, &tfd);
			raw_close(tfd);
		}
	}
	raw_close(dfd);
}

/* Closes every descriptor but @a and @b. */
static void close_all_but(int a, int b)
{
	unsigned int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 0)
		syscall(SYS_close_range, 0, lo - 1, 0);
	if (hi > lo + 1)
		syscall(SYS_close_range, lo + 1, hi - 1, 0);
	syscall(SYS_close_range, hi + 1, ~0U, 0);
}

struct cleaner_args {
	int map_fd, sock, pid;
	unsigned long long start;
};

static int cleaner_main(void *arg)
{
	static const int ignored[] = { SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU };
	const struct cleaner_args *args = arg;
	int map_fd = args->map_fd, sock = args->sock;
	struct sigaction sa = { .sa_handler = SIG_IGN };
	sigset_t none;
	ssize_t n;
	char c;

	/*
	 * Its own session: the terminal's Ctrl-C and hang-up go to the holder,
	 * which detaches; the cleaner only waits for the holder to be gone.
	 */
	setsid();
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		sigaction(ignored[i], &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	close_all_but(map_fd, sock);
	prctl(PR_SET_NAME, "tld-attach-gc", 0, 0, 0);
	/*
	 * No EINTR here (every signal it gets is ignored or fatal), so this read,
	 * like the calls above, never fails while the holder lives and never
	 * writes the errno it shares with the starting thread.
	 */
	do
		n = syscall(SYS_read, sock, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 0) /* every copy of our peer's end closed without a word: the holder died */
		cleaner_delete_entries(map_fd, args->pid, args->start);
	_exit(0);
}

#define CLEANER_STACK (64 * 1024)

/*
 * Starts the cleaner of @a: a child that holds the map and one end of a socket
 * pair whose other end only this process holds. When this process dies,
 * however it dies, its end reads EOF and the child deletes the target's
 * entries, which unpins our pages. Returns 0 or negative errno (-ESRCH: no
 * such process).
 *
 * The child shares our memory (CLONE_VM) instead of getting a copy: fork()
 * copies the page tables of a process of Node's size (milliseconds), then
 * every page this process writes while the child lives is copied on write and
 * the child keeps the old one. Sharing keeps our memory alive after our death
 * for as long as the child runs, which is what it needs. Its stack, with its
 * arguments at the top, is mapped here and unmapped once it is reaped.
 */
static int start_cleaner(struct attached *a)
{
	unsigned long long start = start_time(a->pid);
	struct cleaner_args *args;
	char *stack;
	int fds[2];
	pid_t child;

	if (!start)
		return -ESRCH;
	stack = mmap(NULL, CLEANER_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return -errno;
	/* A socket pair rather than a pipe: send() with MSG_NOSIGNAL cannot SIGPIPE us if it is gone. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds)) {
		munmap(stack, CLEANER_STACK);
		return -errno;
	}
	args = (struct cleaner_args *)(stack + CLEANER_STACK) - 1;
	*args = (struct cleaner_args){ tldh_map_fd(), fds[0], a->pid, start };
	/* Its own file table and signal handlers (no CLONE_FILES, no CLONE_SIGHAND). */
	child = clone(cleaner_main, (void *)((uintptr_t)args & ~(uintptr_t)15), CLONE_VM | SIGCHLD, args);
	close(fds[0]);
	if (child < 0) {
		int err = -errno;

		close(fds[1]);
		munmap(stack, CLEANER_STACK);
		return err;
	}
	a->cleaner = child;
	a->cleaner_fd = fds[1];
	a->cleaner_stack = stack;
	return 0;
}

/* Tells the cleaner of @a that we detach ourselves, and reaps it. */
static void stop_cleaner(struct attached *a)
{
	if (!a->cleaner)
		return;
	while (send(a->cleaner_fd, "q", 1, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
	close(a->cleaner_fd);
	while (waitpid(a->cleaner, NULL, 0) < 0 && errno == EINTR)
		;
	munmap(a->cleaner_stack, CLEANER_STACK);
	a->cleaner = 0;
}

static void release(struct attached *a, bool unpin)
{
	stop_cleaner(a);
	for (size_t i = 0; i < a->n; i++) {
		if (unpin)
			tld_unpin_thread(tldh_map_fd(), a->threads[i].tid);
		page_free(a->threads[i].page);
	}
	free(a->threads);
	munmap(a->meta, tld_system_page());
	free(a);
}

static void unlink_attached(struct attached *a)
{
	for (struct attached **p = &attached; *p; p = &(*p)->next) {
		if (*p == a) {
			*p = a->next;
			return;
		}
	}
}

/* Follows thread creation and exit of every attached process until told to stop. */
static void *follow(void *arg)
{
	struct timespec ts = { 0, FOLLOW_INTERVAL_MS * 1000000L };

	(void)arg;
	for (;;) {
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&tldh_lock);
		if (follower_stop) {
			pthread_mutex_unlock(&tldh_lock);
			return NULL;
		}
		for (struct attached *a = attached, *next; a; a = next) {
			next = a->next;
			if (scan_threads(a, NULL) == -ESRCH) {
				unlink_attached(a);
				release(a, false);
			}
		}
		pthread_mutex_unlock(&tldh_lock);
	}
}

/* Parses "name:size" lines into @meta. */
static int add_keys(struct tld_meta_page *meta, const char *keys, struct tldh_error *err)
{
	const char *p = keys;
	int n = 0;

	while (p && *p) {
		const char *eol = strchr(p, '\n'), *colon;
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char name[TLD_NAME_LEN + 16];
		char *end;
		unsigned long size;
		int rc;

		colon = memchr(p, ':', len);
		if (len == 0) {
			p = eol ? eol + 1 : NULL;
			continue;
		}
		if (!colon || (size_t)(colon - p) >= sizeof(name))
			return tldh_fail(err, -EINVAL, "'%.*s' is not NAME:SIZE", (int)len, p);
		memcpy(name, p, colon - p);
		name[colon - p] = 0;
		size = strtoul(colon + 1, &end, 10);
		if (end != p + len || size == 0)
			return tldh_fail(err, -EINVAL, "the size of key '%s' is not a positive number", name);
		rc = tld_meta_add(meta, tldh_map_shape().page, name, size);
		if (rc < 0)
			return tldh_fail(err, rc, "cannot add key '%s' of %lu bytes: %s", name, size,
					 rc == -EINVAL ? "the name is empty or longer than 61 bytes, or the size exceeds a page"
					 : rc == -EEXIST ? "it was given twice with different sizes"
					 : "the page or the key table is full");
		n++;
		p = eol ? eol + 1 : NULL;
	}
	if (!n)
		return tldh_fail(err, -EINVAL, "no keys to attach (give NAME:SIZE...)");
	return 0;
}

int32_t tldh_attach(int32_t pid, const char *keys, struct tldh_error *err)
{
	struct attached *a = NULL;
	int rc;

	pthread_mutex_lock(&tldh_lock);
	if (tldh_map_fd() < 0) {
		rc = tldh_fail(err, -EBADF, "the helper is not open (call tldh_open first)");
		goto out;
	}
	if (find_attached(pid)) {
		rc = tldh_fail(err, -EALREADY, "process %d is attached already", pid);
		goto out;
	}
	a = calloc(1, sizeof(*a));
	if (a) {
		a->meta = mmap(NULL, tld_system_page(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);
		if (a->meta == MAP_FAILED) {
			free(a);
			a = NULL;
		}
	}
	if (!a) {
		rc = tldh_fail(err, -ENOMEM, "out of memory");
		goto out;
	}
	a->pid = pid;
	a->meta->size = TLD_DATA_MAX_FOR(tldh_map_shape().page);
	rc = add_keys(a->meta, keys, err);
	/* The cleaner first: from the first page pinned on, our death must not leave it behind. */
	if (!rc) {
		rc = start_cleaner(a);
		if (rc == -ESRCH)
			tldh_fail(err, rc, "process %d does not exist", pid);
		else if (rc)
			tldh_fail(err, rc, "cannot start the process that removes the hints of %d "
				  "if this one dies: %s", pid, strerror(-rc));
	}
	if (!rc) {
		rc = scan_threads(a, err);
		if (rc == -ESRCH)
			tldh_fail(err, rc, "process %d does not exist", pid);
		else if (rc > 0)
			rc = 0; /* otherwise err says why the iterator failed */
	}
	/* The pins never replace an entry: a thread that has one is the process's own data. */
	if (!rc && a->own)
		rc = tldh_fail(err, -EEXIST, "process %d already has task local data of its own; "
			       "attach is for processes without it", pid);
	if (!rc && a->n == 0)
		rc = tldh_fail(err, -EPERM, "cannot pin pages for process %d%s", pid, tldh_priv_hint(-EPERM));
	if (rc) {
		release(a, true);
		goto out;
	}
	a->next = attached;
	attached = a;
	if (!follower_running) {
		follower_stop = false;
		follower_running = !pthread_create(&follower, NULL, follow, NULL);
	}
	tldh_ok(err);
out:
	pthread_mutex_unlock(&tldh_lock);
	return rc;
}

int32_t tldh_detach(int32_t pid, struct tldh_error *err)
{
	struct attached *a;
	int rc = 0;

	pthread_mutex_lock(&tldh_lock);
	a = find_attached(pid);
	if (!a) {
		rc = tldh_fail(err, -ENOENT, "process %d is not attached", pid);
	} else {
		unlink_attached(a);
		release(a, true);
		tldh_ok(err);
	}
	pthread_mutex_unlock(&tldh_lock);
	return rc;
}

/* Called with tldh_lock held, from tldh_close(). */
TLDH_HIDDEN void tldh_detach_all(void)
{
	while (attached) {
		struct attached *a = attached;

		attached = a->next;
		release(a, true);
	}
	if (follower_running) {
		follower_stop = true;
		pthread_mutex_unlock(&tldh_lock);
		pthread_join(follower, NULL);
		pthread_mutex_lock(&tldh_lock);
		follower_running = false;
	}
}
