/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The scheduler's ops table before load, for tld-scx-run (scx_ops.h): its fields through
 * the object's BTF, its flags checked against the running kernel, hotplug_seq.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "scx_globals.h"
#include "scx_ops.h"

/* Field @name of the ops @ops before load, when it is an integer of @size bytes; else NULL. */
void *scx_ops_field(struct bpf_object *obj, struct bpf_map *ops, const char *name, unsigned int size)
{
	const struct btf *btf = bpf_object__btf(obj);
	const struct btf_type *t = btf ? btf__type_by_id(btf, bpf_map__btf_value_type_id(ops)) : NULL;
	const struct btf_member *m;
	const struct btf_type *mt;
	size_t sz = 0;
	char *data = bpf_map__initial_value(ops, &sz);

	if (!t || !data || !btf_is_struct(t) || !(m = scx_btf_member(btf, t, name)))
		return NULL;
	mt = scx_btf_resolved(btf, m->type);
	if (!mt || btf__resolve_size(btf, m->type) != size || (!btf_is_int(mt) && !btf_is_any_enum(mt)))
		return NULL;
	return data + btf_member_bit_offset(t, m - btf_members(t)) / 8;
}

/*
 * The ops' flags, named from the running kernel's enum scx_ops_flags; a flag that kernel
 * does not know is an error here (the kernel would only say EINVAL). Sets *@partial when
 * SCX_OPS_SWITCH_PARTIAL is on. Returns 0 or -EINVAL.
 */
int scx_check_ops_flags(struct bpf_object *obj, struct bpf_map *ops, const struct btf *kbtf, bool *partial)
{
	const __u64 *flags = scx_ops_field(obj, ops, "flags", 8);
	const struct btf_type *t;
	__u64 known = 0, left;
	char names[512] = "";
	size_t at = 0;
	int id;

	*partial = false;
	if (!flags || !*flags)
		return 0;
	id = kbtf ? btf__find_by_name_kind(kbtf, "scx_ops_flags", BTF_KIND_ENUM64) : -1;
	if (id < 0 && kbtf)
		id = btf__find_by_name_kind(kbtf, "scx_ops_flags", BTF_KIND_ENUM);
	if (id < 0) {
		printf("tld-scx-run: ops flags 0x%llx (the running kernel's BTF does not name them)\n", (unsigned long long)*flags);
		return 0;
	}
	t = btf__type_by_id(kbtf, id);
	for (int i = 0; i < btf_vlen(t); i++) {
		const char *n;
		__u64 bit;

		if (btf_is_enum64(t)) {
			n = btf__name_by_offset(kbtf, btf_enum64(t)[i].name_off);
			bit = btf_enum64_value(btf_enum64(t) + i);
		} else {
			n = btf__name_by_offset(kbtf, btf_enum(t)[i].name_off);
			bit = (__u32)btf_enum(t)[i].val;
		}
		/* Single bits only: the enum also has masks such as SCX_OPS_ALL_FLAGS. */
		if (!bit || (bit & (bit - 1)))
			continue;
		known |= bit;
		if (!(*flags & bit))
			continue;
		at += snprintf(names + at, at < sizeof(names) ? sizeof(names) - at : 0, "%s%s", at ? " | " : "", n);
		if (!strcmp(n, "SCX_OPS_SWITCH_PARTIAL"))
			*partial = true;
	}
	left = *flags & ~known;
	if (left) {
		fprintf(stderr, "tld-scx-run: the ops' flags 0x%llx include 0x%llx, which this kernel does not know (it knows %s%s0x%llx); "
			"rebuild the scheduler against this kernel's vmlinux.h\n",
			(unsigned long long)*flags, (unsigned long long)left, names, at ? ", all flags " : "", (unsigned long long)known);
		return -EINVAL;
	}
	printf("tld-scx-run: ops flags %s%s\n", names,
	       *partial ? " (only SCHED_EXT tasks run on it: the command is started in SCHED_EXT)" : "");
	return 0;
}

/* scx's loaders tell the kernel which CPU hotplug generation they saw: do the same. */
void scx_set_hotplug_seq(struct bpf_object *obj, struct bpf_map *ops)
{
	__u64 *seq = scx_ops_field(obj, ops, "hotplug_seq", 8);
	FILE *f;
	unsigned long long v;

	if (!seq || !(f = fopen("/sys/kernel/sched_ext/hotplug_seq", "r")))
		return;
	if (fscanf(f, "%llu", &v) == 1)
		*seq = v;
	fclose(f);
}
