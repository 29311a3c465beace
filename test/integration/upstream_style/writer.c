/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A hint producer in the style of upstream's task_local_data.h, written from the layout as
 * TLD Studio's tests describe it (not upstream's code): TLD_DEFINE_KEY, tld_create_key,
 * tld_get_data(map_fd, key), tld_free, with upstream's allocation, in either revision:
 *
 *   -DTLD_REV=1  `start` goes into the thread's allocation, the map value holds the page's
 *                base: with TLD_DYN_DATA_SIZE below half a page the allocation is malloc's,
 *                not at the page's start, and readers find `start` at the wrong place.
 *   -DTLD_REV=2  `start` goes into the map value (24 bytes); the data sits where
 *                aligned_alloc put it, anywhere in the page.
 *
 * Usage: writer PIN THREADS. Each thread sets up.prio = 1000 + its index and up.tid = its tid,
 * then "ready PID TID..." is printed; stdin "show" prints "value TID PRIO TIDVAL" per thread,
 * EOF ends the program.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>

#ifndef TLD_REV
#error "build with -DTLD_REV=1 or -DTLD_REV=2"
#endif
#ifndef TLD_DYN_DATA_SIZE
#define TLD_DYN_DATA_SIZE 64
#endif

/* ---- the header part: upstream's API over the layout ---- */

typedef struct {
	int16_t off;
} tld_key_t;

struct tld_entry {
	char name[62];
	_Atomic uint16_t size;
};

struct tld_meta {
	_Atomic uint16_t cnt;
	uint16_t size; /* TLD_DYN_DATA_SIZE plus what TLD_DEFINE_KEY took */
	struct tld_entry entries[];
};

struct tld_data {
	uint64_t start; /* revision 1: offset of data[] in its page; revision 2: unused */
	char data[];
};

#if TLD_REV == 1
struct tld_value {
	void *data;
	struct tld_meta *meta;
};
#else
struct tld_value {
	void *data;
	struct tld_meta *meta;
	uint16_t start;
};
#endif

static struct tld_meta *_Atomic tld_meta_p;
static __thread struct tld_data *tld_data_p;
static __thread void *tld_alloc_p;

static size_t page_size(void)
{
	return (size_t)getpagesize();
}

static int tld_init_meta(void)
{
	struct tld_meta *m = aligned_alloc(page_size(), page_size()), *none = NULL;

	if (!m)
		return -ENOMEM;
	memset(m, 0, page_size());
	m->size = TLD_DYN_DATA_SIZE;
	if (!atomic_compare_exchange_strong(&tld_meta_p, &none, m))
		free(m);
	return 0;
}

static tld_key_t tld_add(const char *name, size_t size, int dynamic)
{
	int max = (int)(page_size() / sizeof(struct tld_entry)) - 1, off = 0, err;
	struct tld_meta *m;

	if (!atomic_load(&tld_meta_p) && (err = tld_init_meta()))
		return (tld_key_t){ (int16_t)err };
	m = atomic_load(&tld_meta_p);
	for (int i = 0; i < max; i++) {
		uint16_t cnt = atomic_load(&m->cnt), sz;

		if (i < cnt) {
			while (!(sz = atomic_load(&m->entries[i].size)))
				sched_yield();
			if (!strncmp(m->entries[i].name, name, sizeof(m->entries[i].name)))
				return (tld_key_t){ -EEXIST };
			off += (sz + 7) & ~7;
			continue;
		}
		if (dynamic ? off + ((size + 7) & ~7ul) > m->size
			    : off + ((size + 7) & ~7ul) > page_size() - sizeof(struct tld_data))
			return (tld_key_t){ -E2BIG };
		if (!dynamic)
			m->size += (size + 7) & ~7ul;
		if (!atomic_compare_exchange_strong(&m->cnt, &cnt, cnt + 1)) {
			i--;
			continue;
		}
		strncpy(m->entries[i].name, name, sizeof(m->entries[i].name) - 1);
		atomic_store(&m->entries[i].size, (uint16_t)size);
		return (tld_key_t){ (int16_t)off };
	}
	return (tld_key_t){ -ENOSPC };
}

#define TLD_DEFINE_KEY(key, name, size)                                       \
	static tld_key_t key;                                                  \
	__attribute__((constructor)) static void tld_define_##key(void)        \
	{                                                                      \
		key = tld_add((name), (size), 0);                              \
	}

static tld_key_t tld_create_key(const char *name, size_t size)
{
	return tld_add(name, size, 1);
}

/* Allocates this thread's data and registers it, as the revision does. */
static int tld_init_data(int map_fd)
{
	size_t page = page_size(), size = atomic_load(&tld_meta_p)->size;
	uintptr_t page_mask = ~(uintptr_t)(page - 1);
	struct tld_value v = { .meta = atomic_load(&tld_meta_p) };
	struct tld_data *d;
	void *alloc;
	int fd, err;

	fd = syscall(SYS_pidfd_open, syscall(SYS_gettid), O_EXCL);
	if (fd < 0)
		return -errno;
#if TLD_REV == 1
	/* malloc unless the data takes half a page or more; a page boundary inside moves it to the next page. */
	alloc = size * 2 >= page ? aligned_alloc(page, size) : malloc(size * 2);
	if (!alloc) {
		close(fd);
		return -ENOMEM;
	}
	if (page - ((uintptr_t)alloc & ~page_mask) >= size)
		d = alloc;
	else
		d = (void *)(((uintptr_t)alloc + page - 1) & page_mask);
	/* The layout's first revision: start in the allocation, the page's base in the value. */
	d->start = ((uintptr_t)d & ~page_mask) + sizeof(struct tld_data);
	v.data = (void *)((uintptr_t)d & page_mask);
#else
	{
		size_t need = size + sizeof(struct tld_data), pot = 8;

		while (pot < need)
			pot <<= 1;
		alloc = aligned_alloc(pot, pot);
	}
	if (!alloc) {
		close(fd);
		return -ENOMEM;
	}
	d = alloc;
	v.data = (void *)((uintptr_t)d & page_mask);
	v.start = ((uintptr_t)d & ~page_mask) + sizeof(struct tld_data);
#endif
	err = bpf_map_update_elem(map_fd, &fd, &v, 0) ? -errno : 0;
	close(fd);
	if (err) {
		free(alloc);
		return err;
	}
	tld_data_p = d;
	tld_alloc_p = alloc;
	return 0;
}

static void *tld_get_data(int map_fd, tld_key_t key)
{
	if (!atomic_load(&tld_meta_p) || key.off < 0)
		return NULL;
	if (!tld_data_p && tld_init_data(map_fd))
		return NULL;
	return tld_data_p->data + key.off;
}

static void tld_free(void)
{
	free(tld_alloc_p);
	tld_alloc_p = NULL;
	tld_data_p = NULL;
}

/* ---- the program ---- */

TLD_DEFINE_KEY(k_prio, "up.prio", 4);
static tld_key_t k_tid;
static int map_fd;
static pthread_barrier_t ready, done;

struct worker {
	pthread_t thread;
	int index;
	pid_t tid;
	uint32_t *prio;
	uint64_t *tidval;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	w->prio = tld_get_data(map_fd, k_prio);
	w->tidval = tld_get_data(map_fd, k_tid);
	if (!w->prio || !w->tidval) {
		fprintf(stderr, "writer: tld_get_data failed in thread %d: %s\n", w->tid, strerror(errno));
		exit(1);
	}
	*w->prio = 1000 + w->index;
	*w->tidval = (uint64_t)w->tid;
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&done); /* until stdin closes */
	tld_free();
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker *w;
	char line[64];
	int n;

	if (argc != 3 || (n = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: writer PIN THREADS\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	map_fd = bpf_obj_get(argv[1]);
	if (map_fd < 0 || k_prio.off < 0) {
		fprintf(stderr, "writer: cannot open %s (%s) or define up.prio (%d)\n", argv[1], strerror(errno), k_prio.off);
		return 1;
	}
	k_tid = tld_create_key("up.tid", 8);
	if (k_tid.off < 0) {
		fprintf(stderr, "writer: tld_create_key: %d\n", k_tid.off);
		return 1;
	}
	w = calloc(n, sizeof(*w));
	pthread_barrier_init(&ready, NULL, n + 1);
	pthread_barrier_init(&done, NULL, n + 1);
	for (int i = 0; i < n; i++) {
		w[i].index = i;
		pthread_create(&w[i].thread, NULL, worker_main, &w[i]);
	}
	pthread_barrier_wait(&ready);
	printf("ready %d", getpid());
	for (int i = 0; i < n; i++)
		printf(" %d", w[i].tid);
	printf("\n");
	while (fgets(line, sizeof(line), stdin)) {
		if (strncmp(line, "show", 4))
			continue;
		for (int i = 0; i < n; i++)
			printf("value %d %u %llu\n", w[i].tid, *(volatile uint32_t *)w[i].prio,
			       (unsigned long long)*(volatile uint64_t *)w[i].tidval);
		printf("shown\n");
	}
	pthread_barrier_wait(&done);
	for (int i = 0; i < n; i++)
		pthread_join(w[i].thread, NULL);
	return 0;
}
