/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* libtld against the real kernel: what BPF programs read of the values threads write. */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <linux/magic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "tld_reader.h"
#include "tld_struct_ops.skel.h"
#include "tld_test_v2.skel.h"

TLD_DEFINE_KEY(k_a, "test.a", sizeof(__u64));
TLD_DEFINE_KEY(k_b, "test.b", sizeof(__u32));

#define THREADS 8
#define MAX_RECS 64

static __u64 expect_a(pid_t tid) { return (__u64)tid * 1000 + 1; }
static __u32 expect_plugin(pid_t tid) { return (__u32)tid + 7; }
static __u16 expect_late(pid_t tid) { return (__u16)(tid ^ 0x5a5a); }

struct worker {
	pthread_t thread;
	pid_t tid;
	bool use_tld;
};

static pthread_barrier_t phase1, phase2, phase3, phase4;
static int (*plugin_set)(__u32);
static tld_off_t k_late;

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->tid = gettid();
	if (w->use_tld) {
		__u64 *a = tld_resolve_key(k_a);
		__u32 *b = tld_resolve_key(k_b);

		CHECK(a && b, "resolve failed: %s", strerror(errno));
		*a = expect_a(w->tid);
		*b = (__u32)w->tid;
	}
	pthread_barrier_wait(&phase1);
	/* main loaded the plugin and added "test.late" after we resolved */
	pthread_barrier_wait(&phase2);
	if (w->use_tld) {
		__u16 *late = tld_resolve_key(k_late);

		CHECK(late, "resolve of a late key failed: %s", strerror(errno));
		*late = expect_late(w->tid);
		CHECK_EQ(plugin_set(expect_plugin(w->tid)), 0);
		syscall(SYS_getpid); /* the tp_btf reader runs here */
	}
	pthread_barrier_wait(&phase3);
	pthread_barrier_wait(&phase4); /* stay alive while main reads */
	return NULL;
}

static void check_records(const struct worker *w, int nw, const struct tld_test_record *recs, int n,
			  bool late_keys)
{
	for (int i = 0; i < nw; i++) {
		const struct tld_test_record *r = reader_find(recs, n, w[i].tid);

		CHECK(r, "BPF did not visit thread %d (of %d)", w[i].tid, n);
		if (!w[i].use_tld) {
			CHECK(!r->has_entry && !r->found,
			      "thread %d never used task local data yet has an entry", w[i].tid);
			continue;
		}
		CHECK(r->has_entry, "thread %d has no map entry", w[i].tid);
		CHECK(r->found & (1u << TLD_TEST_A), "BPF did not find test.a of thread %d", w[i].tid);
		CHECK(r->found & (1u << TLD_TEST_B), "BPF did not find test.b of thread %d", w[i].tid);
		CHECK_EQ(r->vals[TLD_TEST_A], expect_a(w[i].tid));
		CHECK_EQ(r->vals[TLD_TEST_B], w[i].tid);
		if (!late_keys) {
			CHECK(!(r->found & (1u << TLD_TEST_PLUGIN | 1u << TLD_TEST_LATE)),
			      "keys not added yet were found");
			continue;
		}
		CHECK(r->found & (1u << TLD_TEST_PLUGIN), "BPF did not find the plugin's key");
		CHECK(r->found & (1u << TLD_TEST_LATE), "BPF did not find the key added late");
		CHECK_EQ(r->vals[TLD_TEST_PLUGIN], expect_plugin(w[i].tid));
		CHECK_EQ(r->vals[TLD_TEST_LATE], expect_late(w[i].tid));
	}
}

static char plugin_path[512];

static void locate_plugin(void)
{
	char exe[400];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	CHECK(n > 0, "cannot find the test binary");
	exe[n] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(plugin_path, sizeof(plugin_path), "%s/libtld-test-plugin.so", exe);
}

static void bpf_reads_what_threads_wrote(void)
{
	struct worker w[THREADS + 1] = {};
	struct tld_test_record recs[MAX_RECS];
	struct tld_test_bpf *skel;
	struct bpf_link *sys_link;
	void *plugin;
	int n;

	ctest_uses("task storage map with uptr values, iter/task (pid filter), tp_btf/sys_enter, bpf_strncmp");
	skel = reader_open();
	sys_link = bpf_program__attach(skel->progs.on_sys_enter);
	CHECK(sys_link, "cannot attach tp_btf/sys_enter: %s", strerror(errno));
	pthread_barrier_init(&phase1, NULL, THREADS + 2);
	pthread_barrier_init(&phase2, NULL, THREADS + 2);
	pthread_barrier_init(&phase3, NULL, THREADS + 2);
	pthread_barrier_init(&phase4, NULL, THREADS + 2);
	for (int i = 0; i <= THREADS; i++) {
		w[i].use_tld = i < THREADS; /* the last one never touches task local data */
		CHECK(!pthread_create(&w[i].thread, NULL, worker_main, &w[i]), "cannot start threads");
	}
	pthread_barrier_wait(&phase1);

	n = reader_dump(skel, recs, MAX_RECS);
	check_records(w, THREADS + 1, recs, n, false);

	/* A library loaded now, and a key added now, after every thread resolved. */
	locate_plugin();
	plugin = dlopen(plugin_path, RTLD_NOW);
	CHECK(plugin, "cannot load the test plugin: %s", dlerror());
	plugin_set = (int (*)(__u32))dlsym(plugin, "tld_test_plugin_set");
	CHECK(plugin_set, "the plugin has no tld_test_plugin_set");
	k_late = tld_add_key_def("test.late", sizeof(__u16));
	CHECK(!tld_off_is_err(k_late), "cannot add a key late: %d", k_late.off);
	pthread_barrier_wait(&phase2);
	pthread_barrier_wait(&phase3);

	n = reader_dump(skel, recs, MAX_RECS);
	check_records(w, THREADS + 1, recs, n, true);

	/* The tp_btf reader, with its key cache in its own per-task context. */
	for (int i = 0; i < THREADS; i++) {
		__u64 seen = 0;

		CHECK(!bpf_map__lookup_elem(skel->maps.seen_a, &w[i].tid, sizeof(__u32), &seen,
					    sizeof(seen), 0),
		      "tp_btf reader saw no value for thread %d", w[i].tid);
		CHECK_EQ(seen, expect_a(w[i].tid));
	}
	pthread_barrier_wait(&phase4);
	for (int i = 0; i <= THREADS; i++)
		pthread_join(w[i].thread, NULL);
	bpf_link__destroy(sys_link);
	tld_test_bpf__destroy(skel);
}

static void *resolve_and_exit(void *arg)
{
	__u64 *a = tld_resolve_key(k_a);

	(void)arg;
	CHECK(a, "resolve failed: %s", strerror(errno));
	*a = 1;
	return NULL;
}

static void thread_exit_removes_its_map_entry(void)
{
	struct tld_test_bpf *skel;
	struct bpf_link *link;
	pthread_t t[THREADS];

	ctest_uses("tp_btf/sched_process_exit, task storage lookup of an exiting task");
	skel = reader_open();
	link = bpf_program__attach(skel->progs.on_exit);
	CHECK(link, "cannot attach tp_btf/sched_process_exit: %s", strerror(errno));
	for (int i = 0; i < THREADS; i++)
		CHECK(!pthread_create(&t[i], NULL, resolve_and_exit, NULL), "cannot start threads");
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	/* The exit tracepoint may fire after join returns: wait for all of them. */
	for (int ms = 0; ms < 5000; ms += 10) {
		if (skel->bss->exits_with_entry + skel->bss->exits_without_entry >= THREADS)
			break;
		usleep(10000);
	}
	CHECK_EQ(skel->bss->exits_with_entry + skel->bss->exits_without_entry, THREADS);
	CHECK_EQ(skel->bss->exits_with_entry, 0);
	bpf_link__destroy(link);
	tld_test_bpf__destroy(skel);
}

/* In a forked child: fail with _exit, so the parent's pin folder stays. */
#define CHILD_CHECK(cond, ...)                                                  \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "child: " __VA_ARGS__);                 \
			fputc('\n', stderr);                                    \
			_exit(1);                                               \
		}                                                               \
	} while (0)

static void *child_thread(void *arg)
{
	__u64 *a = tld_resolve_key(k_a);

	if (a)
		*a = 333;
	*(pid_t *)arg = gettid();
	return a ? arg : NULL;
}

static void forked_child_pins_its_own_pages(void)
{
	struct tld_test_record recs[MAX_RECS];
	struct tld_test_bpf *skel;
	__u64 *a = tld_resolve_key(k_a);
	int status, n;
	pid_t child;

	ctest_uses("task storage entries of a forked child, iter/task");
	CHECK(a, "resolve failed: %s", strerror(errno));
	*a = 111;
	fflush(stdout);
	child = fork();
	CHECK(child >= 0, "fork failed");
	if (child == 0) {
		pthread_t t;
		pid_t tid = 0;
		void *ok;

		*a = 222; /* through the pointer cached before fork */
		CHILD_CHECK(!pthread_create(&t, NULL, child_thread, &tid), "cannot start a thread");
		pthread_join(t, &ok);
		CHILD_CHECK(ok, "the child's thread cannot resolve: %s", strerror(errno));
		skel = reader_open();
		/* The thread exited (its entry is gone); the main thread must read 222. */
		n = reader_dump(skel, recs, MAX_RECS);
		CHILD_CHECK(n == 1, "expected 1 thread in the child, BPF saw %d", n);
		CHILD_CHECK(recs[0].tid == (__u32)getpid() && (recs[0].found & 1u << TLD_TEST_A),
			    "BPF did not find the child's value");
		CHILD_CHECK(recs[0].vals[TLD_TEST_A] == 222, "child reads %llu, expected 222",
			    (unsigned long long)recs[0].vals[TLD_TEST_A]);
		_exit(0);
	}
	CHECK(waitpid(child, &status, 0) == child, "waitpid failed");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the forked child failed (status 0x%x)",
	      status);
	skel = reader_open();
	n = reader_dump(skel, recs, MAX_RECS);
	CHECK(n == 1 && (recs[0].found & 1u << TLD_TEST_A), "BPF cannot read the parent");
	CHECK_EQ(recs[0].vals[TLD_TEST_A], 111);
	tld_test_bpf__destroy(skel);
}

/* A task storage map whose value BTF is two plain u64s: no uptr tags. */
static int create_untagged_task_storage(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);
	struct btf *btf = btf__new_empty();
	int u64_id, int_id, value_id, fd;

	u64_id = btf__add_int(btf, "unsigned long long", 8, 0);
	int_id = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	value_id = btf__add_struct(btf, "plain_value", 16);
	btf__add_field(btf, "data", u64_id, 0, 0);
	btf__add_field(btf, "meta", u64_id, 64, 0);
	CHECK(!btf__load_into_kernel(btf), "cannot load BTF");
	opts.btf_fd = btf__fd(btf);
	opts.btf_key_type_id = int_id;
	opts.btf_value_type_id = value_id;
	fd = bpf_map_create(BPF_MAP_TYPE_TASK_STORAGE, "plain", 4, 16, 0, &opts);
	CHECK(fd >= 0, "cannot create a task storage map: %s", strerror(errno));
	btf__free(btf);
	return fd;
}

static void pin_at_tld_path(int fd)
{
	char dir[256];

	snprintf(dir, sizeof(dir), "%s", tld_map_pin_path());
	*strrchr(dir, '/') = 0;
	mkdir(dir, 0755);
	unlink(tld_map_pin_path());
	CHECK(!bpf_obj_pin(fd, tld_map_pin_path()), "cannot pin: %s", strerror(errno));
}

static void pinned_map_of_another_shape_is_refused(void)
{
	int hash_fd, plain_fd;

	ctest_uses("bpf_obj_get_info_by_fd, map BTF");
	hash_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "not_tld", 4, 16, 8, NULL);
	CHECK(hash_fd >= 0, "cannot create a hash map: %s", strerror(errno));
	pin_at_tld_path(hash_fd);
	errno = 0;
	CHECK(tld_resolve_key(k_a) == NULL, "a hash map was used as the task storage map");
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(tld_map_fd(), -EINVAL);

	plain_fd = create_untagged_task_storage();
	pin_at_tld_path(plain_fd);
	CHECK_EQ(tld_map_fd(), -EINVAL);
	CHECK_EQ(tld_use_map_fd(hash_fd), -EINVAL);
	CHECK_EQ(tld_use_map_fd(plain_fd), -EINVAL);
	close(hash_fd);
	close(plain_fd);
}

static void *resolve_and_wait(void *arg)
{
	__u64 *a = tld_resolve_key(k_a);

	CHECK(a, "resolve failed: %s", strerror(errno));
	*a = 5;
	pthread_barrier_wait(&phase1);
	pthread_barrier_wait(&phase2); /* main calls tld_free() in between */
	(void)arg;
	return NULL;
}

static void tld_free_releases_every_entry(void)
{
	struct tld_test_record recs[MAX_RECS];
	struct tld_test_bpf *skel;
	pthread_t t[THREADS];
	int n, with_entry = 0;

	ctest_uses("task storage delete by pidfd, iter/task");
	skel = reader_open();
	pthread_barrier_init(&phase1, NULL, THREADS + 1);
	pthread_barrier_init(&phase2, NULL, THREADS + 1);
	for (int i = 0; i < THREADS; i++)
		CHECK(!pthread_create(&t[i], NULL, resolve_and_wait, NULL), "cannot start threads");
	pthread_barrier_wait(&phase1);
	n = reader_dump(skel, recs, MAX_RECS);
	for (int i = 0; i < n; i++)
		with_entry += recs[i].has_entry;
	CHECK_EQ(with_entry, THREADS);
	tld_free();
	n = reader_dump(skel, recs, MAX_RECS);
	with_entry = 0;
	for (int i = 0; i < n; i++)
		with_entry += recs[i].has_entry;
	CHECK_EQ(with_entry, 0);
	pthread_barrier_wait(&phase2);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	tld_test_bpf__destroy(skel);
}

/* Pins hand-made pages for the calling thread, as another implementation of the layout would. */
static void pin_pages(struct tld_data_page *page, struct tld_meta_page *meta)
{
	struct tld_map_value v = { .data = page, .meta = meta };
	int pidfd = syscall(SYS_pidfd_open, gettid(), O_EXCL);

	CHECK(pidfd >= 0, "pidfd_open failed: %s", strerror(errno));
	CHECK(!bpf_map_update_elem(tld_map_fd(), &pidfd, &v, BPF_ANY), "cannot pin: %s",
	      strerror(errno));
	close(pidfd);
}

static void *new_page(void)
{
	void *p = mmap(NULL, (size_t)getpagesize(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED, "mmap failed");
	return p;
}

static void bpf_refuses_data_not_at_the_page_start(void)
{
	struct tld_test_record recs[MAX_RECS];
	struct tld_meta_page *meta = new_page();
	struct tld_data_page *page = new_page();
	struct tld_test_bpf *skel = reader_open();
	__u8 *data;
	int n;

	ctest_uses("uptr pages laid out by upstream's first revision with data inside the page");
	/*
	 * Upstream's first revision with a small TLD_DYN_DATA_SIZE puts its data wherever malloc
	 * put it in the page: a `start` other than 8 at the page's base. Its own readers read the
	 * wrong bytes there; ours find nothing rather than a wrong value.
	 */
	page->start = 208;
	data = (__u8 *)page + page->start;
	strcpy(meta->entries[0].name, "test.b");
	meta->entries[0].size = 4;
	strcpy(meta->entries[1].name, "test.a");
	meta->entries[1].size = 8;
	meta->cnt = 2;
	*(__u32 *)data = 7;
	*(__u64 *)(data + 8) = 42;
	pin_pages(page, meta);

	n = reader_dump(skel, recs, MAX_RECS);
	CHECK(n == 1 && recs[0].has_entry, "BPF saw %d threads", n);
	CHECK(!(recs[0].found & 3), "BPF returned values from a page whose data is not at its start (found 0x%x)",
	      recs[0].found);
	tld_test_bpf__destroy(skel);

	/* The same values at the page's start are found. */
	page->start = 8;
	memmove((__u8 *)page + 8, data, 16);
	skel = reader_open();
	n = reader_dump(skel, recs, MAX_RECS);
	CHECK(n == 1 && (recs[0].found & 3) == 3, "BPF did not find both keys (found 0x%x)", n ? recs[0].found : 0);
	CHECK_EQ(recs[0].vals[TLD_TEST_A], 42);
	CHECK_EQ(recs[0].vals[TLD_TEST_B], 7);
	tld_test_bpf__destroy(skel);
}

/*
 * A scheduler built with TLD_START_IN_VALUE makes and pins a map of upstream's later revision
 * (24-byte values, start in the value); libtld takes that map and pins its pages as the
 * revision holds them, and the scheduler's lookups find every value.
 */
static void bpf_of_the_later_revision_reads_libtld(void)
{
	struct tld_test_record recs[MAX_RECS];
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	struct tld_test_v2_bpf *skel;
	tld_off_t a, b;
	__u64 *pa;
	__u32 *pb;
	int n, err;

	ctest_uses("a task storage map with uptrs and a u16 start in its value");
	skel = tld_test_v2_bpf__open();
	CHECK(skel, "cannot open the later-revision readers: %s", strerror(errno));
	skel->rodata->target_tgid = getpid();
	/* As a scheduler's loader does: the map is pinned where applications find it. */
	err = bpf_map__set_pin_path(skel->maps.tld_data_map, tld_map_pin_path());
	CHECK(!err, "pin path: %s", strerror(-err));
	err = tld_test_v2_bpf__load(skel);
	CHECK(!err, "cannot load the later-revision readers: %s", strerror(-err));
	CHECK(!bpf_obj_get_info_by_fd(bpf_map__fd(skel->maps.tld_data_map), &info, &info_len), "map info");
	CHECK_EQ(info.value_size, TLD_MAP_VALUE_SIZE_VALUE);

	a = tld_add_key_def("test.a", sizeof(__u64));
	b = tld_add_key_def("test.b", sizeof(__u32));
	pa = tld_resolve_key(a);
	pb = tld_resolve_key(b);
	CHECK(pa && pb, "libtld cannot use the later-revision map: %s", strerror(errno));
	*pa = 4242;
	*pb = 77;

	n = reader_dump_prog(skel->progs.dump_values, recs, MAX_RECS);
	CHECK(n == 1 && (recs[0].found & 3) == 3, "BPF did not find both keys (found 0x%x)", n ? recs[0].found : 0);
	CHECK_EQ(recs[0].vals[TLD_TEST_A], 4242);
	CHECK_EQ(recs[0].vals[TLD_TEST_B], 77);
	tld_free();
	tld_test_v2_bpf__destroy(skel);
}

static void bpf_rejects_hostile_metadata(void)
{
	struct tld_test_record recs[MAX_RECS];
	struct tld_meta_page *meta = new_page();
	struct tld_data_page *page = new_page();
	struct tld_test_bpf *skel = reader_open();
	int n;

	ctest_uses("uptr pages with corrupt metadata");
	/* A count beyond the table, an unterminated name, sizes that run past the page. */
	page->start = 8;
	meta->cnt = 0xffff;
	memset(meta->entries[0].name, 'x', TLD_NAME_LEN);
	meta->entries[0].size = 0xfff0;
	strcpy(meta->entries[1].name, "test.a");
	meta->entries[1].size = 8;
	strcpy(meta->entries[2].name, "test.b");
	meta->entries[2].size = 2; /* smaller than the u32 the reader asks for */
	pin_pages(page, meta);

	n = reader_dump(skel, recs, MAX_RECS);
	CHECK(n == 1, "BPF saw %d threads", n);
	CHECK(!(recs[0].found & (1u << TLD_TEST_A)), "a value past the page was returned");
	CHECK(!(recs[0].found & (1u << TLD_TEST_B)), "a value smaller than asked was returned");
	/* A start beyond the page is refused as well. */
	meta->entries[0].size = 8;
	meta->cnt = 2;
	page->start = 1u << 31;
	tld_test_bpf__destroy(skel);
	skel = reader_open();
	n = reader_dump(skel, recs, MAX_RECS);
	CHECK(n == 1 && !(recs[0].found & (1u << TLD_TEST_A)), "a start past the page was trusted");
	tld_test_bpf__destroy(skel);
}

static void *open_thread_pidfd(void *arg)
{
	*(int *)arg = syscall(SYS_pidfd_open, gettid(), O_EXCL);
	return NULL;
}

static void kernel_has_what_libtld_needs(void)
{
	struct utsname u;
	struct statfs fs;
	pthread_t t;
	int pidfd = -1, fd;

	uname(&u);
	printf("kernel %s\n", u.release);
	CHECK(!access("/sys/kernel/btf/vmlinux", R_OK), "no kernel BTF (/sys/kernel/btf/vmlinux): "
	      "task local data needs CONFIG_DEBUG_INFO_BTF=y");
	ctest_uses("kernel BTF");
	CHECK(!statfs("/sys/fs/bpf", &fs) && fs.f_type == BPF_FS_MAGIC,
	      "bpffs is not mounted: sudo mount -t bpf bpf /sys/fs/bpf");
	ctest_uses("bpffs at /sys/fs/bpf");
	pthread_create(&t, NULL, open_thread_pidfd, &pidfd);
	pthread_join(t, NULL);
	CHECK(pidfd >= 0, "pidfd_open(tid, PIDFD_THREAD) failed: %s (needs Linux 6.9+)",
	      strerror(errno));
	ctest_uses("pidfd_open(PIDFD_THREAD)");
	fd = tld_map_fd();
	CHECK(fd >= 0, "cannot create the task storage map with uptr values: %s (needs Linux 6.13+ "
	      "and CAP_BPF + CAP_PERFMON, or root)", strerror(errno));
	CHECK(tld_resolve_key(k_a), "cannot pin a page: %s", strerror(errno));
	ctest_uses("task storage map, uptr pinning");
}

/* A connected loopback TCP socket (the listener goes once connected). */
static int connected_socket(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int lfd = socket(AF_INET, SOCK_STREAM, 0), fd = socket(AF_INET, SOCK_STREAM, 0), afd;

	CHECK(lfd >= 0 && fd >= 0, "socket failed: %s", strerror(errno));
	CHECK(!bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) && !listen(lfd, 1) &&
	      !getsockname(lfd, (struct sockaddr *)&addr, &len), "listen failed: %s", strerror(errno));
	CHECK(!connect(fd, (struct sockaddr *)&addr, sizeof(addr)), "connect failed: %s", strerror(errno));
	afd = accept(lfd, NULL, NULL);
	CHECK(afd >= 0, "accept failed: %s", strerror(errno));
	close(afd);
	close(lfd);
	return fd;
}

static void bpf_reads_hints_in_struct_ops(void)
{
	struct tld_struct_ops_bpf *skel;
	struct bpf_link *link;
	__u64 *a = tld_resolve_key(k_a);
	int fd;

	ctest_uses("struct_ops (tcp_congestion_ops, as sched_ext is absent here), task storage, uptr");
	CHECK(a, "resolve failed: %s", strerror(errno));
	*a = 4242;
	skel = tld_struct_ops_bpf__open();
	CHECK(skel, "cannot open the struct_ops object");
	CHECK(!bpf_map__reuse_fd(skel->maps.tld_data_map, tld_map_fd()), "cannot share the map");
	CHECK(!tld_struct_ops_bpf__load(skel), "the struct_ops program does not verify: %s",
	      strerror(errno));
	link = bpf_map__attach_struct_ops(skel->maps.tld_test_ca);
	CHECK(link, "cannot register the congestion control: %s", strerror(errno));
	fd = connected_socket();
	/* On a connected socket, init() runs right here, in this thread. */
	CHECK(!setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "tld_test_ca", strlen("tld_test_ca")),
	      "setsockopt(TCP_CONGESTION) failed: %s", strerror(errno));
	close(fd);
	CHECK(skel->bss->seen_count > 0, "init() did not find the hint");
	CHECK_EQ(skel->bss->seen_tid, gettid());
	CHECK_EQ(skel->bss->seen_prio, 4242);
	bpf_link__destroy(link);
	tld_struct_ops_bpf__destroy(skel);
}

static void *write_and_exit(void *arg)
{
	__u64 *a = tld_resolve_key(k_a);

	if (a)
		*a = 0x1234567890abcdefULL;
	*(__u64 **)arg = a;
	return NULL;
}

/*
 * A reader may copy a thread's page just as the thread exits (it found the map
 * entry a moment before): the page it copies must still be a page, start and
 * all, with the thread's values or zeros, never the pool's own bookkeeping.
 */
static void exited_threads_page_reads_as_an_empty_page(void)
{
	struct tld_data_page *page;
	__u64 *a = NULL;
	pthread_t t;

	ctest_uses("task storage entries of threads that exit");
	/* Three in a row: the pool then holds more than one free page. */
	for (int i = 0; i < 3; i++) {
		CHECK(!pthread_create(&t, NULL, write_and_exit, &a), "cannot start a thread");
		pthread_join(t, NULL);
		CHECK(a, "the thread cannot resolve: %s", strerror(errno));
		page = (struct tld_data_page *)((char *)a - k_a.off - TLD_DATA_START);
		CHECK_EQ(page->start, TLD_DATA_START);
		CHECK_EQ(*a, 0);
	}
}

CTEST_MAIN(CTEST(kernel_has_what_libtld_needs),
	   CTEST(bpf_reads_what_threads_wrote),
	   CTEST(thread_exit_removes_its_map_entry),
	   CTEST(exited_threads_page_reads_as_an_empty_page),
	   CTEST(forked_child_pins_its_own_pages),
	   CTEST(pinned_map_of_another_shape_is_refused),
	   CTEST(tld_free_releases_every_entry),
	   CTEST(bpf_refuses_data_not_at_the_page_start),
	   CTEST(bpf_of_the_later_revision_reads_libtld),
	   CTEST(bpf_rejects_hostile_metadata),
	   CTEST(bpf_reads_hints_in_struct_ops))
