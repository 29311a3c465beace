/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A scheduler's struct sched_ext_ops before load, as tld-scx-run reads and adjusts it. */
#ifndef SCX_OPS_H
#define SCX_OPS_H

#include <stdbool.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

/* Field @name of the ops @ops before load, when it is an integer of @size bytes; else NULL. */
void *scx_ops_field(struct bpf_object *obj, struct bpf_map *ops, const char *name, unsigned int size);

/*
 * Prints the ops' flags by the running kernel's names (enum scx_ops_flags of @kbtf); a flag
 * that kernel does not know is an error here (the kernel would only say EINVAL). Sets
 * *@partial when SCX_OPS_SWITCH_PARTIAL is on. Returns 0 or -EINVAL.
 */
int scx_check_ops_flags(struct bpf_object *obj, struct bpf_map *ops, const struct btf *kbtf, bool *partial);

/* Tells the kernel the CPU hotplug generation seen before load, as scx's loaders do. */
void scx_set_hotplug_seq(struct bpf_object *obj, struct bpf_map *ops);

#endif /* SCX_OPS_H */
