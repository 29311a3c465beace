/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Per-thread data pages: allocate and pin on first use, unpin on exit, re-pin after fork. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "tld_internal.h"

#define likely(x) __builtin_expect(!!(x), 1)

/*
 * Every thread that has a page, so that fork() and tld_free() can find them.
 * A thread's record lives in its own TLS (tls_rec): it is unlinked before the
 * thread's TLS goes, at its exit.
 */
struct tld_thread {
	struct tld_thread *next, *prev;
	struct tld_data_page *page;
	pid_t tid;
};

static pthread_mutex_t tld_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tld_thread tld_reg = { &tld_reg, &tld_reg, NULL, 0 };
/* Bumped by tld_free(): threads whose cached generation differs start over. */
static unsigned long tld_gen = 1;
static pthread_key_t tld_exit_key;
static pthread_once_t tld_once = PTHREAD_ONCE_INIT;

static __thread char *tls_data;
static __thread unsigned long tls_gen;
static __thread struct tld_thread *tls_self;
static __thread struct tld_thread tls_rec;

/*
 * Pages come from slots of chunks mapped zeroed, under tld_reg_lock, which a
 * thread's first use takes anyway: no malloc and no memset on that path. A
 * slot is a data page and, after it, a scratch page nothing reads
 * (tld_scratch_offset()), never touched unless a failed tld::variable is
 * written, so it costs no memory. Free slots are kept on a stack beside the
 * pages, never in them: a reader that took a page from the map just before
 * its thread exited may still copy it, and must find it a page, start and
 * all, whose values are the thread's or zero.
 */
#define SLOTS_PER_CHUNK 16

struct tld_chunk {
	struct tld_chunk *next;
	void *base;
};

static struct tld_chunk *tld_chunks;
static struct tld_data_page **tld_free_slots;
/* Free slots, and room for every slot there is (SLOTS_PER_CHUNK per chunk). */
static size_t tld_free_count, tld_free_room;

static size_t tld_slot_size(void)
{
	return 2 * tld_system_page();
}

/* A zeroed data page (its scratch page after it), or NULL; with tld_reg_lock held. */
static struct tld_data_page *tld_slot_get(void)
{
	if (!tld_free_count) {
		struct tld_data_page **room;
		struct tld_chunk *c;
		char *base;

		room = realloc(tld_free_slots, (tld_free_room + SLOTS_PER_CHUNK) * sizeof(*room));
		if (!room)
			return NULL;
		tld_free_slots = room;
		c = malloc(sizeof(*c));
		base = mmap(NULL, SLOTS_PER_CHUNK * tld_slot_size(), PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (!c || base == MAP_FAILED) {
			free(c);
			if (base != MAP_FAILED)
				munmap(base, SLOTS_PER_CHUNK * tld_slot_size());
			return NULL;
		}
		c->base = base;
		c->next = tld_chunks;
		tld_chunks = c;
		tld_free_room += SLOTS_PER_CHUNK;
		/* Taken in address order. */
		for (int i = SLOTS_PER_CHUNK - 1; i >= 0; i--)
			tld_free_slots[tld_free_count++] = (struct tld_data_page *)(base + i * tld_slot_size());
	}
	return tld_free_slots[--tld_free_count];
}

/* With tld_reg_lock held; @page is no longer pinned. Its start stays: see above. */
static void tld_slot_put(struct tld_data_page *page)
{
	memset((char *)page + TLD_DATA_START, 0, tld_system_page() - TLD_DATA_START);
	tld_free_slots[tld_free_count++] = page;
}

/* Unmaps every chunk (tld_free()); with tld_reg_lock held. */
static void tld_slots_release(void)
{
	while (tld_chunks) {
		struct tld_chunk *c = tld_chunks;

		tld_chunks = c->next;
		munmap(c->base, SLOTS_PER_CHUNK * tld_slot_size());
		free(c);
	}
	free(tld_free_slots);
	tld_free_slots = NULL;
	tld_free_count = tld_free_room = 0;
}

size_t tld_scratch_offset(void)
{
	return tld_system_page() - TLD_DATA_START;
}

static void tld_reg_unlink(struct tld_thread *t)
{
	t->prev->next = t->next;
	t->next->prev = t->prev;
}

static void tld_thread_exit(void *arg)
{
	struct tld_thread *t = arg;
	int map_fd;

	/* After tld_free() the record is gone already. */
	if (tls_gen != __atomic_load_n(&tld_gen, __ATOMIC_ACQUIRE) || tls_self != t)
		return;
	map_fd = tld_map_fd_peek();
	/* Unpin before freeing, so no BPF program writes to a page malloc reuses. */
	if (map_fd >= 0)
		tld_unpin_thread(map_fd, t->tid);
	pthread_mutex_lock(&tld_reg_lock);
	tld_reg_unlink(t);
	tld_slot_put(t->page);
	pthread_mutex_unlock(&tld_reg_lock);
	tls_data = NULL;
	tls_self = NULL;
}

static void tld_fork_prepare(void)
{
	pthread_mutex_lock(&tld_reg_lock);
}

static void tld_fork_parent(void)
{
	pthread_mutex_unlock(&tld_reg_lock);
}

/*
 * The child has one thread, a copy of every page at the same address, and no
 * map entry. Keep the forking thread's page (pointers it cached stay valid),
 * pin it for the child's thread, and drop the copies of the other threads'.
 */
static void tld_fork_child(void)
{
	struct tld_thread *t, *next;
	int map_fd, err;

	for (t = tld_reg.next; t != &tld_reg; t = next) {
		next = t->next;
		if (t == tls_self)
			continue;
		tld_reg_unlink(t);
		tld_slot_put(t->page);
	}
	pthread_mutex_unlock(&tld_reg_lock);
	if (!tls_self || tls_gen != tld_gen)
		return;
	tls_self->tid = gettid();
	map_fd = tld_map_fd_peek();
	err = map_fd < 0 ? map_fd : tld_pin_thread(map_fd, tld_map_shape().rev, tls_self->tid, tls_self->page,
						   tld_meta_get(), BPF_ANY);
	if (err)
		tld_pr("cannot pin the forked child's page: %s", strerror(-err));
}

static void tld_init_once(void)
{
	pthread_key_create(&tld_exit_key, tld_thread_exit);
	pthread_atfork(tld_fork_prepare, tld_fork_parent, tld_fork_child);
}

/* Slow path of tld_thread_data(): allocate, pin and register this thread's page. */
static void *tld_thread_init(void)
{
	struct tld_thread *t = &tls_rec;
	struct tld_data_page *page;
	struct tld_meta_page *meta;
	unsigned long gen;
	int map_fd, err;

	if (!tld_system_page()) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	pthread_once(&tld_once, tld_init_once);
	gen = __atomic_load_n(&tld_gen, __ATOMIC_ACQUIRE);
	meta = tld_meta_get();
	if (!meta)
		return NULL;
	map_fd = tld_map_fd();
	if (map_fd < 0)
		return NULL;
	t->tid = gettid();
	/*
	 * One critical section takes the page and registers the thread before the
	 * pin: fork() and tld_free() then find it whether the pin is done or not,
	 * and unpinning a thread not pinned yet is harmless.
	 */
	pthread_mutex_lock(&tld_reg_lock);
	page = tld_slot_get();
	if (page) {
		t->page = page;
		t->next = &tld_reg;
		t->prev = tld_reg.prev;
		tld_reg.prev->next = t;
		tld_reg.prev = t;
	}
	pthread_mutex_unlock(&tld_reg_lock);
	if (!page) {
		errno = ENOMEM;
		return NULL;
	}
	/* A whole system page: the data area starts at the page's TLD_DATA_START under both revisions. */
	page->start = TLD_DATA_START;
	err = tld_pin_thread(map_fd, tld_map_shape().rev, t->tid, page, meta, BPF_ANY);
	if (err) {
		pthread_mutex_lock(&tld_reg_lock);
		tld_reg_unlink(t);
		tld_slot_put(page);
		pthread_mutex_unlock(&tld_reg_lock);
		errno = -err;
		return NULL;
	}
	pthread_setspecific(tld_exit_key, t);

	tls_self = t;
	tls_gen = gen;
	tls_data = (char *)page + TLD_DATA_START;
	return tls_data;
}

void *tld_thread_data(void)
{
	if (likely(tls_data && tls_gen == __atomic_load_n(&tld_gen, __ATOMIC_RELAXED)))
		return tls_data;
	return tld_thread_init();
}

void *tld_resolve_key(tld_off_t k)
{
	char *data;

	if (k.off < 0 || (size_t)k.off >= TLD_DATA_MAX) {
		errno = k.off < 0 ? -k.off : EINVAL;
		return NULL;
	}
	data = tld_thread_data();
	return data ? data + k.off : NULL;
}

TLD_HIDDEN void tld_thread_release(void)
{
	struct tld_thread *t = tls_self;

	if (!t || tls_gen != __atomic_load_n(&tld_gen, __ATOMIC_ACQUIRE))
		return;
	/* A NULL value: the exit destructor does not run again for this record. */
	pthread_setspecific(tld_exit_key, NULL);
	tld_thread_exit(t);
}

void tld_free(void)
{
	struct tld_meta_page *meta;
	struct tld_thread *t, *next;
	int map_fd = tld_map_fd_peek();

	pthread_mutex_lock(&tld_reg_lock);
	for (t = tld_reg.next; t != &tld_reg; t = next) {
		next = t->next;
		if (map_fd >= 0)
			tld_unpin_thread(map_fd, t->tid);
	}
	tld_reg.next = tld_reg.prev = &tld_reg;
	tld_slots_release();
	__atomic_add_fetch(&tld_gen, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&tld_reg_lock);
	tls_data = NULL;
	tls_self = NULL;

	meta = tld_meta_take();
	if (meta)
		munmap(meta, tld_system_page());
	tld_map_release();
}
