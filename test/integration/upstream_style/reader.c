// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The loader of reader.bpf.c, as a scheduler's loader shares the map: tld_data_map is pinned
 * at PIN, taken when it exists and created (and pinned) otherwise.
 *
 * Usage: reader OBJ PIN PID A B   prints the iterator's "TID FOUND A B" lines for process PID
 *        reader OBJ PIN 0         loads only: creates and pins the map when absent
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

struct cfg {
	int tgid;
	char a[62];
	char b[62];
};

static int fail(const char *what, int err)
{
	fprintf(stderr, "reader: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);
	union bpf_iter_link_info linfo = {};
	struct bpf_object *obj;
	struct bpf_map *cfg_map;
	struct bpf_link *link;
	struct cfg *cfg;
	char buf[4096];
	size_t size;
	ssize_t n;
	int pid, fd, err;

	if (argc < 4 || ((pid = atoi(argv[3])) > 0 && argc != 6)) {
		fprintf(stderr, "usage: reader OBJ PIN PID A B | reader OBJ PIN 0\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return fail("open", errno);
	err = bpf_map__set_pin_path(bpf_object__find_map_by_name(obj, "tld_data_map"), argv[2]);
	if (err)
		return fail("pin path", err);
	cfg_map = bpf_object__find_map_by_name(obj, ".rodata.cfg");
	cfg = cfg_map ? bpf_map__initial_value(cfg_map, &size) : NULL;
	if (!cfg || size < sizeof(*cfg))
		return fail("no cfg", EINVAL);
	cfg->tgid = pid;
	if (pid > 0) {
		snprintf(cfg->a, sizeof(cfg->a), "%s", argv[4]);
		snprintf(cfg->b, sizeof(cfg->b), "%s", argv[5]);
	}
	err = bpf_object__load(obj);
	if (err)
		return fail("load", err);
	if (pid <= 0) {
		printf("loaded\n");
		return 0;
	}
	linfo.task.pid = pid;
	opts.link_info = &linfo;
	opts.link_info_len = sizeof(linfo);
	link = bpf_program__attach_iter(bpf_object__find_program_by_name(obj, "dump"), &opts);
	if (!link)
		return fail("attach", errno);
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0)
		return fail("iter", errno);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, stdout);
	close(fd);
	bpf_link__destroy(link);
	bpf_object__close(obj);
	return n < 0 ? fail("read", errno) : 0;
}
