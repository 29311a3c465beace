/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The user-space half of the test schedulers' conventions, for their loaders: constants
 * read from the running kernel's BTF into the "__NAME" rodata globals (enums.bpf.h), a
 * resizable array sized to the CPUs, the exit record, and one-line fatal errors.
 */
#ifndef SCX_TEST_COMMON_H
#define SCX_TEST_COMMON_H

#ifdef __bpf__
#error "scx_test/common.h is for loaders; BPF code includes scx_test/common.bpf.h"
#endif

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "exit_info.h"

#define SCX_TEST_DIE(fmt, ...)								\
	do {										\
		fprintf(stderr, "%s: " fmt "\n", program_invocation_short_name, ##__VA_ARGS__); \
		exit(1);								\
	} while (0)

/* The value of the kernel's enumerator @name (any enum), from @btf; false when it has none. */
static inline bool scx_test_kernel_enum(const struct btf *btf, const char *name, __u64 *val)
{
	__u32 n = btf__type_cnt(btf);

	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t);

			for (int i = 0; i < btf_vlen(t); i++, e++) {
				if (!strcmp(btf__name_by_offset(btf, e->name_off), name)) {
					/* Signed enums (kflag) sign-extend; the others do not. */
					*val = btf_kflag(t) ? (__u64)(__s64)e->val : (__u64)(__u32)e->val;
					return true;
				}
			}
		} else if (btf_is_enum64(t)) {
			const struct btf_enum64 *e = btf_enum64(t);

			for (int i = 0; i < btf_vlen(t); i++, e++) {
				if (!strcmp(btf__name_by_offset(btf, e->name_off), name)) {
					*val = btf_enum64_value(e);
					return true;
				}
			}
		}
	}
	return false;
}

/* The running kernel's BTF, for SCX_TEST_ENUM_SET; fatal when it cannot be read. */
static inline struct btf *scx_test_kernel_btf(void)
{
	struct btf *btf = btf__load_vmlinux_btf();

	if (!btf)
		SCX_TEST_DIE("cannot read the kernel's BTF: %s", strerror(errno));
	return btf;
}

/*
 * Fills the rodata global "__NAME" (enums.bpf.h) from the running kernel's enumerator NAME.
 * A constant the kernel lacks is fatal: the scheduler would run with 0 in its place.
 */
#define SCX_TEST_ENUM_SET(skel, btf, name)						\
	do {										\
		if (!scx_test_kernel_enum(btf, #name, (__u64 *)&(skel)->rodata->__##name)) \
			SCX_TEST_DIE("the running kernel has no " #name);		\
	} while (0)

/*
 * Gives the array declared RESIZABLE_ARRAY(elfsec, name) @n elements, before loading, and
 * points the skeleton at its new initial value (the section map is reallocated).
 */
#define SCX_TEST_RESIZE(skel, elfsec, name, n)						\
	do {										\
		size_t __sz;								\
		int __err = bpf_map__set_value_size((skel)->maps.elfsec##_##name,	\
				sizeof((skel)->elfsec##_##name->name[0]) * (n));	\
		if (__err)								\
			SCX_TEST_DIE("cannot resize " #name " to %zu: %s", (size_t)(n), strerror(-__err)); \
		(skel)->elfsec##_##name = bpf_map__initial_value((skel)->maps.elfsec##_##name, &__sz); \
	} while (0)

/* The debug dump kept beside an exit record (SCX_TEST_EXIT_DEFINE), as the kernel's default. */
#define SCX_TEST_DUMP_LEN 32768

/* Sizes the debug dump buffer of exit record @name (before load). */
#define SCX_TEST_EXIT_DUMP_INIT(skel, name)						\
	do {										\
		SCX_TEST_RESIZE(skel, data, name##_dump, SCX_TEST_DUMP_LEN);		\
		(skel)->rodata->name##_dump_len = SCX_TEST_DUMP_LEN;			\
	} while (0)

#endif /* SCX_TEST_COMMON_H */
