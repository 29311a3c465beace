/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the host can do and what is wrong with the pin, for `tldctl doctor`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "tldh_internal.h"
#include "../src/tld_internal.h"

#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39

static unsigned long long effective_caps(void)
{
	unsigned long long caps = 0;
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return caps;
}

TLDH_HIDDEN bool tldh_kernel_has_sched_ext(void)
{
	struct btf *btf;
	bool found;

	if (!access("/sys/kernel/sched_ext", F_OK))
		return true;
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return false;
	found = btf__find_by_name_kind(btf, "sched_ext_ops", BTF_KIND_STRUCT) >= 0;
	btf__free(btf);
	return found;
}

/*
 * The pin check: every loaded map named tld_data_map, who uses each (loaded
 * programs, and tasks with an entry), and where each is pinned in bpffs. A
 * pin is stale only when nothing uses its map; the advice never removes a pin
 * in use, and names the folders of the others.
 */
#define MAX_TLD_MAPS 64
#define MAX_PINS_SHOWN 3
#define BPFFS_ROOT "/sys/fs/bpf"
#define BPFFS_MAX_DEPTH 8
#define BPFFS_MAX_ENTRIES 20000

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

struct tld_map_use {
	__u32 id;
	int fd;
	__u32 value_size;
	unsigned progs, tasks;
	unsigned n_pins;
	char pins[MAX_PINS_SHOWN][PATH_MAX];
};

struct tld_maps {
	struct tld_map_use m[MAX_TLD_MAPS];
	unsigned n;
	bool more; /* more maps of the name than we look at */
};

static struct tld_map_use *find_map(struct tld_maps *maps, __u32 id)
{
	for (unsigned i = 0; i < maps->n; i++)
		if (maps->m[i].id == id)
			return &maps->m[i];
	return NULL;
}

/* Every loaded map named tld_data_map and the one with @pinned_id, which comes first. */
static void collect_maps(struct tld_maps *maps, __u32 pinned_id)
{
	__u32 id = 0;

	while (!bpf_map_get_next_id(id, &id)) {
		struct bpf_map_info mi = {};
		__u32 len = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		/* The pinned map whatever its name (a wrong one may be pinned there), and those named ours. */
		if (bpf_obj_get_info_by_fd(fd, &mi, &len) || (strcmp(mi.name, TLD_MAP_NAME) && mi.id != pinned_id)) {
			close(fd);
			continue;
		}
		if (maps->n == MAX_TLD_MAPS) {
			maps->more = true;
			close(fd);
			continue;
		}
		maps->m[maps->n++] = (struct tld_map_use){ .id = mi.id, .fd = fd, .value_size = mi.value_size };
	}
	for (unsigned i = 1; i < maps->n; i++) {
		if (maps->m[i].id == pinned_id) {
			struct tld_map_use t = maps->m[0];

			maps->m[0] = maps->m[i];
			maps->m[i] = t;
		}
	}
}

/* Counts the loaded programs that use each map. */
static void count_programs(struct tld_maps *maps)
{
	__u32 prog_id = 0;

	while (!bpf_prog_get_next_id(prog_id, &prog_id)) {
		struct bpf_prog_info info = {};
		__u32 ids[256], len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(prog_id);

		if (fd < 0)
			continue;
		info.nr_map_ids = 256;
		info.map_ids = (__u64)(unsigned long)ids;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			for (__u32 i = 0; i < info.nr_map_ids && i < 256; i++) {
				struct tld_map_use *u = find_map(maps, ids[i]);

				if (u)
					u->progs++;
			}
		}
		close(fd);
	}
}

/* Counts, for each map, the tasks that have an entry in it (a lookup by each thread's pidfd). */
static void count_tasks(struct tld_maps *maps)
{
	__u8 value[512];
	struct dirent *pe, *te;
	DIR *procs, *tasks;
	char path[64];

	procs = opendir("/proc");
	if (!procs)
		return;
	while ((pe = readdir(procs))) {
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.16s/task", pe->d_name);
		tasks = opendir(path);
		if (!tasks)
			continue;
		while ((te = readdir(tasks))) {
			int tid = atoi(te->d_name), pidfd;

			if (tid <= 0)
				continue;
			pidfd = syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
			if (pidfd < 0)
				continue;
			for (unsigned i = 0; i < maps->n; i++)
				if (maps->m[i].value_size <= sizeof(value) &&
				    !bpf_map_lookup_elem(maps->m[i].fd, &pidfd, value))
					maps->m[i].tasks++;
			close(pidfd);
		}
		closedir(tasks);
	}
	closedir(procs);
}

/* The map behind the bpffs object at @path, read-only, or -1 (not a map, or not ours to open). */
static int open_pinned_map(const char *path)
{
	union bpf_attr attr;
	char link[64], target[32];
	ssize_t n;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (__u64)(unsigned long)path;
	attr.file_flags = BPF_F_RDONLY;
	fd = syscall(__NR_bpf, BPF_OBJ_GET, &attr, sizeof(attr));
	if (fd < 0)
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0 || (target[n] = 0, strcmp(target, "anon_inode:bpf-map"))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Records, under @dir (a path of @len bytes in @path), the pins of the maps in @maps. */
static void find_pins(struct tld_maps *maps, char *path, size_t len, int depth, unsigned *budget)
{
	struct dirent *de;
	DIR *dir;

	if (depth > BPFFS_MAX_DEPTH)
		return;
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)) && *budget) {
		size_t n = strlen(de->d_name);

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (len + 1 + n >= PATH_MAX)
			continue;
		(*budget)--;
		path[len] = '/';
		memcpy(path + len + 1, de->d_name, n + 1);
		if (de->d_type == DT_DIR) {
			find_pins(maps, path, len + 1 + n, depth + 1, budget);
		} else if (de->d_type == DT_REG) {
			struct bpf_map_info mi = {};
			__u32 mlen = sizeof(mi);
			int fd = open_pinned_map(path);
			struct tld_map_use *u;

			if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &mi, &mlen) && (u = find_map(maps, mi.id))) {
				if (u->n_pins < MAX_PINS_SHOWN)
					memcpy(u->pins[u->n_pins], path, len + 1 + n + 1);
				u->n_pins++;
			}
			if (fd >= 0)
				close(fd);
		}
		path[len] = 0;
	}
	closedir(dir);
}

/* Appends to @buf (of @cap bytes, holding a string) as snprintf would. */
static __attribute__((format(printf, 3, 4))) void append(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strnlen(buf, cap);
	va_list ap;

	if (len + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

/* "map id N (P programs, T tasks), pinned in DIR[, DIR]" (or "not pinned"). */
static void describe_map(char *buf, size_t cap, const struct tld_map_use *u)
{
	append(buf, cap, "map id %u (%u program(s), %u task(s)), ", u->id, u->progs, u->tasks);
	if (!u->n_pins) {
		append(buf, cap, "not pinned");
		return;
	}
	append(buf, cap, "pinned as ");
	for (unsigned i = 0; i < u->n_pins && i < MAX_PINS_SHOWN; i++)
		append(buf, cap, "%s%s", i ? ", " : "", u->pins[i]);
	if (u->n_pins > MAX_PINS_SHOWN)
		append(buf, cap, " and %u more", u->n_pins - MAX_PINS_SHOWN);
}

static bool in_use(const struct tld_map_use *u)
{
	return u->progs || u->tasks;
}

/*
 * The verdict and the advice, from the maps' users and pins; maps->m[0] is the
 * pinned one. Other maps in use are a problem for this pin only when they take
 * what it lacks: its map has no user at all (a stale pin), hints that no
 * program reads while programs use another map, or programs that read no
 * hints while tasks write into another map. A map with both, beside others,
 * is a world of its own (another TLD_PIN_DIR) and passes.
 */
static void judge(struct tldh_host *h, const struct tld_maps *maps)
{
	const struct tld_map_use *pinned = &maps->m[0];
	char *adv = h->pin_advice;
	size_t cap = sizeof(h->pin_advice);
	unsigned others_in_use = 0, others_with_progs = 0, others_with_tasks = 0;

	h->pin_users = pinned->progs;
	h->pin_tasks = pinned->tasks;
	for (unsigned i = 1; i < maps->n; i++) {
		h->other_users += maps->m[i].progs;
		others_in_use += in_use(&maps->m[i]);
		others_with_progs += !!maps->m[i].progs;
		others_with_tasks += !!maps->m[i].tasks;
	}
	if (!h->pin_ok) {
		/* Wrong shape: the problem is libtld's reason; remove it only when nothing uses it. */
		if (in_use(pinned))
			snprintf(adv, cap, "the map pinned there is in use (%u program(s), %u task(s)): stop "
				 "those, or use another pin folder (--pin, TLD_PIN_DIR); do not remove a pin in use",
				 pinned->progs, pinned->tasks);
		else
			snprintf(adv, cap, "nothing uses it: sudo rm %s, then restart the programs that use "
				 "task local data", h->pin_path);
		return;
	}
	if (!in_use(pinned) && others_in_use)
		snprintf(h->pin_problem, sizeof(h->pin_problem),
			 "stale pin: no program and no task uses the map pinned here (id %u), while %u other "
			 "map(s) named " TLD_MAP_NAME " are in use", pinned->id, others_in_use);
	else if (!pinned->progs && pinned->tasks && others_with_progs)
		snprintf(h->pin_problem, sizeof(h->pin_problem),
			 "no loaded program reads the hints of the %u task(s) on the map pinned here (id %u), "
			 "while programs use %u other map(s) named " TLD_MAP_NAME, pinned->tasks, pinned->id,
			 others_with_progs);
	else if (pinned->progs && !pinned->tasks && others_with_tasks)
		snprintf(h->pin_problem, sizeof(h->pin_problem),
			 "the %u program(s) on the map pinned here (id %u) read no task's hints, while tasks "
			 "write into %u other map(s) named " TLD_MAP_NAME, pinned->progs, pinned->id,
			 others_with_tasks);
	else
		return;
	append(adv, cap, "in use: ");
	for (unsigned i = 1, k = 0; i < maps->n; i++) {
		if (!in_use(&maps->m[i]))
			continue;
		append(adv, cap, "%s", k++ ? "; " : "");
		describe_map(adv, cap, &maps->m[i]);
	}
	append(adv, cap, ". Give the programs and the processes that should share hints one pin folder "
	       "(TLD_PIN_DIR for applications, --pin for tldctl)");
	if (in_use(pinned))
		append(adv, cap, "; this pin is in use, and so are those: remove none of them");
	else
		append(adv, cap, "; this pin is stale: point them at it, or remove it (sudo rm %s)", h->pin_path);
	for (unsigned i = 1; i < maps->n; i++) {
		const struct tld_map_use *u = &maps->m[i];

		if (in_use(u) || !u->n_pins)
			continue;
		append(adv, cap, ". Unused (stale), safe to remove: map id %u, ", u->id);
		for (unsigned j = 0; j < u->n_pins && j < MAX_PINS_SHOWN; j++)
			append(adv, cap, "%ssudo rm %s", j ? "; " : "", u->pins[j]);
	}
	if (maps->more)
		append(adv, cap, " (only the first %d maps of the name were looked at)", MAX_TLD_MAPS);
}

/* The pinned map, and other loaded maps of the same name (a stale or split pin shows up here). */
static void check_pin(struct tldh_host *h)
{
	struct tld_maps *maps;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	unsigned budget = BPFFS_MAX_ENTRIES;
	char path[PATH_MAX] = BPFFS_ROOT;
	int fd = bpf_obj_get(h->pin_path);

	if (fd < 0) {
		if (errno != ENOENT)
			snprintf(h->pin_problem, sizeof(h->pin_problem), "cannot open the pin: %s%s",
				 strerror(errno), tldh_priv_hint(-errno));
		return;
	}
	h->pin_exists = 1;
	tldh_capture_reset();
	tld_set_print(tldh_capture_first);
	h->pin_ok = !tld_map_check(fd, NULL);
	tld_set_print(NULL);
	if (!h->pin_ok)
		snprintf(h->pin_problem, sizeof(h->pin_problem), "%.255s", tldh_captured());
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		h->pin_map_id = info.id;
	close(fd);

	maps = calloc(1, sizeof(*maps));
	if (!maps)
		return;
	collect_maps(maps, h->pin_map_id);
	if (maps->n && maps->m[0].id == h->pin_map_id) {
		h->other_maps = maps->n - 1;
		count_programs(maps);
		count_tasks(maps);
		find_pins(maps, path, strlen(path), 0, &budget);
		judge(h, maps);
	}
	for (unsigned i = 0; i < maps->n; i++)
		close(maps->m[i].fd);
	free(maps);
}

int32_t tldh_host_report(const char *pin_path, struct tldh_host *h, struct tldh_error *err)
{
	unsigned long long caps = effective_caps();
	struct utsname u;
	struct statfs fs;
	int fd;

	memset(h, 0, sizeof(*h));
	if (!uname(&u))
		snprintf(h->kernel, sizeof(h->kernel), "%.63s", u.release);
	h->btf = !access("/sys/kernel/btf/vmlinux", R_OK);
	h->bpffs = !statfs("/sys/fs/bpf", &fs) && fs.f_type == BPF_FS_MAGIC;
	h->cap_bpf = !!(caps & (1ULL << CAP_BPF_BIT | 1ULL << CAP_SYS_ADMIN_BIT));
	h->cap_perfmon = !!(caps & (1ULL << CAP_PERFMON_BIT | 1ULL << CAP_SYS_ADMIN_BIT));
	h->sched_ext = tldh_kernel_has_sched_ext();
	tldh_resolve_pin(pin_path, h->pin_path, sizeof(h->pin_path));
	if (h->cap_bpf) {
		tld_set_print(NULL);
		fd = tld_map_create(TLD_LAYOUT_START_IN_PAGE);
		h->uptr = fd >= 0;
		if (fd >= 0)
			close(fd);
		if (h->bpffs)
			check_pin(h);
	}
	tldh_ok(err);
	return 0;
}
