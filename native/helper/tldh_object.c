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
#include <grp.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

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
	    (bpf_map__value_size(map) != TLD_MAP_VALUE_SIZE_PAGE &&
	     bpf_map__value_size(map) != TLD_MAP_VALUE_SIZE_VALUE) ||
	    !(bpf_map__map_flags(map) & BPF_F_NO_PREALLOC)) {
		add(f, TLDH_SEV_ERROR, "tld-map-shape", TLD_MAP_NAME,
		    "tld_data_map has type %d, key size %u, value size %u, flags 0x%x; the shared map is a "
		    "task storage map (type %d) with key size 4, value size 16 (or 24, with start in the "
		    "value) and BPF_F_NO_PREALLOC: include tld.bpf.h instead of declaring it",
		    bpf_map__type(map), bpf_map__key_size(map), bpf_map__value_size(map),
		    bpf_map__map_flags(map), BPF_MAP_TYPE_TASK_STORAGE);
		return;
	}
	if (btf && bpf_map__btf_value_type_id(map) &&
	    tld_btf_check_value(btf, bpf_map__btf_value_type_id(map), TLD_MAP_NAME, NULL))
		add(f, TLDH_SEV_ERROR, "tld-map-shape", TLD_MAP_NAME,
		    "tld_data_map's value is not two uptrs to the page structs of the shared layout "
		    "(and a u16 start): "
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

/* ---- files read with a caller's rights ---- */

/* Exit codes of the reading child besides an errno: no credentials, not a regular file, too big. */
#define READ_AS_NO_CREDS 254
#define READ_AS_NOT_REG 253
#define READ_AS_TOO_BIG 252

/* The child: become @uid/@gid/@groups, then copy @path into fd 0 (the memfd). Async-signal-safe calls only. */
static void __attribute__((noreturn)) read_as_child(const char *path, uid_t uid, gid_t gid,
						     const gid_t *groups, int ngroups, size_t cap)
{
	char chunk[16384];
	size_t total = 0;
	struct stat st;
	ssize_t n;
	int fd;

	/* Nothing of the parent's stays open (its BPF fds least): only the memfd, as fd 0. */
	if (syscall(SYS_close_range, 1, ~0u, 0))
		_exit(READ_AS_NO_CREDS);
	if (syscall(SYS_setgroups, ngroups, groups) || syscall(SYS_setresgid, gid, gid, gid) ||
	    syscall(SYS_setresuid, uid, uid, uid))
		_exit(READ_AS_NO_CREDS);
	/* Not dumpable: the caller cannot ptrace this copy of the host's memory. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* O_NONBLOCK: a FIFO must not hold the host; only regular files are read. */
	fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		_exit(errno);
	if (fstat(fd, &st))
		_exit(errno);
	if (!S_ISREG(st.st_mode))
		_exit(READ_AS_NOT_REG);
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(errno);
		if (n == 0)
			break;
		total += n;
		if (total > cap)
			_exit(READ_AS_TOO_BIG);
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(0, chunk + off, n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				_exit(errno);
			off += w;
		}
	}
	_exit(0);
}

int32_t tldh_read_as(const char *path, uint32_t uid, uint32_t gid, uint8_t *buf, size_t cap, size_t *len,
		     struct tldh_error *err)
{
	gid_t *groups = NULL;
	int ngroups = 0, memfd, status, rc;
	struct passwd pw, *pwp = NULL;
	char pwbuf[4096];
	off_t size;
	pid_t pid;

	*len = 0;
	/* The caller's supplementary groups, from the user database, as a login would give them. */
	if (!getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &pwp) && pwp) {
		getgrouplist(pw.pw_name, gid, NULL, &ngroups);
		groups = calloc(ngroups > 0 ? ngroups : 1, sizeof(*groups));
		if (!groups)
			return tldh_fail(err, -ENOMEM, "out of memory");
		if (getgrouplist(pw.pw_name, gid, groups, &ngroups) < 0)
			ngroups = 0;
	}
	if (!ngroups) {
		free(groups);
		groups = calloc(1, sizeof(*groups));
		if (!groups)
			return tldh_fail(err, -ENOMEM, "out of memory");
		groups[0] = gid;
		ngroups = 1;
	}
	memfd = memfd_create("tldh-read-as", MFD_CLOEXEC);
	if (memfd < 0) {
		rc = -errno;
		free(groups);
		return tldh_fail(err, rc, "cannot create a memfd: %s", strerror(-rc));
	}
	pid = fork();
	if (pid == 0) {
		if (dup2(memfd, 0) < 0)
			_exit(READ_AS_NO_CREDS);
		read_as_child(path, uid, gid, groups, ngroups, cap);
	}
	rc = pid < 0 ? -errno : 0;
	free(groups);
	if (rc) {
		close(memfd);
		return tldh_fail(err, rc, "cannot start a process to read %s: %s", path, strerror(-rc));
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			rc = -errno;
			close(memfd);
			return tldh_fail(err, rc, "cannot wait for the process reading %s: %s", path,
					 strerror(-rc));
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;

		close(memfd);
		switch (code) {
		case READ_AS_NO_CREDS:
			return tldh_fail(err, -EPERM, "cannot take the credentials of user %u to read %s", uid,
					 path);
		case READ_AS_NOT_REG:
			return tldh_fail(err, -EINVAL, "%s is not a regular file", path);
		case READ_AS_TOO_BIG:
			return tldh_fail(err, -EFBIG, "%s is larger than %zu bytes", path, cap);
		case 0:
			return tldh_fail(err, -EIO, "the process reading %s was killed", path);
		default:
			return tldh_fail(err, -code, "cannot read %s: %s", path, strerror(code));
		}
	}
	size = lseek(memfd, 0, SEEK_END);
	if (size < 0 || (size_t)size > cap || pread(memfd, buf, size, 0) != size) {
		rc = size < 0 ? -errno : -EIO;
		close(memfd);
		return tldh_fail(err, rc, "cannot read back %s", path);
	}
	close(memfd);
	*len = size;
	tldh_ok(err);
	return 0;
}

/* ---- pins: only under the pin root, through directory fds, on bpffs ---- */

#define TLDH_BPF_FS_MAGIC 0xcafe4a11
/* BPF_F_PATH_FD (Linux 6.5): BPF_OBJ_PIN/GET resolve the name relative to path_fd. */
#define TLDH_F_PATH_FD (1u << 14)

/* The BPF_OBJ_PIN / BPF_OBJ_GET attributes with path_fd, newer than the installed headers. */
struct obj_attr {
	__aligned_u64 pathname;
	__u32 bpf_fd;
	__u32 file_flags;
	__s32 path_fd;
};

static int obj_at(int cmd, int dirfd, const char *name, int fd)
{
	struct obj_attr attr;
	long rc;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (__u64)(unsigned long)name;
	attr.bpf_fd = fd < 0 ? 0 : (__u32)fd;
	attr.file_flags = TLDH_F_PATH_FD;
	attr.path_fd = dirfd;
	rc = syscall(__NR_bpf, cmd, &attr, sizeof(attr));
	return rc < 0 ? -errno : (int)rc;
}

/* Pins @fd as @name in the folder @dirfd (never through a path a symlink could redirect). */
static int pin_at(int fd, int dirfd, const char *name)
{
	return obj_at(BPF_OBJ_PIN, dirfd, name, fd);
}

/* Opens the pin @name in the folder @dirfd. */
static int get_at(int dirfd, const char *name)
{
	return obj_at(BPF_OBJ_GET, dirfd, name, -1);
}

static bool on_bpffs(int fd)
{
	struct statfs st;

	return !fstatfs(fd, &st) && (unsigned long)st.f_type == TLDH_BPF_FS_MAGIC;
}

static int open_dir_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/*
 * Opens the pin root @root: an absolute path without "." or ".." components, walked
 * one folder at a time without following symlinks, that ends on bpffs. With @create,
 * missing folders are made, and only inside bpffs. Returns its fd, or a negative
 * errno with *err saying why: -EINVAL a relative path or a "."/".." component,
 * -ELOOP a symlink on the way, -EXDEV not on bpffs, -ENOENT missing.
 */
static int open_pin_root(const char *root, bool create, struct tldh_error *err)
{
	char buf[PATH_MAX], *comp, *save = NULL;
	int fd, next;

	if (!root || root[0] != '/')
		return tldh_fail(err, -EINVAL, "the pin root %s is not an absolute path", root ? root : "(none)");
	if (snprintf(buf, sizeof(buf), "%s", root) >= (int)sizeof(buf))
		return tldh_fail(err, -ENAMETOOLONG, "the pin root is too long");
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return tldh_fail(err, -errno, "cannot open /: %s", strerror(errno));
	for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
			close(fd);
			return tldh_fail(err, -EINVAL, "the pin root %s has a '%s' component", root, comp);
		}
		next = open_dir_at(fd, comp);
		if (next == -ENOENT && create) {
			/* Folders are made on bpffs only: a pin root elsewhere creates nothing. */
			if (!on_bpffs(fd)) {
				close(fd);
				return tldh_fail(err, -EXDEV, "the pin root %s is not on bpffs (mount -t bpf bpf /sys/fs/bpf)",
						 root);
			}
			if (mkdirat(fd, comp, 0755) && errno != EEXIST) {
				next = -errno;
				close(fd);
				return tldh_fail(err, next, "cannot create %s in %s: %s%s", comp, root, strerror(-next),
						 tldh_priv_hint(next));
			}
			next = open_dir_at(fd, comp);
		}
		close(fd);
		if (next < 0) {
			if (next == -ELOOP || next == -ENOTDIR)
				return tldh_fail(err, -ELOOP, "the pin root %s has a symlink or a file at %s: refusing it",
						 root, comp);
			return tldh_fail(err, next, "cannot open the pin root %s at %s: %s", root, comp,
					 strerror(-next));
		}
		fd = next;
	}
	if (!on_bpffs(fd)) {
		close(fd);
		return tldh_fail(err, -EXDEV, "the pin root %s is not on bpffs (mount -t bpf bpf /sys/fs/bpf)", root);
	}
	return fd;
}

/* Whether @name is a folder name of an object: no '/', no dots (bpffs refuses them anyway). */
static bool object_name_ok(const char *name)
{
	if (!*name)
		return false;
	for (const char *p = name; *p; p++) {
		if (*p == '/' || *p == '.' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

/* Removes every pin in the object folder @dfd, then the folder @name of @rootfd (if empty by then). */
static void remove_pins_at(int rootfd, const char *name, int dfd)
{
	struct dirent *de;
	int lfd = dup(dfd);
	DIR *d;

	/* Only on bpffs: nothing else is ever emptied. */
	if (lfd < 0 || !on_bpffs(dfd)) {
		if (lfd >= 0)
			close(lfd);
		return;
	}
	d = fdopendir(lfd);
	if (!d) {
		close(lfd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* A symlink is removed, not followed; a folder stays (and keeps its parent). */
		unlinkat(dfd, de->d_name, 0);
	}
	closedir(d);
	unlinkat(rootfd, name, AT_REMOVEDIR);
}

/* ---- loads with no more capabilities than the caller is given ---- */

/* The effective capabilities a load runs with; ~0: all this process has. */
static uint64_t load_caps = ~0ull;

int32_t tldh_limit_load_caps(uint64_t caps, struct tldh_error *err)
{
	pthread_mutex_lock(&tldh_lock);
	load_caps = caps ? caps : ~0ull;
	pthread_mutex_unlock(&tldh_lock);
	tldh_ok(err);
	return 0;
}

struct caps {
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];
};

/*
 * Lowers this thread's effective capabilities to load_caps, saving them in @saved.
 * Capabilities are per thread: the process's other threads keep theirs, and the
 * permitted set stays, so restore_caps() can raise them again.
 */
static int limit_caps(struct caps *saved, struct tldh_error *err)
{
	struct caps now;

	if (load_caps == ~0ull)
		return 0;
	memset(saved, 0, sizeof(*saved));
	saved->hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &saved->hdr, saved->data))
		return tldh_fail(err, -errno, "cannot read this thread's capabilities: %s", strerror(errno));
	now = *saved;
	now.data[0].effective &= (uint32_t)load_caps;
	now.data[1].effective &= (uint32_t)(load_caps >> 32);
	if (syscall(SYS_capset, &now.hdr, now.data))
		return tldh_fail(err, -errno, "cannot lower this thread's capabilities: %s", strerror(errno));
	return 0;
}

static void restore_caps(struct caps *saved)
{
	if (load_caps != ~0ull)
		syscall(SYS_capset, &saved->hdr, saved->data);
}

/* One attempt: open, share the map, load with @log; 0, or the load's error. */
static int load_once(const char *path, const char *map_pin_path, char *log, size_t log_size,
		     struct bpf_object **out, char *failed, size_t failed_len)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *prog;
	struct bpf_map *map;
	sigset_t saved;
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
	tldh_signals_hold(&saved);
	rc = bpf_object__load(obj);
	tldh_signals_release(&saved);
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

/* Pins @link as @name_link in @dirfd (bpffs refuses dots) and lets go of it; the pin keeps it. */
static int pin_link(struct bpf_link *link, int dirfd, const char *name, const char *what,
		    struct tldh_load_result *res, struct tldh_error *err)
{
	char pin[128];
	int rc;

	if (!link)
		return tldh_fail(err, -errno, "cannot %s %s: %s", what, name, strerror(errno));
	snprintf(pin, sizeof(pin), "%s_link", name);
	rc = pin_at(bpf_link__fd(link), dirfd, pin);
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	if (rc)
		return tldh_fail(err, rc, "cannot pin the link of %s: %s", name, strerror(-rc));
	res->attached++;
	return 0;
}

/* Pins programs, and with @attach links and struct_ops registrations, in the folder @dirfd (@dir names it). */
static int pin_object(struct bpf_object *obj, int dirfd, const char *dir, bool attach,
		      struct tldh_load_result *res, struct tldh_error *err)
{
	struct bpf_program *prog;
	struct bpf_map *map;
	int rc;

	bpf_object__for_each_program(prog, obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_program__fd(prog) < 0)
			continue;
		rc = pin_at(bpf_program__fd(prog), dirfd, bpf_program__name(prog));
		if (rc)
			return tldh_fail(err, rc, "cannot pin program %s in %s: %s", bpf_program__name(prog), dir,
					 strerror(-rc));
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len) && res->n_ids < TLDH_MAX_LOADED)
			res->prog_ids[res->n_ids++] = info.id;
		if (!attach || bpf_program__type(prog) == BPF_PROG_TYPE_STRUCT_OPS ||
		    bpf_program__type(prog) == BPF_PROG_TYPE_SYSCALL)
			continue;
		rc = pin_link(bpf_program__attach(prog), dirfd, bpf_program__name(prog), "attach program", res, err);
		if (rc)
			return rc;
	}
	bpf_object__for_each_map(map, obj) {
		if (!attach || bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS)
			continue;
		rc = pin_link(bpf_map__attach_struct_ops(map), dirfd, bpf_map__name(map), "register struct_ops", res,
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
	int rootfd = -1, dirfd = -1;
	size_t size = LOG_START;
	bool limited = false;
	struct caps saved;
	struct stat st;
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
			rc = tld_map_check(fd, NULL);
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
	if (!object_name_ok(res->object))
		return tldh_fail(err, -EINVAL, "the object name '%s' cannot name a pin folder: rename the file",
				 res->object);
	snprintf(dir, sizeof(dir), "%.1500s/%s", pin_root ? pin_root : "", res->object);
	/* The pin root is opened (and made) before loading: a root that is refused loads nothing. */
	rootfd = open_pin_root(pin_root, true, err);
	if (rootfd < 0)
		return rootfd;
	if (!fstatat(rootfd, res->object, &st, AT_SYMLINK_NOFOLLOW)) {
		rc = tldh_fail(err, -EEXIST, "%s is loaded already (pinned at %s): unload it first", res->object, dir);
		goto out;
	}
	/* From here to the pins, the kernel sees only the capabilities a load may use. */
	rc = limit_caps(&saved, err);
	if (rc)
		goto out;
	limited = true;
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
				       load_caps != ~0ull && (rc == -EPERM || rc == -EACCES) ?
				       ": objects load with CAP_BPF and CAP_PERFMON only here, and this one needs "
				       "more (network programs CAP_NET_ADMIN, struct_ops schedulers CAP_SYS_ADMIN): "
				       "load it as root" : tldh_priv_hint(rc));
		goto out;
	}
	/* mkdirat fails on anything already there (a symlink swapped in too): never reuse a folder. */
	if (mkdirat(rootfd, res->object, 0755)) {
		rc = -errno;
		rc = tldh_fail(err, rc, "cannot create %s: %s%s", dir, strerror(-rc),
			       rc == -EEXIST ? " (loaded meanwhile)" : tldh_priv_hint(rc));
		goto out;
	}
	dirfd = open_dir_at(rootfd, res->object);
	if (dirfd < 0) {
		rc = tldh_fail(err, dirfd, "cannot open %s after creating it: %s", dir, strerror(-dirfd));
		goto out;
	}
	rc = pin_object(obj, dirfd, dir, attach, res, err);
	if (rc) {
		remove_pins_at(rootfd, res->object, dirfd);
		goto out;
	}
	tldh_ok(err);
out:
	if (limited)
		restore_caps(&saved);
	/* The pins keep what loaded; closing drops everything else. */
	bpf_object__close(obj);
	free(buf);
	if (dirfd >= 0)
		close(dirfd);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}

/* ---- list, unload ---- */

/* Whether @fd is a BPF program (not a map or a link, whose ids are counted apart). */
static bool is_prog_fd(int fd)
{
	char proc[64], target[64];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = 0;
	return !strcmp(target, "anon_inode:bpf-prog");
}

/* The program id behind the pin @name in @dirfd, or 0 (links, maps, symlinks and anything else). */
static __u32 pinned_prog_id(int dirfd, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	struct stat st;
	int fd;

	/* BPF_OBJ_GET follows a symlink: a pin counts only where it is itself. */
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
		return 0;
	fd = get_at(dirfd, name);
	if (fd < 0)
		return 0;
	if (!is_prog_fd(fd) || bpf_obj_get_info_by_fd(fd, &info, &len))
		info.id = 0;
	close(fd);
	return info.id;
}

/* Finds the object folder under @rootfd whose pins include program @id; its name in @obj. */
static bool find_prog(int rootfd, __u32 id, char *obj, size_t obj_len, char *pin, size_t pin_len)
{
	struct dirent *od, *pd;
	bool found = false;
	int lfd = dup(rootfd);
	DIR *r = lfd >= 0 ? fdopendir(lfd) : NULL;

	if (!r && lfd >= 0)
		close(lfd);
	/* A dup shares the folder's read position with @rootfd: start from the top each time. */
	if (r)
		rewinddir(r);
	while (r && !found && (od = readdir(r))) {
		int dfd, dl;
		DIR *d;

		if (od->d_name[0] == '.')
			continue;
		/* Folders only, never through a symlink. */
		dfd = open_dir_at(rootfd, od->d_name);
		if (dfd < 0)
			continue;
		dl = dup(dfd);
		d = dl >= 0 ? fdopendir(dl) : NULL;
		if (!d && dl >= 0)
			close(dl);
		if (d)
			rewinddir(d);
		while (d && !found && (pd = readdir(d))) {
			if (pd->d_name[0] == '.' || pinned_prog_id(dfd, pd->d_name) != id)
				continue;
			snprintf(obj, obj_len, "%s", od->d_name);
			snprintf(pin, pin_len, "%s/%s", od->d_name, pd->d_name);
			found = true;
		}
		if (d)
			closedir(d);
		close(dfd);
	}
	if (r)
		closedir(r);
	return found;
}

int32_t tldh_prog_list(const char *pin_root, struct tldh_prog *out, uint32_t cap, uint32_t *n,
		       struct tldh_error *err)
{
	struct tldh_error root_err;
	__u32 id = 0, count = 0;
	/* No pin root yet (nothing loaded) is no error: no program is ours. */
	int rootfd = open_pin_root(pin_root, false, &root_err);

	if (rootfd < 0 && rootfd != -ENOENT)
		return tldh_fail(err, rootfd, "%s", root_err.message);
	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = {};
		__u32 maps[8], len = sizeof(info);
		int fd = bpf_prog_get_fd_by_id(id);
		struct tldh_prog *p;
		char obj[256], pin[sizeof(p->pin)];

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
		if (rootfd >= 0 && find_prog(rootfd, id, obj, sizeof(obj), pin, sizeof(pin))) {
			p->ours = 1;
			snprintf(p->pin, sizeof(p->pin), "%.80s/%.110s", pin_root, pin);
		}
	}
	if (rootfd >= 0)
		close(rootfd);
	if (count == 0 && errno == EPERM)
		return tldh_fail(err, -EPERM, "cannot list BPF programs%s", tldh_priv_hint(-EPERM));
	*n = count;
	tldh_ok(err);
	return 0;
}

int32_t tldh_prog_unload(const char *pin_root, uint32_t id, struct tldh_error *err)
{
	char obj[256], pin[PATH_MAX];
	int rootfd, dfd;

	rootfd = open_pin_root(pin_root, false, err);
	if (rootfd == -ENOENT)
		return tldh_fail(err, -ENOENT, "program %u was not loaded by TLD Studio (%s does not exist)", id,
				 pin_root);
	if (rootfd < 0)
		return rootfd;
	if (!find_prog(rootfd, id, obj, sizeof(obj), pin, sizeof(pin))) {
		close(rootfd);
		return tldh_fail(err, -ENOENT, "program %u was not loaded by TLD Studio (nothing under %s keeps it)",
				 id, pin_root);
	}
	/* The whole object goes: its programs, links and struct_ops registrations. */
	dfd = open_dir_at(rootfd, obj);
	if (dfd >= 0) {
		remove_pins_at(rootfd, obj, dfd);
		close(dfd);
	}
	close(rootfd);
	tldh_ok(err);
	return 0;
}
