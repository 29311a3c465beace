// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// The helper's floors, measured in C: a snapshot read and parsed in C (what the Node client
// is compared with), and the bare per-thread pin that attach is compared with.
// Usage: bench_helper snapshot PID ROUNDS | bench_helper snapshot-handoff PID ROUNDS (the snapshot
// taken on a worker thread while the caller waits, as a client that must not block has it) |
// bench_helper attach PID ROUNDS | bench_helper refresh
// PID SECONDS (the snapshot and its parse every 100 ms, as tldctl watch refreshes: the CPU time
// that costs in C). Prints JSON.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <bpf/bpf.h>

#include "bench_util.h"
#include "tld_layout.h"
#include "tldh_records.h"
#include "tldhelper.h"


static void die(const char *what, const struct tldh_error *err)
{
	fprintf(stderr, "bench_helper: %s: %s\n", what, err ? err->message : strerror(errno));
	exit(1);
}

/* Reads the snapshot and pulls every thread's values out as u64s, as the client does. */
static size_t parse(const uint8_t *buf, size_t len, std::vector<uint64_t> &values)
{
	uint16_t sizes[TLD_MAX_KEYS_FOR(TLD_PAGE_SIZE_MAX)], offs[TLD_MAX_KEYS_FOR(TLD_PAGE_SIZE_MAX)];
	int nkeys = 0;
	size_t off = 0, threads = 0;

	values.clear();
	while (off + sizeof(struct tldh_rec) <= len) {
		const struct tldh_rec *h = (const struct tldh_rec *)(buf + off);
		const uint8_t *body = (const uint8_t *)(h + 1);

		if (h->type == TLDH_REC_META) {
			const struct tldh_meta_rec *mr = (const struct tldh_meta_rec *)body;
			const struct tld_meta_page *m = (const struct tld_meta_page *)(mr + 1);
			uint16_t at = 0;

			for (int i = 0; i < m->cnt && i < (int)TLD_MAX_KEYS_FOR(mr->page_size) && m->entries[i].size; i++) {
				if (!memchr(m->entries[i].name, 0, TLD_NAME_LEN))
					break;
				sizes[nkeys] = m->entries[i].size;
				offs[nkeys++] = at;
				at += TLD_ROUND_UP(m->entries[i].size);
			}
		} else if (h->type == TLDH_REC_THREAD) {
			const struct tldh_thread_rec *t = (const struct tldh_thread_rec *)body;
			const uint8_t *data = body + sizeof(*t);

			for (int k = 0; k < nkeys && (t->flags & TLDH_THREAD_HAS_DATA); k++) {
				uint64_t v = 0;
				size_t from = t->start + offs[k];

				if (from + sizes[k] <= t->data_len)
					memcpy(&v, data + from, sizes[k] > 8 ? 8 : sizes[k]);
				values.push_back(v);
			}
			threads++;
		}
		off += sizeof(*h) + h->size;
	}
	return threads;
}

/*
 * A thread of its own that takes the snapshot while the caller waits, as a client that must not
 * block has its call made on a worker: one wake-up to it, one back.
 */
struct handoff {
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	bool asked = false, answered = false, quit = false;
	int pid = 0;
	std::vector<uint8_t> *buf = nullptr;
	size_t len = 0;
	struct tldh_error err = {};
	int rc = 0;
};

static void *handoff_worker(void *arg)
{
	struct handoff *h = (struct handoff *)arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		while (!h->asked && !h->quit)
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->quit)
			break;
		h->asked = false;
		pthread_mutex_unlock(&h->lock);
		int rc = tldh_snapshot(h->pid, h->buf->data(), h->buf->size(), &h->len, &h->err);
		pthread_mutex_lock(&h->lock);
		h->rc = rc;
		h->answered = true;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* The snapshot and its parse, @rounds times; with @handoff the snapshot is taken on a worker thread. */
static void bench_snapshot(int pid, int rounds, bool handoff)
{
	std::vector<uint8_t> buf(8 << 20);
	std::vector<uint64_t> values;
	std::vector<double> ns;
	struct tldh_error err;
	struct handoff h;
	pthread_t worker;
	size_t len = 0, threads = 0;

	h.pid = pid;
	h.buf = &buf;
	if (handoff && pthread_create(&worker, NULL, handoff_worker, &h))
		die("pthread_create", NULL);
	for (int r = 0; r < rounds; r++) {
		double t0 = now_ns();

		if (handoff) {
			pthread_mutex_lock(&h.lock);
			h.asked = true;
			h.answered = false;
			pthread_cond_broadcast(&h.cond);
			while (!h.answered)
				pthread_cond_wait(&h.cond, &h.lock);
			pthread_mutex_unlock(&h.lock);
			if (h.rc)
				die("snapshot", &h.err);
			len = h.len;
		} else if (tldh_snapshot(pid, buf.data(), buf.size(), &len, &err)) {
			die("snapshot", &err);
		}
		threads = parse(buf.data(), len, values);
		ns.push_back(now_ns() - t0);
	}
	if (handoff) {
		pthread_mutex_lock(&h.lock);
		h.quit = true;
		pthread_cond_broadcast(&h.cond);
		pthread_mutex_unlock(&h.lock);
		pthread_join(worker, NULL);
	}
	printf("{\"threads\":%zu,\"values\":%zu,\"bytes\":%zu,\"rounds\":%d,\"c_ns\":%.0f}\n", threads,
	       values.size(), len, rounds, median(ns));
}

static double cpu_ms()
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

/*
 * A refresh every 100 ms for @seconds, each the snapshot and its parse: between two, the caches
 * and the CPU go cold, so one costs several times what back-to-back reads do on some machines.
 */
static void bench_refresh(int pid, double seconds)
{
	std::vector<uint8_t> buf(8 << 20);
	std::vector<uint64_t> values;
	struct tldh_error err;
	struct timespec next;
	size_t len = 0;
	int n = 0;

	if (tldh_snapshot(pid, buf.data(), buf.size(), &len, &err))
		die("snapshot", &err);
	clock_gettime(CLOCK_MONOTONIC, &next);
	double cpu0 = cpu_ms(), wall0 = now_ns();
	while (now_ns() - wall0 < seconds * 1e9) {
		if (tldh_snapshot(pid, buf.data(), buf.size(), &len, &err))
			die("snapshot", &err);
		parse(buf.data(), len, values);
		n++;
		next.tv_nsec += 100000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	printf("{\"refreshes\":%d,\"cpu_percent\":%.2f}\n", n, 100 * (cpu_ms() - cpu0) / ((now_ns() - wall0) / 1e6));
}

static std::vector<int> thread_ids(int pid)
{
	std::vector<int> tids;
	char path[64];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	while (d && (de = readdir(d)))
		if (atoi(de->d_name) > 0)
			tids.push_back(atoi(de->d_name));
	if (d)
		closedir(d);
	return tids;
}

static int map_fd_of(const char *pin)
{
	int fd = bpf_obj_get(pin);

	if (fd < 0)
		die("open the pinned map", NULL);
	return fd;
}

/* The floor: for every thread, pidfd_open + map update (pin) + close, pages ready. */
static double pin_floor(int map_fd, const std::vector<int> &tids, void *meta, std::vector<void *> &pages)
{
	double t0 = now_ns();

	for (size_t i = 0; i < tids.size(); i++) {
		struct tld_map_value v = { (struct tld_data_page *)pages[i], (struct tld_meta_page *)meta };
		int pidfd = syscall(SYS_pidfd_open, tids[i], O_EXCL);

		if (pidfd < 0)
			continue;
		bpf_map_update_elem(map_fd, &pidfd, &v, BPF_ANY);
		close(pidfd);
	}
	return now_ns() - t0;
}

static void unpin_all(int map_fd, const std::vector<int> &tids)
{
	for (int tid : tids) {
		int pidfd = syscall(SYS_pidfd_open, tid, O_EXCL);

		if (pidfd < 0)
			continue;
		bpf_map_delete_elem(map_fd, &pidfd);
		close(pidfd);
	}
}

static void bench_attach(int pid, int rounds, const char *pin)
{
	std::vector<int> tids = thread_ids(pid);
	std::vector<double> floor_ns, attach_ns, ratio;
	std::vector<void *> pages;
	struct tldh_error err;
	int map_fd = map_fd_of(pin);
	void *meta = aligned_alloc((size_t)getpagesize(), (size_t)getpagesize());

	memset(meta, 0, (size_t)getpagesize());
	for (size_t i = 0; i < tids.size(); i++) {
		pages.push_back(aligned_alloc((size_t)getpagesize(), (size_t)getpagesize()));
		memset(pages.back(), 0, (size_t)getpagesize());
	}
	/* A warm-up round, then the two in turn, each first in every other round. */
	for (int r = -1; r < rounds; r++) {
		double floor = 0, attach = 0, t0;

		for (int k = 0; k < 2; k++) {
			if ((r + k) % 2 == 0) {
				floor = pin_floor(map_fd, tids, meta, pages);
				unpin_all(map_fd, tids);
				continue;
			}
			t0 = now_ns();
			if (tldh_attach(pid, "bench.prio:4\nbench.flag:1", &err))
				die("attach", &err);
			attach = now_ns() - t0;
			if (tldh_detach(pid, &err))
				die("detach", &err);
		}
		if (r < 0)
			continue;
		floor_ns.push_back(floor);
		attach_ns.push_back(attach);
	}
	for (size_t i = 0; i < floor_ns.size(); i++)
		ratio.push_back(attach_ns[i] / floor_ns[i]);
	printf("{\"threads\":%zu,\"rounds\":%d,\"floor_ns\":%.0f,\"attach_ns\":%.0f,"
	       "\"ratio\":{\"p10\":%.3f,\"p50\":%.3f,\"p90\":%.3f}}\n",
	       tids.size(), rounds, median(floor_ns), median(attach_ns), percentile(ratio, 10), percentile(ratio, 50),
	       percentile(ratio, 90));
}

int main(int argc, char **argv)
{
	struct tldh_error err;
	const char *pin = getenv("TLD_PIN_DIR");
	char path[512];

	if (argc != 4) {
		fprintf(stderr, "usage: bench_helper snapshot|snapshot-handoff|attach PID ROUNDS | refresh PID SECONDS\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/tld_data_map", pin && *pin ? pin : TLD_DEFAULT_PIN_DIR);
	if (tldh_open(path, &err))
		die("open", &err);
	if (!strcmp(argv[1], "snapshot") || !strcmp(argv[1], "snapshot-handoff"))
		bench_snapshot(atoi(argv[2]), atoi(argv[3]), !strcmp(argv[1], "snapshot-handoff"));
	else if (!strcmp(argv[1], "refresh"))
		bench_refresh(atoi(argv[2]), atof(argv[3]));
	else
		bench_attach(atoi(argv[2]), atoi(argv[3]), path);
	tldh_close();
	return 0;
}
