/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Loads tld_test.bpf.c against this process's map and reads what BPF sees of its threads. */
#ifndef TLD_READER_H
#define TLD_READER_H

#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctest.h"
#include "tld.h"
#include "tld_test.h"
#include "tld_test.skel.h"

/* Opens and loads the readers; the map is this process's (opened or created by libtld). */
static inline struct tld_test_bpf *reader_open(void)
{
	struct tld_test_bpf *skel = tld_test_bpf__open();
	int map_fd, err;

	CHECK(skel, "cannot open the BPF readers: %s", strerror(errno));
	skel->rodata->target_tgid = getpid();
	map_fd = tld_map_fd();
	CHECK(map_fd >= 0, "libtld cannot open its map: %s", strerror(errno));
	err = bpf_map__reuse_fd(skel->maps.tld_data_map, map_fd);
	CHECK(!err, "cannot share the map with the readers: %s", strerror(-err));
	err = tld_test_bpf__load(skel);
	CHECK(!err, "cannot load the BPF readers (kernel without uptr or task storage?): %s",
	      strerror(-err));
	return skel;
}

/*
 * Runs the iter/task program @dump (a dump_values of either layout revision's
 * reader) limited to this process; returns the number of records.
 */
static inline int reader_dump_prog(struct bpf_program *dump, struct tld_test_record *recs, int max)
{
	/* Set field by field: in C++, LIBBPF_OPTS trips -Wmissing-field-initializers. */
	struct bpf_iter_attach_opts opts;
	union bpf_iter_link_info linfo;
	struct bpf_link *link;
	int fd, n = 0;
	ssize_t got;

	memset(&linfo, 0, sizeof(linfo));
	linfo.task.pid = getpid();
	memset(&opts, 0, sizeof(opts));
	opts.sz = sizeof(opts);
	opts.link_info = &linfo;
	opts.link_info_len = sizeof(linfo);
	link = bpf_program__attach_iter(dump, &opts);
	CHECK(link, "cannot attach the iter/task dump: %s", strerror(errno));
	fd = bpf_iter_create(bpf_link__fd(link));
	CHECK(fd >= 0, "cannot create the iterator: %s", strerror(errno));
	while (n < max && (got = read(fd, &recs[n], sizeof(*recs))) == sizeof(*recs))
		n++;
	close(fd);
	bpf_link__destroy(link);
	return n;
}

/* reader_dump_prog() with the readers of reader_open(). */
static inline int reader_dump(struct tld_test_bpf *skel, struct tld_test_record *recs, int max)
{
	return reader_dump_prog(skel->progs.dump_values, recs, max);
}

/* The record of thread @tid, or NULL. */
static inline const struct tld_test_record *reader_find(const struct tld_test_record *recs, int n,
							 pid_t tid)
{
	for (int i = 0; i < n; i++)
		if ((pid_t)recs[i].tid == tid)
			return &recs[i];
	return NULL;
}

#endif
