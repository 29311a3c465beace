/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libtld's check of a pinned map: a map of another shape is refused with the reason on the
 * same line, and a map of the shared shape is taken by a process without CAP_SYS_ADMIN (which
 * cannot read the map's BTF back) holding CAP_BPF + CAP_PERFMON.
 */
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <bpf/bpf.h>

#include "ctest.h"
#include "tld.h"

static char said[1024];

static void capture(const char *msg)
{
	size_t n = strlen(said);

	snprintf(said + n, sizeof(said) - n, "%s\n", msg);
}

static void map_of_another_shape_is_refused_saying_why(void)
{
	char path[256];
	int fd;

	ctest_uses("bpffs");
	CHECK(!mkdir(ctest_pin_dir, 0755), "mkdir %s: %s", ctest_pin_dir, strerror(errno));
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "tld_data_map", 4, 16, 8, NULL);
	CHECK(fd >= 0, "cannot create a hash map: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/tld_data_map", ctest_pin_dir);
	CHECK(!bpf_obj_pin(fd, path), "cannot pin at %s: %s", path, strerror(errno));
	tld_set_print(capture);
	CHECK(tld_map_fd() < 0, "a hash map was taken");
	CHECK(strstr(said, "refusing the map pinned at ") && strstr(said, ": map 'tld_data_map' has type 1, key size 4, value size 16"),
	      "libtld said: %s", said);
	CHECK(strchr(said, '\n')[1] == 0, "the reason is on the refusal's line: %s", said);
}

static void drop_cap_sys_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	CHECK(!syscall(SYS_capget, &hdr, data), "capget: %s", strerror(errno));
	data[0].effective &= ~(1U << CAP_SYS_ADMIN);
	data[0].permitted &= ~(1U << CAP_SYS_ADMIN);
	CHECK(!syscall(SYS_capset, &hdr, data), "capset: %s", strerror(errno));
}

static void map_is_taken_without_cap_sys_admin(void)
{
	int status, fd;
	tld_off_t k;
	pid_t pid;

	ctest_uses("bpffs, uptr task storage");
	/* Another process (with every capability) creates and pins the map. */
	pid = fork();
	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(tld_map_fd() < 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status), "the creator failed");

	drop_cap_sys_admin();
	CHECK(bpf_btf_get_fd_by_id(1) < 0 && errno == EPERM, "reading BTF by id still works: CAP_SYS_ADMIN was not dropped");
	tld_set_print(capture);
	fd = tld_map_fd();
	CHECK(fd >= 0, "the map was refused: %s", said);
	CHECK(!said[0], "libtld said: %s", said);
	k = tld_add_key_def("test.no_sys_admin", 8);
	CHECK(!tld_off_is_err(k), "tld_add_key_def: %s", strerror(-tld_off_err(k)));
	CHECK(tld_resolve_key(k), "this thread's page was not pinned: %s", strerror(errno));
}

CTEST_MAIN(CTEST(map_of_another_shape_is_refused_saying_why), CTEST(map_is_taken_without_cap_sys_admin))
