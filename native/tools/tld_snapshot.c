/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tld-snapshot: one process's hints and scheduling from a shell, for guests
 * without Node (the VM runner puts it in every guest). Reads PID through
 * libtldhelper every --interval-ms for --count rounds and prints one JSON line
 * per thread with a data page and each round: its integer hints (keys of 1, 2,
 * 4 or 8 bytes) and its tldh_sched_rec, DSQ included on sched_ext kernels.
 * With --trace it also traces the process's scheduling (tldh_trace_start) and
 * prints each event as a JSON line ("ev"), then {"traceEnd":true,"lost":N}:
 * what `tldctl vm run --trace` turns into a Perfetto trace on the host.
 * Without PID it takes the first other process that uses task local data.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tldhelper.h"
#include "tldh_records.h"
#include "tld_layout.h"

struct key {
	const char *name;
	unsigned size, offset;
};

static void print_value(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;

	memcpy(&v, p, size); /* little-endian: the low bytes */
	printf("%llu", (unsigned long long)v);
}

/* Keys a metadata page of the largest page size holds. */
#define MAX_KEYS TLD_MAX_KEYS_FOR(TLD_PAGE_SIZE_MAX)

/*
 * The published keys of the metadata page at @m (@len bytes, as long as the
 * map's page size makes it): at most @cap into @keys.
 */
static int parse_keys(const struct tld_meta_page *m, size_t len, struct key *keys, int cap)
{
	size_t fit = len < sizeof(*m) ? 0 : (len - sizeof(*m)) / sizeof(m->entries[0]);
	unsigned off = 0;
	int n = 0;

	for (unsigned i = 0; i < m->cnt && i < fit && n < cap; i++) {
		const struct tld_meta_entry *e = &m->entries[i];

		if (!e->size || !memchr(e->name, 0, sizeof(e->name)))
			break;
		keys[n++] = (struct key){ e->name, e->size, off };
		off += TLD_ROUND_UP(e->size);
	}
	return n;
}

static void print_events(const uint8_t *buf, size_t len)
{
	static const char *const kinds[] = { [TLDH_TRACE_OFF_CPU] = "off-cpu", [TLDH_TRACE_ON_CPU] = "on-cpu",
					     [TLDH_TRACE_WAKEUP] = "wakeup" };

	for (size_t off = 0; off + sizeof(struct tldh_rec) <= len;) {
		const struct tldh_rec *h = (const void *)(buf + off);
		const struct tldh_trace_rec *e = (const void *)(h + 1);

		if (off + sizeof(*h) + h->size > len)
			break;
		if (h->type == TLDH_REC_TRACE && h->size >= sizeof(*e) && e->kind >= TLDH_TRACE_OFF_CPU &&
		    e->kind <= TLDH_TRACE_WAKEUP) {
			printf("{\"ev\":\"%s\",\"ts\":\"%llu\",\"tid\":%u,\"cpu\":%u,\"waker\":%u,\"state\":%u",
			       kinds[e->kind], (unsigned long long)e->ts, e->tid, e->cpu, e->waker, e->arg);
			if (e->flags & TLDH_TRACE_HAS_DSQ)
				printf(",\"dsqId\":\"%llu\"", (unsigned long long)e->dsq_id);
			printf("}\n");
		}
		off += sizeof(*h) + h->size;
	}
}

/* The first process in the map's list other than this one, or -ESRCH. */
static int first_process(uint8_t *buf, size_t cap)
{
	struct tldh_error err;
	size_t len = 0;

	if (tldh_list(buf, cap, &len, &err) || len > cap)
		return -ESRCH;
	for (size_t off = 0; off + sizeof(struct tldh_rec) <= len;) {
		const struct tldh_rec *h = (const void *)(buf + off);
		const struct tldh_thread_rec *t = (const void *)(h + 1);

		if (h->type == TLDH_REC_THREAD && (int)t->tgid != getpid())
			return (int)t->tgid;
		off += sizeof(*h) + h->size;
	}
	return -ESRCH;
}

static void print_round(const uint8_t *buf, size_t len, int round)
{
	const struct tldh_thread_rec *t = NULL;
	const uint8_t *data = NULL;
	static struct key keys[MAX_KEYS];
	int nkeys = 0;

	for (size_t off = 0; off + sizeof(struct tldh_rec) <= len;) {
		const struct tldh_rec *h = (const void *)(buf + off);
		const uint8_t *body = (const uint8_t *)(h + 1);

		if (off + sizeof(*h) + h->size > len)
			break;
		if (h->type == TLDH_REC_META && h->size >= sizeof(struct tldh_meta_rec)) {
			const struct tldh_meta_rec *m = (const void *)body;

			nkeys = parse_keys((const void *)(m + 1), m->len, keys, MAX_KEYS);
		} else if (h->type == TLDH_REC_THREAD && h->size >= sizeof(*t)) {
			t = (const void *)body;
			/* A first-revision page whose data is not at its start is upstream's bug: no values there. */
			data = t->flags & TLDH_THREAD_HAS_DATA && t->start < t->data_len &&
					       (t->layout != TLD_LAYOUT_START_IN_PAGE || t->start == TLD_DATA_START) ?
				       body + sizeof(*t) + t->start :
				       NULL;
		} else if (h->type == TLDH_REC_SCHED && h->size >= sizeof(struct tldh_sched_rec) && t && data) {
			const struct tldh_sched_rec *s = (const void *)body;

			printf("{\"round\":%d,\"pid\":%u,\"tid\":%u,\"comm\":\"%.16s\",\"values\":{", round, t->tgid,
			       t->tid, t->comm);
			for (int i = 0, first = 1; i < nkeys; i++) {
				if (keys[i].size != 1 && keys[i].size != 2 && keys[i].size != 4 && keys[i].size != 8)
					continue;
				if (t->start + keys[i].offset + keys[i].size > t->data_len)
					continue;
				printf("%s\"%s\":", first ? "" : ",", keys[i].name);
				print_value(data + keys[i].offset, keys[i].size);
				first = 0;
			}
			printf("},\"sched\":{\"now\":%llu,\"cpu\":%u,\"state\":%u,\"policy\":%u,\"onCpu\":%u,"
			       "\"runtime\":%llu,\"nvcsw\":%llu,\"nivcsw\":%llu",
			       (unsigned long long)s->now, s->cpu, s->state, s->policy, s->on_cpu,
			       (unsigned long long)s->runtime, (unsigned long long)s->nvcsw,
			       (unsigned long long)s->nivcsw);
			if (s->has & TLDH_SCHED_HAS_INFO)
				printf(",\"runDelay\":%llu", (unsigned long long)s->run_delay);
			if (s->has & TLDH_SCHED_HAS_SCX) {
				printf(",\"scx\":{\"weight\":%u,\"slice\":%llu,\"flags\":%u", s->weight,
				       (unsigned long long)s->slice, s->scx_flags);
				if (s->has & TLDH_SCHED_HAS_DSQ)
					printf(",\"dsqId\":\"%llu\"", (unsigned long long)s->dsq_id);
				printf("}");
			}
			printf("}}\n");
			t = NULL;
		}
		off += sizeof(*h) + h->size;
	}
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: tld-snapshot [PID] [--count N] [--interval-ms MS] [--pin PATH] [--trace]\n"
		   "One JSON line per thread with hints and round: its integer hints and its scheduling;\n"
		   "--trace adds its scheduling events. Without PID: the first process with hints.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "pin", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "trace", no_argument, NULL, 't' },
		{ 0 },
	};
	struct tldh_error err = { 0 };
	int count = 1, interval = 100, c, pid = 0, rc = 0;
	bool trace = false;
	uint64_t lost = 0;
	const char *pin = NULL;
	size_t cap = 1 << 20, len = 0;
	uint8_t *buf;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': count = atoi(optarg); break;
		case 'i': interval = atoi(optarg); break;
		case 'p': pin = optarg; break;
		case 'h': usage(stdout); return 0;
		case 't': trace = true; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc - 1 || (optind == argc - 1 && (pid = atoi(argv[optind])) <= 0) || count <= 0 || interval < 0) {
		usage(stderr);
		return 2;
	}
	if (tldh_open(pin, &err)) {
		fprintf(stderr, "tld-snapshot: %s\n", err.message);
		return 1;
	}
	buf = malloc(cap);
	if (buf && !pid)
		pid = first_process(buf, cap);
	if (pid <= 0) {
		fprintf(stderr, "tld-snapshot: no process uses task local data\n");
		free(buf);
		return 1;
	}
	if (trace && tldh_trace_start(pid, &err)) {
		fprintf(stderr, "tld-snapshot: %s\n", err.message);
		free(buf);
		return 1;
	}
	for (int round = 0; buf && round < count; round++) {
		rc = tldh_snapshot(pid, buf, cap, &len, &err);
		if (rc == -ENOSPC) {
			free(buf);
			cap = len * 2;
			buf = malloc(cap);
			round--;
			continue;
		}
		if (rc) {
			fprintf(stderr, "tld-snapshot: %s\n", err.message);
			break;
		}
		print_round(buf, len, round);
		if (trace) {
			rc = tldh_trace_read(buf, cap, &len, &lost, &err);
			if (rc == -ENOSPC) {
				free(buf);
				cap = len * 2;
				buf = malloc(cap);
				rc = buf ? tldh_trace_read(buf, cap, &len, &lost, &err) : -ENOMEM;
			}
			if (rc) {
				fprintf(stderr, "tld-snapshot: %s\n", err.message);
				break;
			}
			print_events(buf, len);
		}
		fflush(stdout);
		if (round + 1 < count)
			usleep(interval * 1000);
	}
	if (trace) {
		printf("{\"traceEnd\":true,\"lost\":%llu}\n", (unsigned long long)lost);
		tldh_trace_stop();
	}
	free(buf);
	tldh_close();
	return rc ? 1 : 0;
}
