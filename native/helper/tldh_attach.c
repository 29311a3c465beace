/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Attach: hints for a process that does not use task local data. The helper
 * owns a metadata page and one data page per target thread, pins them for the
 * target's threads (the kernel pins uptrs from the caller's address space),
 * follows threads started later, and deletes the entries on detach.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tldh_internal.h"
#include "../src/tld_internal.h"

#define FOLLOW_INTERVAL_MS 20

/*
 * Pages come from chunks mapped zeroed by the kernel, so a thousand threads
 * cost a few mmaps and no memset; a freed page is zeroed when reused.
 */
#define CHUNK_PAGES 64

static void *free_pages; /* a list threaded through the first word of each free page */
static void *chunk_next, *chunk_end;

static struct tld_data_page *page_alloc(void)
{
	void *p = free_pages;

	if (p) {
		free_pages = *(void **)p;
		memset(p, 0, TLD_PAGE_SIZE);
		return p;
	}
	if (chunk_next == chunk_end) {
		p = mmap(NULL, CHUNK_PAGES * TLD_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		chunk_next = p;
		chunk_end = (char *)p + CHUNK_PAGES * TLD_PAGE_SIZE;
	}
	p = chunk_next;
	chunk_next = (char *)chunk_next + TLD_PAGE_SIZE;
	return p;
}

/* Only for pages no longer pinned: the kernel holds no reference to them. */
static void page_free(struct tld_data_page *page)
{
	*(void **)page = free_pages;
	free_pages = page;
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

/* Pins a fresh page for thread @tid of @a; 0, or negative errno (-ESRCH: gone already). */
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
	page->start = TLD_DATA_START;
	rc = tld_pin_thread(tldh_map_fd(), tid, page, a->meta);
	if (rc) {
		page_free(page);
		return rc;
	}
	a->threads[a->n++] = (struct attached_thread){ tid, page, true };
	return 0;
}

/*
 * Pins pages for threads of @a not seen before and frees those of threads
 * gone (the kernel dropped their entries with them). Returns the number of
 * threads alive, or -ESRCH when the process is gone.
 */
static int scan_threads(struct attached *a)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	size_t i, known = a->n, kept = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", a->pid);
	dir = opendir(path);
	if (!dir)
		return -ESRCH;
	for (i = 0; i < a->n; i++)
		a->threads[i].seen = false;
	while ((de = readdir(dir))) {
		int tid = atoi(de->d_name);
		struct attached_thread *t;

		if (tid <= 0)
			continue;
		/* Search only the threads known before this scan; new ones are appended unsorted. */
		t = bsearch(&(struct attached_thread){ .tid = tid }, a->threads, known, sizeof(*t), by_tid);
		if (t)
			t->seen = true;
		else
			add_thread(a, tid); /* a thread that exits meanwhile is simply not added */
	}
	closedir(dir);
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

static void release(struct attached *a, bool unpin)
{
	for (size_t i = 0; i < a->n; i++) {
		if (unpin)
			tld_unpin_thread(tldh_map_fd(), a->threads[i].tid);
		page_free(a->threads[i].page);
	}
	free(a->threads);
	munmap(a->meta, TLD_PAGE_SIZE);
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
			if (scan_threads(a) == -ESRCH) {
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
		rc = tld_meta_add(meta, name, size);
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
	rc = tldh_has_entries(pid, err);
	if (rc < 0)
		goto out;
	if (rc > 0) {
		rc = tldh_fail(err, -EEXIST, "process %d already has task local data of its own; "
				   "attach is for processes without it", pid);
		goto out;
	}
	a = calloc(1, sizeof(*a));
	if (a) {
		a->meta = mmap(NULL, TLD_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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
	a->meta->size = TLD_DATA_MAX;
	rc = add_keys(a->meta, keys, err);
	if (!rc && scan_threads(a) == -ESRCH)
		rc = tldh_fail(err, -ESRCH, "process %d does not exist", pid);
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
