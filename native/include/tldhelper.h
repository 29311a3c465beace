/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libtldhelper: what the TLD Studio tools know of live processes that use
 * task local data. Written for koffi: plain types, explicit lengths, and on
 * every call a return of 0 or a negative errno with a message in *err.
 * extension/src/client/nativeHelper.ts binds its functions and helperStructs.ts
 * mirrors its structs (test/integration/layoutProbe.test.ts compares them).
 *
 * Record streams (list, snapshot, write) are laid out as tldh_records.h says.
 * A call whose output does not fit returns -ENOSPC and sets *len to the size
 * needed; call again with a buffer that large.
 */
#ifndef TLDHELPER_H
#define TLDHELPER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TLDH_ABI_VERSION 5
#define TLDH_MESSAGE_LEN 512

struct tldh_error {
	int32_t code; /* 0 or a negative errno */
	char message[TLDH_MESSAGE_LEN];
};

/* Returns TLDH_ABI_VERSION, so a client can refuse a library it does not speak. */
int32_t tldh_abi_version(void);

/*
 * Loads the helper's BPF programs and opens the map pinned at @pin_path (NULL
 * or "": $TLD_PIN_DIR/tld_data_map, default /sys/fs/bpf/tld/tld_data_map).
 * Creates and pins the map when absent, as libtld does. Idempotent for the
 * same path. -EPERM without CAP_BPF + CAP_PERFMON (or root); -EINVAL for a
 * pinned map of another shape (the message says how it differs).
 */
int32_t tldh_open(const char *pin_path, struct tldh_error *err);

/* Detaches every attached process and releases everything. */
void tldh_close(void);

/* One THREAD record per task that has an entry in the map, all processes. */
int32_t tldh_list(uint8_t *buf, size_t cap, size_t *len, struct tldh_error *err);

/*
 * One process in one pass: a META record (when any thread has one), then a
 * THREAD record per thread with the used part of its data page. -ESRCH when
 * @pid does not exist.
 */
int32_t tldh_snapshot(int32_t pid, uint8_t *buf, size_t cap, size_t *len, struct tldh_error *err);

/*
 * Binds @pid to the process that has it now and started at @start_time (clock
 * ticks after boot, the 22nd field of /proc/PID/stat): until the next call,
 * tldh_snapshot() and tldh_write() for @pid read and write threads of that
 * process only; should it exit and another process take its pid meanwhile, the
 * kernel side skips that one's threads (one started within the same 10 ms clock
 * tick cannot be told apart; only root forcing pids reuses one that fast). @pid
 * 0 releases the binding. -ESRCH
 * when @pid no longer names the process that started at @start_time.
 */
int32_t tldh_bind_process(int32_t pid, uint64_t start_time, struct tldh_error *err);

/*
 * Writes @n bytes at @offset of the data area of thread @tid of @pid (tid 0:
 * every thread with a page). Records: one WRITTEN per thread written. The
 * caller checks the key's range against a snapshot; the BPF side checks it
 * against each page again.
 */
int32_t tldh_write(int32_t pid, int32_t tid, uint32_t offset, const uint8_t *bytes, uint32_t n,
		   uint8_t *buf, size_t cap, size_t *len, struct tldh_error *err);

/*
 * Gives process @pid, which has no task local data, the keys in @keys
 * ("name:size" separated by newlines): a metadata page and a data page per
 * thread, owned by this helper and pinned for the target's threads, also for
 * threads started later, until tldh_detach() or tldh_close(). Values are set
 * with tldh_write() like any other process's. -EEXIST when the process already
 * has task local data. A cleaner child forked here deletes the target's entries
 * when this process dies without detaching (its socket to us reads EOF).
 */
int32_t tldh_attach(int32_t pid, const char *keys, struct tldh_error *err);

/* Deletes every entry of an attached process; -ENOENT when it is not attached. */
int32_t tldh_detach(int32_t pid, struct tldh_error *err);

/* What the host can do, for `tldctl doctor`. */
struct tldh_host {
	char kernel[64];
	int32_t btf;             /* /sys/kernel/btf/vmlinux readable */
	int32_t bpffs;           /* bpffs mounted at /sys/fs/bpf */
	int32_t cap_bpf;         /* CAP_BPF (or CAP_SYS_ADMIN) effective */
	int32_t cap_perfmon;     /* CAP_PERFMON (or CAP_SYS_ADMIN) effective */
	int32_t uptr;            /* a task storage map with uptr values can be created */
	int32_t sched_ext;       /* the kernel has sched_ext (sched_ext_ops in its BTF) */
	int32_t pin_exists;      /* something is pinned at the pin path */
	int32_t pin_ok;          /* ... and it has the shared shape */
	uint32_t pin_map_id;     /* its map id, or 0 */
	uint32_t other_maps;     /* loaded maps named tld_data_map that are not the pinned one */
	uint32_t pin_users;      /* loaded programs that use the pinned map */
	uint32_t other_users;    /* loaded programs that use another map named tld_data_map */
	char pin_path[256];
	char pin_problem[256];   /* why the pin was refused, stale or split, or "" */
	uint32_t pin_tasks;      /* tasks with an entry in the pinned map */
	char pin_advice[4096];   /* what to do about pin_problem: never removes a pin in use */
};

/* Fills @host; works without privileges (fields it cannot check stay 0). */
int32_t tldh_host_report(const char *pin_path, struct tldh_host *host, struct tldh_error *err);

/* ---- BPF objects: check before loading, load with the verifier's log, list, unload ---- */

#define TLDH_SEV_WARNING 1
#define TLDH_SEV_ERROR 2

/* One finding of tldh_object_check(). */
struct tldh_finding {
	int32_t severity;  /* TLDH_SEV_* */
	char code[32];     /* uptr-forward, tld-map-shape, no-license, no-programs, no-sched-ext, prog-type */
	char subject[64];  /* the map, program or struct it is about */
	char message[416];
};

/*
 * Checks the BPF object at @path without loading it: a uptr whose struct is only
 * forward-declared, a tld_data_map of another shape than the shared one, no
 * license, no programs, program types this kernel lacks, a sched_ext scheduler
 * on a kernel without sched_ext. Fills up to @cap findings; *n is how many
 * there are. -ENOENT for a missing file, -EINVAL for a file that is not a BPF object.
 */
int32_t tldh_object_check(const char *path, struct tldh_finding *out, uint32_t cap, uint32_t *n,
			  struct tldh_error *err);

/*
 * Reads the file at @path as user @uid with group @gid and that user's
 * supplementary groups would, in a child process that takes exactly those
 * credentials (and holds none of this process's fds): so a privileged caller
 * never opens a path for someone else with its own rights. Fills @buf and sets
 * *len. Returns the error that user gets (-ENOENT, -EACCES, -ELOOP...),
 * -EINVAL for what is not a regular file, -EFBIG for a file larger than @cap,
 * -EPERM when this process cannot take those credentials (it is not root).
 */
int32_t tldh_read_as(const char *path, uint32_t uid, uint32_t gid, uint8_t *buf, size_t cap, size_t *len,
		     struct tldh_error *err);

#define TLDH_MAX_LOADED 32

struct tldh_load_result {
	char object[64];         /* the object's name: its programs are pinned under PIN_ROOT/OBJECT/ */
	char failed_program[64]; /* the program the verifier rejected, or "" */
	int32_t log_grown;       /* the log did not fit at first: the buffer was grown and the load retried */
	uint32_t log_len;        /* bytes of the verifier's log written to the caller's buffer */
	uint32_t n_ids;
	uint32_t prog_ids[TLDH_MAX_LOADED];
	uint32_t attached;       /* programs attached (links pinned) */
};

/*
 * Loads every program and map of @path, sharing tld_data_map through the pin
 * @map_pin_path, and pins the programs (and with @attach their links, and
 * struct_ops maps registered) under @pin_root/OBJECT/ so they outlive this
 * call. @pin_root is an absolute path without "." or ".." components that ends
 * on bpffs; it is walked through folder fds without following a symlink, and
 * folders are created in bpffs only (-EINVAL, -ELOOP, -EXDEV otherwise); OBJECT
 * must not exist yet (-EEXIST). On a verifier failure returns its error, names the program and writes
 * its whole log (grown and retried when cut short) to @log; nothing stays
 * loaded or pinned after any failure.
 */
int32_t tldh_object_load(const char *path, const char *map_pin_path, const char *pin_root, int32_t attach,
			 char *log, size_t log_cap, struct tldh_load_result *res, struct tldh_error *err);

/*
 * Makes tldh_object_load() run with only @caps effective (a mask of 1 << CAP_*
 * bits; 0 lifts the limit): a privileged host serving an ordinary user loads
 * that user's objects with CAP_BPF and CAP_PERFMON, so an object gets nothing a
 * process holding just those would not (helpers and attachments that need
 * CAP_SYS_ADMIN are refused by the kernel). Only the calling thread's
 * capabilities change, and only during the load.
 */
int32_t tldh_limit_load_caps(uint64_t caps, struct tldh_error *err);

struct tldh_prog {
	uint32_t id;
	uint32_t type;
	char name[16];
	char type_name[32];
	uint32_t insns;          /* translated instructions */
	uint32_t verified_insns; /* instructions the verifier processed */
	uint32_t jited_len;      /* bytes of JIT code */
	uint32_t nr_map_ids;
	uint32_t map_ids[8];
	uint64_t run_cnt;        /* with kernel.bpf_stats_enabled=1 */
	uint64_t run_time_ns;
	int32_t ours;            /* pinned under the pin root: loaded by TLD Studio */
	char pin[192];           /* where, when ours */
};

/* Every loaded program; *n is how many there are (up to @cap filled). Pin root as for tldh_object_load(). */
int32_t tldh_prog_list(const char *pin_root, struct tldh_prog *out, uint32_t cap, uint32_t *n,
		       struct tldh_error *err);

/*
 * Removes the object folder under @pin_root whose pins include program @id (a
 * program pin, never a map's or a link's of the same id): its pins and links.
 * -ENOENT when no folder under @pin_root keeps it.
 */
int32_t tldh_prog_unload(const char *pin_root, uint32_t id, struct tldh_error *err);

/*
 * Starts tracing the scheduling of process @pid's threads (tld_trace.bpf.c:
 * on and off a CPU, wake-ups, DSQs under sched_ext) into a ring buffer. One
 * trace at a time: -EBUSY while one runs; -ESRCH when @pid does not exist;
 * -EPERM without CAP_BPF + CAP_PERFMON.
 */
int32_t tldh_trace_start(int32_t pid, struct tldh_error *err);

/*
 * Moves the events gathered since the last call into @buf as TRACE records
 * (tldh_records.h), without waiting; *lost is how many events found the ring
 * buffer full so far. -ENOSPC with *len the size needed (the events stay);
 * -EBADF when no trace runs.
 */
int32_t tldh_trace_read(uint8_t *buf, size_t cap, size_t *len, uint64_t *lost, struct tldh_error *err);

/* Stops the trace and drops what was not read. */
void tldh_trace_stop(void);

#ifdef __cplusplus
}
#endif

#endif
