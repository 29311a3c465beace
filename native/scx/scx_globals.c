/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A scheduler object's globals through its BTF (scx_globals.h): listing them, kernel
 * constants, resizable arrays and --set.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scx_globals.h"

/* The member @name of struct @t, or NULL. */
const struct btf_member *scx_btf_member(const struct btf *btf, const struct btf_type *t, const char *name)
{
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), name))
			return m;
	return NULL;
}

const struct btf_type *scx_btf_resolved(const struct btf *btf, __u32 id)
{
	int r = btf__resolve_type(btf, id);

	return r < 0 ? NULL : btf__type_by_id(btf, r);
}

static bool starts_with(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* The data section an internal map holds, by its BTF datasec (map names are cut to 15 bytes). */
static const char *map_section(const struct btf *btf, const struct bpf_map *map)
{
	__u32 id = bpf_map__btf_value_type_id(map);
	const struct btf_type *t = id ? btf__type_by_id(btf, id) : NULL;

	if (!t || !btf_is_datasec(t))
		return NULL;
	return btf__name_by_offset(btf, t->name_off);
}

static bool is_data_section(const char *sec)
{
	return !strcmp(sec, ".rodata") || !strcmp(sec, ".data") || !strcmp(sec, ".bss") ||
	       starts_with(sec, ".rodata.") || starts_with(sec, ".data.") || starts_with(sec, ".bss.");
}

static void classify(const struct btf *btf, struct scx_global *v, __u32 var_type)
{
	int id = btf__resolve_type(btf, var_type);
	const struct btf_type *t = id < 0 ? NULL : btf__type_by_id(btf, id);

	v->type_id = id;
	v->kind = SCX_GLOBAL_OTHER;
	if (!t)
		return;
	if (btf_is_int(t)) {
		__u8 enc = btf_int_encoding(t);

		if (enc & BTF_INT_BOOL) {
			v->kind = SCX_GLOBAL_BOOL;
		} else if (t->size == 1 || t->size == 2 || t->size == 4 || t->size == 8) {
			v->kind = SCX_GLOBAL_INT;
			v->is_signed = enc & BTF_INT_SIGNED;
		}
	} else if (btf_is_any_enum(t)) {
		v->kind = SCX_GLOBAL_ENUM;
		v->is_signed = btf_kflag(t);
	} else if (btf_is_array(t)) {
		v->kind = SCX_GLOBAL_ARRAY;
	} else if (btf_is_composite(t)) {
		v->kind = SCX_GLOBAL_STRUCT;
	}
}

int scx_globals_find(struct bpf_object *obj, struct scx_globals *g)
{
	const struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map;
	int cap = 0;

	scx_globals_free(g);
	g->btf = btf;
	if (!btf)
		return 0;
	bpf_object__for_each_map(map, obj) {
		const struct btf_var_secinfo *vi;
		const struct btf_type *ds;
		const char *sec;

		if (!bpf_map__is_internal(map))
			continue;
		sec = map_section(btf, map);
		if (!sec || !is_data_section(sec))
			continue;
		ds = btf__type_by_id(btf, bpf_map__btf_value_type_id(map));
		vi = btf_var_secinfos(ds);
		for (int i = 0; i < btf_vlen(ds); i++, vi++) {
			const struct btf_type *var = btf__type_by_id(btf, vi->type);
			struct scx_global *v;

			if (!var || !btf_is_var(var))
				continue;
			if (g->n == cap) {
				struct scx_global *nv = realloc(g->v, (cap ? cap * 2 : 32) * sizeof(*nv));

				if (!nv)
					return -ENOMEM;
				g->v = nv;
				cap = cap ? cap * 2 : 32;
			}
			v = &g->v[g->n++];
			*v = (struct scx_global){
				.name = btf__name_by_offset(btf, var->name_off),
				.sec = sec,
				.map = map,
				.offset = vi->offset,
				.size = vi->size,
				.rodata = starts_with(sec, ".rodata"),
			};
			classify(btf, v, var->type);
		}
	}
	return 0;
}

void scx_globals_free(struct scx_globals *g)
{
	free(g->v);
	g->v = NULL;
	g->n = 0;
}

struct scx_global *scx_global_by_name(struct scx_globals *g, const char *name)
{
	for (int i = 0; i < g->n; i++)
		if (!strcmp(g->v[i].name, name))
			return &g->v[i];
	return NULL;
}

void *scx_global_data(const struct scx_global *v)
{
	size_t size = 0;
	char *base = bpf_map__initial_value(v->map, &size);

	if (!base || v->offset + v->size > size)
		return NULL;
	return base + v->offset;
}

/* Whether array type @arr holds characters (a string or byte buffer, not per-CPU data). */
static bool char_array(const struct btf *btf, const struct btf_type *arr)
{
	const struct btf_type *e = btf__type_by_id(btf, btf__resolve_type(btf, btf_array(arr)->type));

	return e && btf_is_int(e) && e->size == 1;
}

/* Whether the object has a global variable named @prefix@suffix. */
static bool has_var(const struct btf *btf, const char *prefix, const char *suffix)
{
	char name[256];

	snprintf(name, sizeof(name), "%s%s", prefix, suffix);
	return btf__find_by_name_kind(btf, name, BTF_KIND_VAR) > 0;
}

int scx_resize_arrays(struct bpf_object *obj, int nr, __u32 dump_len, FILE *log, char *err, size_t errlen)
{
	const struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map;
	int n = 0;

	if (!btf)
		return 0;
	bpf_object__for_each_map(map, obj) {
		const struct btf_var_secinfo *last;
		const struct btf_type *ds, *var, *arr;
		const char *sec = bpf_map__is_internal(map) ? map_section(btf, map) : NULL;
		const char *name;
		__u32 want;
		__s64 elem;
		int tid, rc;

		if (!sec || !(starts_with(sec, ".data.") || starts_with(sec, ".bss.") || starts_with(sec, ".rodata.")))
			continue;
		ds = btf__type_by_id(btf, bpf_map__btf_value_type_id(map));
		if (!btf_vlen(ds))
			continue;
		last = btf_var_secinfos(ds) + btf_vlen(ds) - 1;
		var = btf__type_by_id(btf, last->type);
		tid = btf__resolve_type(btf, var->type);
		arr = tid < 0 ? NULL : btf__type_by_id(btf, tid);
		if (!arr || !btf_is_array(arr))
			continue;
		elem = btf__resolve_size(btf, btf_array(arr)->type);
		name = btf__name_by_offset(btf, var->name_off);
		if (elem <= 0)
			continue;
		if (char_array(btf, arr)) {
			/* scx's exit dump buffer: NAME sized to the ops' exit_dump_len, told in NAME_len. */
			if (!has_var(btf, name, "_len"))
				continue;
			want = dump_len;
		} else {
			want = (__u32)nr;
		}
		if (btf_array(arr)->nelems == want)
			continue;
		rc = bpf_map__set_value_size(map, last->offset + (__u32)elem * want);
		if (rc) {
			snprintf(err, errlen, "cannot resize %s (section %s) to %u elements: %s", name, sec, want, strerror(-rc));
			return rc;
		}
		if (want == dump_len && char_array(btf, arr))
			fprintf(log, "tld-scx-run: sized the exit dump buffer %s (%s) to %u bytes\n", name, sec, want);
		else
			fprintf(log, "tld-scx-run: resized %s (%s) from %u to %d elements, one per possible CPU\n",
				name, sec, btf_array(arr)->nelems, nr);
		n++;
	}
	return n;
}

bool scx_kernel_enum(const struct btf *kbtf, const char *name, long long *val)
{
	__u32 n = btf__type_cnt(kbtf);

	for (__u32 id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(kbtf, id);

		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t);

			for (int i = 0; i < btf_vlen(t); i++, e++) {
				if (!strcmp(btf__name_by_offset(kbtf, e->name_off), name)) {
					*val = btf_kflag(t) ? (long long)e->val : (long long)(__u32)e->val;
					return true;
				}
			}
		} else if (btf_is_enum64(t)) {
			const struct btf_enum64 *e = btf_enum64(t);

			for (int i = 0; i < btf_vlen(t); i++, e++) {
				if (!strcmp(btf__name_by_offset(kbtf, e->name_off), name)) {
					*val = (long long)btf_enum64_value(e);
					return true;
				}
			}
		}
	}
	return false;
}

/* Stores @val in @v's bytes (little or big endian alike: a plain store of its size). */
static void store(const struct scx_global *v, unsigned long long val)
{
	void *p = scx_global_data(v);

	switch (v->size) {
	case 1: *(__u8 *)p = (__u8)val; break;
	case 2: *(__u16 *)p = (__u16)val; break;
	case 4: *(__u32 *)p = (__u32)val; break;
	default: *(__u64 *)p = (__u64)val; break;
	}
}

int scx_set_number(struct scx_global *v, unsigned long long val)
{
	if ((v->kind != SCX_GLOBAL_INT && v->kind != SCX_GLOBAL_ENUM) || !scx_global_data(v))
		return -EINVAL;
	store(v, val);
	return 0;
}

long long scx_global_number(const struct scx_global *v)
{
	const void *p = scx_global_data(v);

	if (!p)
		return 0;
	switch (v->size) {
	case 1: return v->is_signed ? (long long)*(const volatile __s8 *)p : (long long)*(const volatile __u8 *)p;
	case 2: return v->is_signed ? (long long)*(const volatile __s16 *)p : (long long)*(const volatile __u16 *)p;
	case 4: return v->is_signed ? (long long)*(const volatile __s32 *)p : (long long)*(const volatile __u32 *)p;
	default: return *(const volatile __s64 *)p;
	}
}

/* "__SCX_DSQ_LOCAL": two underscores, then an upper-case letter, digits and underscores. */
static bool kernel_constant_name(const char *name)
{
	if (strncmp(name, "__", 2) || !isupper((unsigned char)name[2]))
		return false;
	for (const char *c = name + 2; *c; c++)
		if (!isupper((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_')
			return false;
	return true;
}

int scx_enums_init(struct scx_globals *g, const struct btf *kbtf)
{
	int n = 0;

	for (int i = 0; i < g->n; i++) {
		struct scx_global *v = &g->v[i];
		long long val;

		if (!v->rodata || strncmp(v->name, "__", 2) || !scx_global_data(v) ||
		    (v->kind != SCX_GLOBAL_INT && v->kind != SCX_GLOBAL_ENUM))
			continue;
		if (scx_kernel_enum(kbtf, v->name + 2, &val)) {
			store(v, (unsigned long long)val);
			v->from_kernel = true;
			n++;
		} else if (kernel_constant_name(v->name)) {
			v->kernel_missing = true;
		}
	}
	return n;
}

static const char *type_name(const struct scx_globals *g, const struct scx_global *v, char *buf, size_t len)
{
	const struct btf_type *t = v->type_id > 0 ? btf__type_by_id(g->btf, v->type_id) : NULL;
	const char *n = t ? btf__name_by_offset(g->btf, t->name_off) : NULL;

	switch (v->kind) {
	case SCX_GLOBAL_INT:
		snprintf(buf, len, "%s%u", v->is_signed ? "s" : "u", v->size * 8);
		break;
	case SCX_GLOBAL_BOOL:
		snprintf(buf, len, "bool");
		break;
	case SCX_GLOBAL_ENUM:
		snprintf(buf, len, "enum %s", n && *n ? n : "(anonymous)");
		break;
	case SCX_GLOBAL_ARRAY:
		snprintf(buf, len, "an array");
		break;
	case SCX_GLOBAL_STRUCT:
		snprintf(buf, len, "%s %s", t && btf_is_union(t) ? "union" : "struct", n && *n ? n : "(anonymous)");
		break;
	case SCX_GLOBAL_OTHER:
		snprintf(buf, len, "%s", n && *n ? n : "a type --set does not take");
		break;
	}
	return buf;
}

enum parsed { PARSED, NOT_A_NUMBER, OUT_OF_RANGE };

/* Parses @s whole as an integer into *@u (two's complement when *@negative). */
static enum parsed parse_integer(const char *s, unsigned long long *u, bool *negative)
{
	const char *digits;
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	*negative = *s == '-';
	digits = *s == '-' || *s == '+' ? s + 1 : s;
	if (!isdigit((unsigned char)*digits))
		return NOT_A_NUMBER;
	errno = 0;
	if (*negative)
		*u = (unsigned long long)strtoll(s, &end, 0);
	else
		*u = strtoull(digits, &end, 0);
	if (!*digits || *end)
		return NOT_A_NUMBER;
	return errno == ERANGE ? OUT_OF_RANGE : PARSED;
}

/* An enumerator of enum type @v by name. */
static bool enum_by_name(const struct scx_globals *g, const struct scx_global *v, const char *s, long long *val)
{
	const struct btf_type *t = btf__type_by_id(g->btf, v->type_id);

	if (btf_is_enum(t)) {
		const struct btf_enum *e = btf_enum(t);

		for (int i = 0; i < btf_vlen(t); i++, e++)
			if (!strcmp(btf__name_by_offset(g->btf, e->name_off), s)) {
				*val = btf_kflag(t) ? (long long)e->val : (long long)(__u32)e->val;
				return true;
			}
	} else {
		const struct btf_enum64 *e = btf_enum64(t);

		for (int i = 0; i < btf_vlen(t); i++, e++)
			if (!strcmp(btf__name_by_offset(g->btf, e->name_off), s)) {
				*val = (long long)btf_enum64_value(e);
				return true;
			}
	}
	return false;
}

static int range_error(const struct scx_global *v, const char *assignment, const char *value, const char *name,
		       const char *tbuf, char *err, size_t errlen)
{
	unsigned int bits = v->size * 8;

	if (v->is_signed)
		snprintf(err, errlen, "--set %s: %s does not fit in %s (%s: %lld..%lld)", assignment, value, name, tbuf,
			 bits == 64 ? LLONG_MIN : -(1LL << (bits - 1)), bits == 64 ? LLONG_MAX : (1LL << (bits - 1)) - 1);
	else
		snprintf(err, errlen, "--set %s: %s does not fit in %s (%s: 0..%llu)", assignment, value, name, tbuf,
			 bits == 64 ? ULLONG_MAX : (1ULL << bits) - 1);
	return -ERANGE;
}

static void settable_names(const struct scx_globals *g, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (int i = 0; i < g->n && at + 1 < len; i++) {
		const struct scx_global *v = &g->v[i];

		if (v->kind != SCX_GLOBAL_INT && v->kind != SCX_GLOBAL_BOOL && v->kind != SCX_GLOBAL_ENUM)
			continue;
		if (v->from_kernel || v->kernel_missing || v->set_by_loader || !strcmp(v->name, "LICENSE") || !strcmp(v->name, "_license"))
			continue;
		at += snprintf(buf + at, len - at, "%s%s", at ? ", " : "", v->name);
	}
	if (!at)
		snprintf(buf, len, "none");
}

int scx_set_global(struct scx_globals *g, const char *assignment, char *err, size_t errlen)
{
	const char *eq = strchr(assignment, '=');
	char name[128], tbuf[96], names[512];
	const char *value;
	struct scx_global *v;
	unsigned long long u;
	bool negative;

	if (!eq || eq == assignment || (size_t)(eq - assignment) >= sizeof(name)) {
		snprintf(err, errlen, "--set takes NAME=VALUE, not \"%s\"", assignment);
		return -EINVAL;
	}
	memcpy(name, assignment, eq - assignment);
	name[eq - assignment] = 0;
	value = eq + 1;
	v = scx_global_by_name(g, name);
	if (!v) {
		settable_names(g, names, sizeof(names));
		snprintf(err, errlen, "--set %s: the scheduler has no global variable named %s (it has: %s)", assignment, name, names);
		return -ENOENT;
	}
	if (v->kind != SCX_GLOBAL_INT && v->kind != SCX_GLOBAL_BOOL && v->kind != SCX_GLOBAL_ENUM) {
		snprintf(err, errlen, "--set %s: %s is %s; --set takes integers, booleans and enums", assignment, name,
			 type_name(g, v, tbuf, sizeof(tbuf)));
		return -EINVAL;
	}
	if (!scx_global_data(v)) {
		snprintf(err, errlen, "--set %s: %s is in %s, which this loader cannot write before load", assignment, name, v->sec);
		return -EINVAL;
	}
	type_name(g, v, tbuf, sizeof(tbuf));
	if (v->kind == SCX_GLOBAL_BOOL) {
		if (!strcmp(value, "true") || !strcmp(value, "1"))
			u = 1;
		else if (!strcmp(value, "false") || !strcmp(value, "0"))
			u = 0;
		else {
			snprintf(err, errlen, "--set %s: %s is a bool; give true, false, 1 or 0", assignment, name);
			return -EINVAL;
		}
		store(v, u);
		v->set_by_user = true;
		return 0;
	}
	if (v->kind == SCX_GLOBAL_ENUM) {
		long long ev;

		if (enum_by_name(g, v, value, &ev)) {
			store(v, (unsigned long long)ev);
			v->set_by_user = true;
			return 0;
		}
	}
	switch (parse_integer(value, &u, &negative)) {
	case NOT_A_NUMBER:
		snprintf(err, errlen, "--set %s: \"%s\" is not %s for %s (%s)", assignment, value,
			 v->kind == SCX_GLOBAL_ENUM ? "an integer or an enumerator of its type" : "an integer", name, tbuf);
		return -EINVAL;
	case OUT_OF_RANGE:
		return range_error(v, assignment, value, name, tbuf, err, errlen);
	case PARSED:
		break;
	}
	if (negative && !v->is_signed)
		return range_error(v, assignment, value, name, tbuf, err, errlen);
	if (v->size < 8) {
		unsigned int bits = v->size * 8;
		long long lo = v->is_signed ? -(1LL << (bits - 1)) : 0;
		unsigned long long hi = v->is_signed ? (1ULL << (bits - 1)) - 1 : (1ULL << bits) - 1;

		if (negative ? (long long)u < lo : u > hi)
			return range_error(v, assignment, value, name, tbuf, err, errlen);
	} else if (v->is_signed && !negative && u > (unsigned long long)LLONG_MAX) {
		return range_error(v, assignment, value, name, tbuf, err, errlen);
	}
	store(v, u);
	v->set_by_user = true;
	return 0;
}
