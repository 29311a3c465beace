/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * How the kernel ended a scheduler, as tld-scx-run tells it: the exit record the object
 * keeps (scx_run_exit of scx.bpf.h, or any struct shaped like scx's user_exit_info), else
 * sched_ext's own lines in the kernel log; then the likely cause (a kernel constant left 0,
 * a rodata global still at its default).
 */
#ifndef SCX_EXIT_H
#define SCX_EXIT_H

#include <stdbool.h>

#include "scx_globals.h"

/* How the kernel ended the scheduler, as its object records it (ops.exit). */
struct scx_exit_record {
	const volatile __s32 *kind;
	const volatile __s64 *exit_code;    /* NULL when the record has none */
	const char *reason, *msg;
	unsigned int reason_len, msg_len;
	const char *dump;                   /* the kernel's debug dump, when the object keeps one */
	unsigned int dump_len;
};

/*
 * Whether global @v is a struct recording the exit as scx's user_exit_info does: an int
 * "kind", char arrays "reason" and "msg", maybe an 8-byte "exit_code"; fills @e to read it
 * live (after load).
 */
bool scx_exit_record_of(const struct btf *btf, const struct scx_global *v, struct scx_exit_record *e);

/* Whether @e has recorded an exit (its kind is set). */
bool scx_exit_recorded(const struct scx_exit_record *e);

/* The kernel log from now on (/dev/kmsg), or -1 when it cannot be read. */
int scx_kmsg_open(void);

/*
 * Prints how the kernel ended the scheduler: from @e when it recorded the exit, else from
 * the kernel log @kmsg (scx_kmsg_open() before attaching); then the likely cause among @g.
 */
void scx_report_exit(const struct scx_exit_record *e, const struct scx_globals *g, int kmsg);

#endif /* SCX_EXIT_H */
