/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libtldhelper: what the TLD Studio tools know of live processes that use
 * task local data. Written for koffi: plain types, explicit lengths, and on
 * every call a return of 0 or a negative errno with a message in *err.
 * extension/src/client/helperAbi.ts mirrors this header.
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

#define TLDH_ABI_VERSION 1
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
 * has task local data.
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
	char pin_problem[256];   /* why the pin was refused, or "" */
};

/* Fills @host; works without privileges (fields it cannot check stay 0). */
int32_t tldh_host_report(const char *pin_path, struct tldh_host *host, struct tldh_error *err);

#ifdef __cplusplus
}
#endif

#endif
