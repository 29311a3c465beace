/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the host can do and what is wrong with the pin, for `tldctl doctor`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
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

/* Counts loaded programs that use map @id, and those that use any of @others. */
static void count_users(__u32 id, const __u32 *others, unsigned n_others, struct tldh_host *h)
{
	__u32 prog_id = 0;

	while (!bpf_prog_get_next_id(prog_id, &prog_id)) {
		struct bpf_prog_info info = {};
		__u32 maps[64], len = sizeof(info);
		bool uses_pin = false, uses_other = false;
		int fd = bpf_prog_get_fd_by_id(prog_id);

		if (fd < 0)
			continue;
		info.nr_map_ids = 64;
		info.map_ids = (__u64)(unsigned long)maps;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len)) {
			for (__u32 i = 0; i < info.nr_map_ids && i < 64; i++) {
				uses_pin |= maps[i] == id;
				for (unsigned j = 0; j < n_others; j++)
					uses_other |= maps[i] == others[j];
			}
		}
		close(fd);
		h->pin_users += uses_pin;
		h->other_users += uses_other;
	}
}

/* The pinned map, and other loaded maps of the same name (a stale pin shows up here). */
static void check_pin(struct tldh_host *h)
{
	__u32 others[64], n_others = 0, id = 0;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
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
	h->pin_ok = !tld_map_check(fd);
	tld_set_print(NULL);
	if (!h->pin_ok)
		snprintf(h->pin_problem, sizeof(h->pin_problem), "%.255s", tldh_captured());
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		h->pin_map_id = info.id;
	close(fd);

	while (!bpf_map_get_next_id(id, &id)) {
		struct bpf_map_info mi = {};
		__u32 mlen = sizeof(mi);
		int mfd = bpf_map_get_fd_by_id(id);

		if (mfd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(mfd, &mi, &mlen) && !strcmp(mi.name, TLD_MAP_NAME) &&
		    mi.id != h->pin_map_id && n_others < 64)
			others[n_others++] = mi.id;
		close(mfd);
	}
	h->other_maps = n_others;
	count_users(h->pin_map_id, others, n_others, h);
	if (h->pin_ok && h->other_users && !h->pin_users)
		snprintf(h->pin_problem, sizeof(h->pin_problem),
			 "stale pin: no loaded program uses the pinned map (id %u), while %u program(s) "
			 "use another map named " TLD_MAP_NAME "; remove the pin and restart the scheduler",
			 h->pin_map_id, h->other_users);
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
		fd = tld_map_create();
		h->uptr = fd >= 0;
		if (fd >= 0)
			close(fd);
		if (h->bpffs)
			check_pin(h);
	}
	tldh_ok(err);
	return 0;
}
