/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A sched_ext scheduler object's global variables, as tld-scx-run sees them through the
 * object's BTF: what a loader in the scx style does before loading (kernel constants into
 * the "__NAME" rodata globals, arrays declared resizable sized to the CPUs, rodata set from
 * the command line), and what it reads afterwards (counters, histograms, the exit record).
 */
#ifndef SCX_GLOBALS_H
#define SCX_GLOBALS_H

#include <stdbool.h>
#include <stddef.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

enum scx_global_kind {
	SCX_GLOBAL_INT,    /* an integer of 1, 2, 4 or 8 bytes (char included) */
	SCX_GLOBAL_BOOL,
	SCX_GLOBAL_ENUM,
	SCX_GLOBAL_ARRAY,
	SCX_GLOBAL_STRUCT, /* struct or union */
	SCX_GLOBAL_OTHER,  /* pointers, floats... */
};

struct scx_global {
	const char *name;
	const char *sec;        /* its data section: ".rodata", ".bss", ".data.NAME"... */
	struct bpf_map *map;    /* the section's internal map */
	unsigned int offset;    /* in the section */
	unsigned int size;
	int type_id;            /* in the object's BTF, without typedefs and qualifiers */
	enum scx_global_kind kind;
	bool is_signed;
	bool rodata;
	bool set_by_user;       /* by --set */
	bool set_by_loader;     /* by tld-scx-run itself (an exit dump buffer's length) */
	bool exit_dump;         /* scx's exit dump buffer, sized by tld-scx-run */
	bool from_kernel;       /* a kernel constant, filled from the kernel's BTF */
	bool kernel_missing;    /* named like a kernel constant the kernel does not have */
};

struct scx_globals {
	struct scx_global *v;
	int n;
	const struct btf *btf;
};

/*
 * Lists the globals of every data section of @obj (opened, not loaded) into @g.
 * Returns 0, or -ENOMEM; an object without BTF has none.
 */
int scx_globals_find(struct bpf_object *obj, struct scx_globals *g);
void scx_globals_free(struct scx_globals *g);

/* The global named @name, or NULL. */
struct scx_global *scx_global_by_name(struct scx_globals *g, const char *name);

/*
 * Where @v's value lives: before load the initial value libbpf will load, after load the
 * map's own memory (libbpf maps it in place). NULL when the section is not mapped.
 */
void *scx_global_data(const struct scx_global *v);

/*
 * Gives every array declared resizable (the last variable of a ".data.NAME", ".bss.NAME"
 * or ".rodata.NAME" section, as scx's RESIZABLE_ARRAY() declares them) @nr elements, before
 * load; a char array NAME with a global NAME_len beside it is scx's exit dump buffer and
 * gets @dump_len bytes instead (set NAME_len with scx_set_number() afterwards); other char
 * arrays are left alone. Prints each to @log. Call scx_globals_find() again afterwards:
 * sections move. Returns the number resized, or a negative errno (the message is in @err).
 */
int scx_resize_arrays(struct bpf_object *obj, int nr, __u32 dump_len, FILE *log, char *err, size_t errlen);

/*
 * Fills every "__NAME" rodata global for which the kernel BTF @kbtf has an enumerator
 * NAME, with its value (what scx's SCX_ENUM_INIT does for the constants it knows); marks
 * "__NAME" globals with an upper-case NAME the kernel lacks. Returns the number filled.
 */
int scx_enums_init(struct scx_globals *g, const struct btf *kbtf);

/* The value of the kernel's enumerator @name (any enum of @kbtf); false when it has none. */
bool scx_kernel_enum(const struct btf *kbtf, const char *name, long long *val);

/*
 * Applies one "NAME=VALUE" to a global before load. VALUE is an integer (decimal, 0x hex,
 * 0 octal, with a sign for signed types), true/false for booleans, or an enumerator of the
 * global's enum type. Returns 0, or -ENOENT (no such global), -EINVAL (a type it cannot
 * set, or not a value of it), -ERANGE (does not fit); @err says which and why.
 */
int scx_set_global(struct scx_globals *g, const char *assignment, char *err, size_t errlen);

/* Stores @val in integer or enum global @v before load; -EINVAL for other kinds. */
int scx_set_number(struct scx_global *v, unsigned long long val);

/* A global's current value as an integer (INT, BOOL, ENUM). */
long long scx_global_number(const struct scx_global *v);

/* The member @name of struct @t, or NULL. */
const struct btf_member *scx_btf_member(const struct btf *btf, const struct btf_type *t, const char *name);

/* Type @id without typedefs and qualifiers, or NULL. */
const struct btf_type *scx_btf_resolved(const struct btf *btf, __u32 id);

#endif /* SCX_GLOBALS_H */
