/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The shared task storage map: open the pin, or create it with uptr BTF, and check its shape. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "tld_internal.h"

static int tld_fd = -1;
static bool tld_fd_owned;
/* The shape of tld_fd, written before tld_fd is published (release) and read after it (acquire). */
static struct tld_map_shape tld_shape;
static pthread_mutex_t tld_map_lock = PTHREAD_MUTEX_INITIALIZER;
static char tld_pin_path[PATH_MAX];

static void tld_print_stderr(const char *msg)
{
	fprintf(stderr, "libtld: %s\n", msg);
}

static tld_print_fn_t tld_print = tld_print_stderr;

tld_print_fn_t tld_set_print(tld_print_fn_t fn)
{
	return __atomic_exchange_n(&tld_print, fn, __ATOMIC_ACQ_REL);
}

/* While set, this thread's first diagnostic goes here instead of to tld_print (a reason to quote). */
static __thread char *tld_capture_buf;
static __thread size_t tld_capture_len;

static void tld_capture_begin(char *buf, size_t len)
{
	buf[0] = 0;
	tld_capture_buf = buf;
	tld_capture_len = len;
}

static void tld_capture_end(void)
{
	tld_capture_buf = NULL;
	tld_capture_len = 0;
}

TLD_HIDDEN void tld_pr(const char *fmt, ...)
{
	tld_print_fn_t fn = __atomic_load_n(&tld_print, __ATOMIC_ACQUIRE);
	char buf[512];
	va_list ap;

	if (tld_capture_buf) {
		if (!tld_capture_buf[0]) {
			va_start(ap, fmt);
			vsnprintf(tld_capture_buf, tld_capture_len, fmt, ap);
			va_end(ap);
		}
		return;
	}
	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fn(buf);
}

static void tld_pin_path_init(void)
{
	const char *dir = getenv("TLD_PIN_DIR");

	snprintf(tld_pin_path, sizeof(tld_pin_path), "%s/" TLD_MAP_NAME,
		 dir && *dir ? dir : TLD_DEFAULT_PIN_DIR);
}

const char *tld_map_pin_path(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, tld_pin_path_init);
	return tld_pin_path;
}

/* Follows modifiers and typedefs; notes whether a "uptr" type tag was passed. */
static const struct btf_type *tld_btf_skip(const struct btf *btf, __u32 id, bool *uptr)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_mod(t) || btf_is_typedef(t) || btf_is_type_tag(t))) {
		if (btf_is_type_tag(t) && !strcmp(btf__name_by_offset(btf, t->name_off), "uptr"))
			*uptr = true;
		t = btf__type_by_id(btf, t->type);
	}
	return t;
}

/*
 * Checks that member @i of @value is a uptr to a complete struct and returns that struct in
 * *@to; 0 or -EINVAL with the reason printed.
 */
static int tld_check_uptr_member(const struct btf *btf, const struct btf_type *value, int i,
				 const struct btf_type **to, const char *what)
{
	const struct btf_member *m = btf_members(value) + i;
	const struct btf_type *t;
	bool uptr = false;

	if (btf_member_bit_offset(value, i) != (__u32)i * 64) {
		tld_pr("map value field %d (%s) is not at offset %d", i, what, i * 8);
		return -EINVAL;
	}
	t = tld_btf_skip(btf, m->type, &uptr);
	if (!t || !btf_is_ptr(t)) {
		tld_pr("map value field %s is not a pointer", what);
		return -EINVAL;
	}
	t = tld_btf_skip(btf, t->type, &uptr);
	if (!uptr) {
		tld_pr("map value field %s lacks the uptr type tag: the kernel would treat it as a number",
		       what);
		return -EINVAL;
	}
	if (!t || !btf_is_struct(t)) {
		tld_pr("map value field %s points to a forward-declared type: the kernel cannot pin it "
		       "(define the struct in the object's BTF)", what);
		return -EINVAL;
	}
	*to = t;
	return 0;
}

/* Whether member @i of @value is `__u16 start` right after the two uptrs (the later revision). */
static bool tld_is_start_member(const struct btf *btf, const struct btf_type *value, int i)
{
	const struct btf_member *m = btf_members(value) + i;
	const struct btf_type *t;
	bool uptr = false;

	if (btf_member_bit_offset(value, i) != 128 || btf_member_bitfield_size(value, i))
		return false;
	t = tld_btf_skip(btf, m->type, &uptr);
	return t && btf_is_int(t) && t->size == 2 && !uptr;
}

/* tld_btf_check_value() on a system of @sys-byte pages (a parameter so tests cover every size). */
static int tld_btf_shape(const struct btf *btf, __u32 value_type_id, const char *map, size_t sys,
			 struct tld_map_shape *shape)
{
	const struct btf_type *value = btf__type_by_id(btf, value_type_id);
	const struct btf_type *data = NULL, *meta = NULL;
	__u32 data_size, meta_size, entries_at;
	enum tld_layout_rev rev;
	int err;

	if (!value || !btf_is_struct(value) || btf_vlen(value) < 2) {
		tld_pr("map '%s' value is not a struct of two pointers", map);
		return -EINVAL;
	}
	/* The revision: two uptrs in 16 bytes, or two uptrs and a u16 start in 24. */
	if (value->size == TLD_MAP_VALUE_SIZE_PAGE) {
		rev = TLD_LAYOUT_START_IN_PAGE;
	} else if (value->size == TLD_MAP_VALUE_SIZE_VALUE && btf_vlen(value) >= 3 &&
		   tld_is_start_member(btf, value, 2)) {
		rev = TLD_LAYOUT_START_IN_VALUE;
	} else {
		tld_pr("map '%s' value has %u bytes: task local data's is two uptrs (16 bytes) or two "
		       "uptrs and a u16 start (24 bytes)", map, value->size);
		return -EINVAL;
	}
	err = tld_check_uptr_member(btf, value, 0, &data, "data");
	if (!err)
		err = tld_check_uptr_member(btf, value, 1, &meta, "meta");
	if (err)
		return err;
	data_size = data->size;
	meta_size = meta->size;
	/* The entries (the metadata struct's last field) follow its 4-byte header, not padded further. */
	entries_at = btf_vlen(meta) ? btf_member_bit_offset(meta, btf_vlen(meta) - 1) / 8 : 0;
	if (entries_at != TLD_META_HEADER) {
		tld_pr("map value field meta points to a struct whose entries start at byte %u: the layout "
		       "has them at %d", entries_at, TLD_META_HEADER);
		return -EINVAL;
	}
	/* The data struct is one page of the size the map's programs were built for; the metadata fits one. */
	if (data_size < TLD_PAGE_SIZE_MIN || (data_size & (data_size - 1)) || (sys && data_size > sys)) {
		tld_pr("map value field data points to a struct of %u bytes: the layout needs one page, a "
		       "power of two from %d bytes up to this system's page size, %zu", data_size,
		       TLD_PAGE_SIZE_MIN, sys);
		return -EINVAL;
	}
	if (meta_size < TLD_META_SIZE_FOR(data_size) || meta_size > data_size) {
		tld_pr("map value field meta points to a struct of %u bytes, the layout has %u for pages of %u",
		       meta_size, (unsigned)TLD_META_SIZE_FOR(data_size), data_size);
		return -EINVAL;
	}
	if (shape) {
		shape->rev = rev;
		shape->page = data_size;
	}
	return 0;
}

TLD_HIDDEN int tld_btf_check_value(const struct btf *btf, __u32 value_type_id, const char *map,
				   struct tld_map_shape *shape)
{
	return tld_btf_shape(btf, value_type_id, map, tld_system_page(), shape);
}

/*
 * Checks @fd against the shared shape; on a mismatch writes the reason into @why and returns
 * -EINVAL (another negative errno when the map cannot be examined at all).
 *
 * Reading the value BTF back (BPF_BTF_GET_FD_BY_ID) needs CAP_SYS_ADMIN, which a program
 * holding only CAP_BPF + CAP_PERFMON lacks. Then everything else is checked (type, sizes,
 * flags, that value BTF exists) and the map is taken: the uptr tags are the kernel's to
 * enforce, and a map created by libtld or a loader of the shared header carries them.
 */
static int tld_map_why(int fd, char *why, size_t len, struct tld_map_shape *shape)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	struct tld_map_shape found;
	struct btf *btf;
	int err;

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len)) {
		err = -errno;
		snprintf(why, len, "cannot read the map's info: %s%s", strerror(-err),
			 err == -EPERM ? " (needs CAP_BPF)" : "");
		return err;
	}
	if (info.type != BPF_MAP_TYPE_TASK_STORAGE || info.key_size != sizeof(int) ||
	    (info.value_size != TLD_MAP_VALUE_SIZE_PAGE && info.value_size != TLD_MAP_VALUE_SIZE_VALUE) ||
	    !(info.map_flags & BPF_F_NO_PREALLOC)) {
		snprintf(why, len, "map '%s' has type %u, key size %u, value size %u, flags 0x%x; task "
			 "local data needs type %u (task storage), key size 4, value size %d or %d, flags 0x%x",
			 info.name, info.type, info.key_size, info.value_size, info.map_flags,
			 BPF_MAP_TYPE_TASK_STORAGE, TLD_MAP_VALUE_SIZE_PAGE, TLD_MAP_VALUE_SIZE_VALUE,
			 BPF_F_NO_PREALLOC);
		return -EINVAL;
	}
	/* Without the BTF (below), the value size tells the revision and the system the page. */
	found.rev = info.value_size == TLD_MAP_VALUE_SIZE_VALUE ? TLD_LAYOUT_START_IN_VALUE
								 : TLD_LAYOUT_START_IN_PAGE;
	found.page = tld_system_page();
	if (shape)
		*shape = found;
	if (!info.btf_id || !info.btf_value_type_id) {
		snprintf(why, len, "map '%s' has no value BTF, so its pointers are not uptrs", info.name);
		return -EINVAL;
	}
	btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!btf) {
		err = -errno;
		if (err == -EPERM)
			return 0; /* no CAP_SYS_ADMIN: the rest is checked, see above */
		snprintf(why, len, "cannot read the BTF of map '%s' (BTF id %u): %s", info.name,
			 info.btf_id, strerror(-err));
		return err;
	}
	tld_capture_begin(why, len);
	err = tld_btf_check_value(btf, info.btf_value_type_id, info.name, &found);
	tld_capture_end();
	btf__free(btf);
	if (!err && shape)
		*shape = found;
	return err;
}

/* Returns 0 when @fd is a task storage map of the shared shape, a negative errno (with the reason printed) otherwise. */
TLD_HIDDEN int tld_map_check(int fd, struct tld_map_shape *shape)
{
	char why[384] = "";
	int err = tld_map_why(fd, why, sizeof(why), shape);

	if (err)
		tld_pr("%s", why);
	return err;
}

/*
 * Builds the value BTF of revision @rev for pages of @page bytes: two uptr-tagged
 * pointers to complete page structs, and for the later revision a u16 start.
 */
static int tld_build_btf(enum tld_layout_rev rev, size_t page, struct btf **out, __u32 *key_id,
			 __u32 *value_id)
{
	int u8_id, u16_id, u64_id, int_id, char_id, name_id, entry_id, entries_id;
	int meta_id, bytes_id, data_id, pdata_id, pmeta_id, value;
	struct btf *btf = btf__new_empty();
	int err;

	if (!btf)
		return -errno;
	u8_id = btf__add_int(btf, "unsigned char", 1, 0);
	u16_id = btf__add_int(btf, "unsigned short", 2, 0);
	u64_id = btf__add_int(btf, "unsigned long long", 8, 0);
	int_id = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	char_id = btf__add_int(btf, "char", 1, BTF_INT_CHAR);
	name_id = btf__add_array(btf, int_id, char_id, TLD_NAME_LEN);

	entry_id = btf__add_struct(btf, "tld_meta_entry", sizeof(struct tld_meta_entry));
	btf__add_field(btf, "name", name_id, 0, 0);
	btf__add_field(btf, "size", u16_id, TLD_NAME_LEN * 8, 0);
	entries_id = btf__add_array(btf, int_id, entry_id, TLD_MAX_KEYS_FOR(page));

	meta_id = btf__add_struct(btf, "tld_meta_page", TLD_META_SIZE_FOR(page));
	btf__add_field(btf, "cnt", u16_id, 0, 0);
	btf__add_field(btf, "size", u16_id, 16, 0);
	btf__add_field(btf, "entries", entries_id, 32, 0);

	bytes_id = btf__add_array(btf, int_id, u8_id, TLD_DATA_MAX_FOR(page));
	data_id = btf__add_struct(btf, "tld_data_page", page);
	btf__add_field(btf, "start", u64_id, 0, 0);
	btf__add_field(btf, "data", bytes_id, 64, 0);

	pdata_id = btf__add_ptr(btf, btf__add_type_tag(btf, "uptr", data_id));
	pmeta_id = btf__add_ptr(btf, btf__add_type_tag(btf, "uptr", meta_id));
	if (rev == TLD_LAYOUT_START_IN_VALUE) {
		value = btf__add_struct(btf, "tld_map_value", sizeof(struct tld_map_value_v2));
		btf__add_field(btf, "data", pdata_id, 0, 0);
		btf__add_field(btf, "meta", pmeta_id, 64, 0);
		err = btf__add_field(btf, "start", u16_id, 128, 0);
	} else {
		value = btf__add_struct(btf, "tld_map_value", sizeof(struct tld_map_value));
		btf__add_field(btf, "data", pdata_id, 0, 0);
		err = btf__add_field(btf, "meta", pmeta_id, 64, 0);
	}
	if (value < 0 || err < 0) {
		err = value < 0 ? value : err;
		goto fail;
	}
	*out = btf;
	*key_id = int_id;
	*value_id = value;
	return 0;
fail:
	btf__free(btf);
	return err;
}

TLD_HIDDEN int tld_map_create(enum tld_layout_rev rev)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	size_t page = tld_system_page();
	struct btf *btf = NULL;
	__u32 key_id = 0, value_id = 0;
	int fd, err;

	if (!page)
		return -EOPNOTSUPP;
	err = tld_build_btf(rev, page, &btf, &key_id, &value_id);
	if (!err) {
		err = btf__load_into_kernel(btf);
		if (err)
			btf__free(btf);
	}
	if (err) {
		tld_pr("cannot load the map's BTF: %s", strerror(-err));
		return err;
	}
	opts.btf_fd = btf__fd(btf);
	opts.btf_key_type_id = key_id;
	opts.btf_value_type_id = value_id;
	fd = bpf_map_create(BPF_MAP_TYPE_TASK_STORAGE, TLD_MAP_NAME, sizeof(int),
			    rev == TLD_LAYOUT_START_IN_VALUE ? TLD_MAP_VALUE_SIZE_VALUE : TLD_MAP_VALUE_SIZE_PAGE,
			    0, &opts);
	err = -errno;
	btf__free(btf);
	return fd < 0 ? err : fd;
}

static int tld_mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

static const char *tld_hint(int err)
{
	switch (err) {
	case -EPERM:
		return " (needs CAP_BPF and CAP_PERFMON, or root: run with sudo)";
	case -ENOENT:
		return " (is bpffs mounted? sudo mount -t bpf bpf /sys/fs/bpf)";
	case -EACCES:
		return " (the pin folder is not accessible to this user)";
	default:
		return "";
	}
}

TLD_HIDDEN int tld_map_open_path(const char *path, bool create, enum tld_layout_rev rev,
				 struct tld_map_shape *shape)
{
	int fd, err;

	for (int attempt = 0; attempt < 2; attempt++) {
		fd = bpf_obj_get(path);
		if (fd >= 0) {
			char why[384] = "";

			err = tld_map_why(fd, why, sizeof(why), shape);
			if (err) {
				tld_pr("refusing the map pinned at %s: %s", path, why);
				close(fd);
				return err;
			}
			return fd;
		}
		if (errno != ENOENT || !create) {
			err = -errno;
			tld_pr("cannot open %s: %s%s", path, strerror(-err), tld_hint(err));
			return err;
		}
		fd = tld_map_create(rev);
		if (fd < 0) {
			tld_pr("cannot create the task storage map: %s%s", strerror(-fd), tld_hint(fd));
			return fd;
		}
		err = tld_mkdir_p(path);
		if (!err && bpf_obj_pin(fd, path))
			err = -errno;
		if (!err) {
			if (shape)
				*shape = (struct tld_map_shape){ rev, tld_system_page() };
			return fd;
		}
		close(fd);
		/* Another process pinned it first: open theirs. */
		if (err != -EEXIST) {
			tld_pr("cannot pin the map at %s: %s%s", path, strerror(-err), tld_hint(err));
			return err;
		}
	}
	return -EEXIST;
}

int tld_map_fd(void)
{
	int fd = __atomic_load_n(&tld_fd, __ATOMIC_ACQUIRE);

	if (fd >= 0)
		return fd;
	pthread_mutex_lock(&tld_map_lock);
	fd = tld_fd;
	if (fd < 0) {
		/* libtld makes maps of upstream's first revision, which every reader knows. */
		fd = tld_map_open_path(tld_map_pin_path(), true, TLD_LAYOUT_START_IN_PAGE, &tld_shape);
		if (fd >= 0) {
			tld_fd_owned = true;
			__atomic_store_n(&tld_fd, fd, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&tld_map_lock);
	if (fd < 0)
		errno = -fd;
	return fd;
}

int tld_use_map_fd(int fd)
{
	struct tld_map_shape shape;
	int err;

	err = tld_map_check(fd, &shape);
	if (err)
		return err;
	pthread_mutex_lock(&tld_map_lock);
	if (tld_fd >= 0) {
		err = -EBUSY;
	} else {
		tld_shape = shape;
		tld_fd_owned = false;
		__atomic_store_n(&tld_fd, fd, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&tld_map_lock);
	return err;
}

TLD_HIDDEN int tld_map_fd_peek(void)
{
	return __atomic_load_n(&tld_fd, __ATOMIC_ACQUIRE);
}

TLD_HIDDEN struct tld_map_shape tld_map_shape(void)
{
	return tld_shape;
}

TLD_HIDDEN void tld_map_release(void)
{
	pthread_mutex_lock(&tld_map_lock);
	if (tld_fd >= 0 && tld_fd_owned)
		close(tld_fd);
	tld_fd = -1;
	tld_fd_owned = false;
	pthread_mutex_unlock(&tld_map_lock);
}
