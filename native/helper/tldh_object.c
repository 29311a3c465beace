/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* BPF objects for TLD Studio users: checks before loading, loading with the verifier's log, list, unload. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "tldh_internal.h"
#include "../src/tld_internal.h"

#define LOG_START (1u << 20)
#define LOG_MAX (256u << 20)

struct findings {
	struct tldh_finding *out;
	uint32_t cap, n;
};

static void add(struct findings *f, int severity, const char *code, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add(struct findings *f, int severity, const char *code, const char *subject, const char *fmt, ...)
{
	struct tldh_finding *x;
	va_list ap;

	if (f->n++ >= f->cap)
		return;
	x = &f->out[f->n - 1];
	memset(x, 0, sizeof(*x));
	x->severity = severity;
	snprintf(x->code, sizeof(x->code), "%s", code);
	snprintf(x->subject, sizeof(x->subject), "%s", subject);
	va_start(ap, fmt);
	vsnprintf(x->message, sizeof(x->message), fmt, ap);
	va_end(ap);
}

/* Whether the ELF file has a "license" section. */
static bool has_license(const char *path)
{
	bool found = false;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Elf *elf;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf && !elf_getshdrstrndx(elf, &shstrndx)) {
		while (!found && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			const char *name;

			if (gelf_getshdr(scn, &sh) && (name = elf_strptr(elf, shstrndx, sh.sh_name)))
				found = !strcmp(name, "license");
		}
	}
	elf_end(elf);
	close(fd);
	return found;
}

/* Follows modifiers and typedefs; notes a "uptr" tag on the way. */
static const struct btf_type *skip(const struct btf *btf, __u32 id, __u32 *out_id, bool *uptr)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_mod(t) || btf_is_typedef(t) || btf_is_type_tag(t))) {
		if (btf_is_type_tag(t) && !strcmp(btf__name_by_offset(btf, t->name_off), "uptr"))
			*uptr = true;
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (out_id)
		*out_id = id;
	return t;
}

/* The uptr pitfall: a uptr member whose struct is only forward-declared in this object's BTF. */
static void check_uptrs(struct findings *f, const struct btf *btf, const struct bpf_map *map)
{
	__u32 vid = bpf_map__btf_value_type_id(map);
	const struct btf_type *v = vid ? skip(btf, vid, NULL, &(bool){ false }) : NULL;
	const struct btf_member *m;

	if (!v || !btf_is_struct(v))
		return;
	m = btf_members(v);
	for (int i = 0; i < btf_vlen(v); i++, m++) {
		bool uptr = false;
		const struct btf_type *t = skip(btf, m->type, NULL, &uptr);

		if (!t || !btf_is_ptr(t))
			continue;
		t = skip(btf, t->type, NULL, &uptr);
		if (uptr && t && btf_is_fwd(t)) {
			const char *sname = btf__name_by_offset(btf, t->name_off);

			add(f, TLDH_SEV_ERROR, "uptr-forward", bpf_map__name(map),
			    "map '%s' field '%s' is a uptr to struct %s, which this object only declares: the "
			    "kernel would treat the field as a plain number and every read through it fails "
			    "with \"invalid mem access 'scalar'\". Define struct %s in full where the map is "
			    "declared (tld.bpf.h does this for its own map)",
			    bpf_map__name(map), btf__name_by_offset(btf, m->name_off), sname, sname);
		}
	}
}

static void check_tld_map(struct findings *f, const struct btf *btf, const struct bpf_map *map)
{
	if (bpf_map__type(map) != BPF_MAP_TYPE_TASK_STORAGE || bpf_map__key_size(map) != sizeof(int) ||
	    bpf_map__value_size(map) != sizeof(struct tld_map_value) ||
	    !(bpf_map__map_flags(map) & BPF_F_NO_PREALLOC)) {
		add(f, TLDH_SEV_ERROR, "tld-map-shape", TLD_MAP_NAME,
		    "tld_data_map has type %d, key size %u, value size %u, flags 0x%x; the shared map is a "
		    "task storage map (type %d) with key size 4, value size 16 and BPF_F_NO_PREALLOC: "
		    "include tld.bpf.h instead of declaring it",
		    bpf_map__type(map), bpf_map__key_size(map), bpf_map__value_size(map),
		    bpf_map__map_flags(map), BPF_MAP_TYPE_TASK_STORAGE);
		return;
	}
	if (btf && bpf_map__btf_value_type_id(map) &&
	    tld_btf_check_value(btf, bpf_map__btf_value_type_id(map), TLD_MAP_NAME))
		add(f, TLDH_SEV_ERROR, "tld-map-shape", TLD_MAP_NAME,
		    "tld_data_map's value is not two uptrs to the page structs of the shared layout: "
		    "include tld.bpf.h instead of declaring it");
}

/* Whether struct_ops map @map implements sched_ext_ops. */
static bool is_sched_ext(const struct btf *btf, const struct bpf_map *map)
{
	__u32 vid = bpf_map__btf_value_type_id(map);
	const struct btf_type *t = btf && vid ? btf__type_by_id(btf, vid) : NULL;

	return t && !strcmp(btf__name_by_offset(btf, t->name_off), "sched_ext_ops");
}

static int open_object(const char *path, struct bpf_object **obj, struct tldh_error *err)
{
	if (access(path, R_OK))
		return tldh_fail(err, -errno, "cannot read %s: %s", path, strerror(errno));
	*obj = bpf_object__open_file(path, NULL);
	if (!*obj)
		return tldh_fail(err, -EINVAL, "%s is not a BPF object file (%s); compile it with clang -target bpf",
				 path, strerror(errno));
	return 0;
}

int32_t tldh_object_check(const char *path, struct tldh_finding *out, uint32_t cap, uint32_t *n,
			  struct tldh_error *err)
{
	struct findings f = { out, cap, 0 };
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	const struct btf *btf;
	int rc, programs = 0;

	rc = open_object(path, &obj, err);
	if (rc)
		return rc;
	btf = bpf_object__btf(obj);
	if (!has_license(path))
		add(&f, TLDH_SEV_ERROR, "no-license", bpf_object__name(obj),
		    "no license section: most helpers need a GPL-compatible one, e.g. "
		    "char LICENSE[] SEC(\"license\") = \"GPL\";");
	bpf_object__for_each_program(prog, obj) {
		enum bpf_prog_type type = bpf_program__type(prog);

		programs++;
		/* Types whose programs need a BTF target cannot be probed alone; the load will say. */
		if (type != BPF_PROG_TYPE_STRUCT_OPS && type != BPF_PROG_TYPE_TRACING &&
		    type != BPF_PROG_TYPE_EXT && type != BPF_PROG_TYPE_LSM &&
		    libbpf_probe_bpf_prog_type(type, NULL) == 0)
			add(&f, TLDH_SEV_ERROR, "prog-type", bpf_program__name(prog),
			    "program '%s' is of type %s, which this kernel does not support",
			    bpf_program__name(prog), libbpf_bpf_prog_type_str(type));
	}
	if (!programs)
		add(&f, TLDH_SEV_ERROR, "no-programs", bpf_object__name(obj),
		    "the object has no programs (functions need a SEC(\"...\") annotation)");
	bpf_object__for_each_map(map, obj) {
		if (btf)
			check_uptrs(&f, btf, map);
		if (!strcmp(bpf_map__name(map), TLD_MAP_NAME))
			check_tld_map(&f, btf, map);
		if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS && is_sched_ext(btf, map) &&
		    !tldh_kernel_has_sched_ext())
			add(&f, TLDH_SEV_ERROR, "no-sched-ext", bpf_map__name(map),
			    "'%s' is a sched_ext scheduler, and this kernel has no sched_ext: "
			    "run it in a VM with a sched_ext kernel", bpf_map__name(map));
	}
	bpf_object__close(obj);
	*n = f.n;
	tldh_ok(err);
	return 0;
}

/* ---- load ---- */

static int mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Removes every pin in @dir and the folder itself. */
static void remove_pins(const char *dir)
{
	char path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

/* One attempt: open, share the map, load with @log; 0, or the load's error. */
static int load_once(const char *path, const char *map_pin_path, char *log, size_t log_size,
		     struct bpf_object **out, char *failed, size_t failed_len)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;
	struct bpf_map *map;
	int rc;

	if (!obj)
		return -errno;
	bpf_object__for_each_map(map, obj) {
		if (!strcmp(bpf_map__name(map), TLD_MAP_NAME))
			bpf_map__set_pin_path(map, map_pin_path);
	}
	/* One buffer for all: loading stops at the first program the verifier rejects. */
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_log_buf(prog, log, log_size);
	log[0] = 0;
	rc = bpf_object__load(obj);
	if (rc) {
		/* The program whose log is in the buffer: the first one libbpf could not load. */
		bpf_object__for_each_program(prog, obj) {
			if (bpf_program__autoload(prog) && bpf_program__fd(prog) < 0) {
				snprintf(failed, failed_len, "%s", bpf_program__name(prog));
				break;
			}
		}
		bpf_object__close(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

/* Pins @link at @dir/@name_link (bpffs refuses dots) and lets go of it; the pin keeps it. */
static int pin_link(struct bpf_link *link, const char *dir, const char *name, const char *what,
		    struct tldh_load_result *res, struct tldh_error *err)
{
	char path[PATH_MAX + 128];
	int rc;

	if (!link)
		return tldh_fail(err, -errno, "cannot %s %s: %s", what, name, strerror(errno));
	snprintf(path, sizeof(path), "%s/%s_link", dir, name);
	rc = bpf_link__pin(link, path);
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	if (rc)
		return tldh_fail(err, rc, "cannot pin the link of %s: %s", name, strerror(-rc));
	res->attached++;
	return 0;
}

/* Pins programs, and with @attach links and struct_ops registrations, under @dir. */
static int pin_object(struct bpf_object *obj, const char *dir, bool attach, struct tldh_load_result *res,
		      struct tldh_error *err)
{
	char path[PATH_MAX + 128];
	struct bpf_program *prog;
	struct bpf_map *map;
	int rc;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_program__fd(prog) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, bpf_program__name(prog));
		rc = bpf_program__pin(prog, path);
		if (rc)
			return tldh_fail(err, rc, "cannot pin program %s at %s: %s", bpf_program__name(prog),
					 path, strerror(-rc));
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) && res->n_ids < TLDH_MAX_LOADED)
			res->prog_ids[res->n_ids++] = info.id;
		if (!attach || bpf_program__type(prog) == BPF_PROG_TYPE_STRUCT_OPS ||
		    bpf_program__type(prog) == BPF_PROG_TYPE_SYSCALL)
			continue;
		rc = pin_link(bpf_program__attach(prog), dir, bpf_program__name(prog), "attach program", res, err);
		if (rc)
			return rc;
	}
	bpf_object__for_each_map(map, obj) {
		if (!attach || bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS)
			continue;
		rc = pin_link(bpf_map__attach_struct_ops(map), dir, bpf_map__name(map), "register struct_ops", res,
			      err);
		if (rc)
			return rc;
	}
	return 0;
}

int32_t tldh_object_load(const char *path, const char *map_pin_path, const char *pin_root, int32_t attach,
			 char *log, size_t log_cap, struct tldh_load_result *res, struct tldh_error *err)
{
	char map_path[PATH_MAX], dir[PATH_MAX / 2];
	struct bpf_object *obj = NULL, *probe;
	size_t size = LOG_START;
	char *buf = NULL;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = open_object(path, &probe, err);
	if (rc)
		return rc;
	snprintf(res->object, sizeof(res->object), "%s", bpf_object__name(probe));
	tldh_resolve_pin(map_pin_path, map_path, sizeof(map_path));
	/* A shared map pinned with another shape: say how, rather than libbpf's "mismatch". */
	if (bpf_object__find_map_by_name(probe, TLD_MAP_NAME)) {
		int fd = bpf_obj_get(map_path);

		if (fd >= 0) {
			tldh_capture_reset();
			tld_set_print(tldh_capture_first);
			rc = tld_map_check(fd);
			tld_set_print(NULL);
			close(fd);
			if (rc) {
				bpf_object__close(probe);
				return tldh_fail(err, rc, "the map pinned at %s is not the shared task local data map: %s",
						 map_path, tldh_captured());
			}
		}
	}
	bpf_object__close(probe);
	snprintf(dir, sizeof(dir), "%.1500s/%s", pin_root, res->object);
	if (!access(dir, F_OK))
		return tldh_fail(err, -EEXIST, "%s is loaded already (pinned at %s): unload it first",
				 res->object, dir);
	for (;;) {
		char *grown = realloc(buf, size);

		if (!grown) {
			rc = tldh_fail(err, -ENOMEM, "out of memory for the verifier log");
			goto out;
		}
		buf = grown;
		rc = load_once(path, map_path, buf, size, &obj, res->failed_program, sizeof(res->failed_program));
		/* A log cut short by its buffer: grow it and load again, so the error is in it. */
		if (rc == -ENOSPC && size < LOG_MAX) {
			size *= 4;
			res->log_grown = 1;
			continue;
		}
		break;
	}
	if (rc) {
		size_t len = strnlen(buf, size);

		if (len >= log_cap)
			len = log_cap ? log_cap - 1 : 0;
		if (log_cap) {
			memcpy(log, buf, len);
			log[len] = 0;
		}
		res->log_len = len;
		/* With a log, the verifier said no (EACCES, EINVAL...): not a question of privilege. */
		if (res->failed_program[0] && len)
			rc = tldh_fail(err, rc, "the verifier rejected program %s of %s", res->failed_program,
				       res->object);
		else
			rc = tldh_fail(err, rc, "cannot load %s: %s%s", res->object, strerror(-rc),
				       tldh_priv_hint(rc));
		goto out;
	}
	rc = mkdir_p(dir);
	if (rc) {
		rc = tldh_fail(err, rc, "cannot create %s: %s%s", dir, strerror(-rc), tldh_priv_hint(rc));
		goto out;
	}
	rc = pin_object(obj, dir, attach, res, err);
	if (rc) {
		remove_pins(dir);
		goto out;
	}
	tldh_ok(err);
out:
	/* The pins keep what loaded; closing drops everything else. */
	bpf_object__close(obj);
	free(buf);
	return rc;
}

/* ---- list, unload ---- */

/* Calls @fn for every pin under @root/OBJECT/, with the object folder. */
static void for_each_pin(const char *root, bool (*fn)(const char *dir, const char *pin, void *ctx), void *ctx)
{
	char dir[PATH_MAX / 2], pin[PATH_MAX];
	struct dirent *od, *pd;
	DIR *r = opendir(root), *d;

	while (r && (od = readdir(r))) {
		if (od->d_name[0] == '.')
			continue;
		snprintf(dir, sizeof(dir), "%.1500s/%s", root, od->d_name);
		d = opendir(dir);
		while (d && (pd = readdir(d))) {
			if (pd->d_name[0] == '.')
				continue;
			snprintf(pin, sizeof(pin), "%s/%s", dir, pd->d_name);
			if (!fn(dir, pin, ctx)) {
				closedir(d);
				closedir(r);
				return;
			}
		}
		if (d)
			closedir(d);
	}
	if (r)
		closedir(r);
}

/* The program id behind a program pin, or 0 (links and other pins). */
static __u32 pinned_prog_id(const char *pin)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	size_t n = strlen(pin);
	int fd;

	if (n > 5 && !strcmp(pin + n - 5, "_link"))
		return 0;
	fd = bpf_obj_get(pin);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

struct find_ctx {
	__u32 id;
	char dir[PATH_MAX];
	char pin[PATH_MAX];
};

static bool find_pin(const char *dir, const char *pin, void *arg)
{
	struct find_ctx *c = arg;

	if (pinned_prog_id(pin) != c->id)
		return true;
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(c->pin, sizeof(c->pin), "%s", pin);
	return false;
}

int32_t tldh_prog_list(const char *pin_root, struct tldh_prog *out, uint32_t cap, uint32_t *n,
		       struct tldh_error *err)
{
	__u32 id = 0, count = 0;

	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = {};
		__u32 maps[8], len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);
		struct tldh_prog *p;
		struct find_ctx c = { .id = id };

		if (fd < 0)
			continue;
		info.nr_map_ids = 8;
		info.map_ids = (__u64)(unsigned long)maps;
		if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
			close(fd);
			continue;
		}
		close(fd);
		if (count++ >= cap)
			continue;
		p = &out[count - 1];
		memset(p, 0, sizeof(*p));
		p->id = info.id;
		p->type = info.type;
		snprintf(p->name, sizeof(p->name), "%s", info.name);
		snprintf(p->type_name, sizeof(p->type_name), "%s",
			 libbpf_bpf_prog_type_str(info.type) ?: "unknown");
		p->insns = info.xlated_prog_len / 8;
		p->verified_insns = info.verified_insns;
		p->jited_len = info.jited_prog_len;
		p->nr_map_ids = info.nr_map_ids < 8 ? info.nr_map_ids : 8;
		memcpy(p->map_ids, maps, p->nr_map_ids * sizeof(__u32));
		p->run_cnt = info.run_cnt;
		p->run_time_ns = info.run_time_ns;
		for_each_pin(pin_root, find_pin, &c);
		p->ours = c.pin[0] != 0;
		snprintf(p->pin, sizeof(p->pin), "%.191s", c.pin);
	}
	if (count == 0 && errno == EPERM)
		return tldh_fail(err, -EPERM, "cannot list BPF programs%s", tldh_priv_hint(-EPERM));
	*n = count;
	tldh_ok(err);
	return 0;
}

int32_t tldh_prog_unload(const char *pin_root, uint32_t id, struct tldh_error *err)
{
	struct find_ctx c = { .id = id };

	for_each_pin(pin_root, find_pin, &c);
	if (!c.dir[0])
		return tldh_fail(err, -ENOENT, "program %u was not loaded by TLD Studio (nothing under %s keeps it)",
				 id, pin_root);
	/* The whole object goes: its programs, links and struct_ops registrations. */
	remove_pins(c.dir);
	tldh_ok(err);
	return 0;
}
