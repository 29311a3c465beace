/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The records the helper's BPF iterators write and the helper hands to its
 * callers unchanged: one definition for the BPF side (bpf/helper/), the C
 * helper (native/helper/) and the TypeScript decoder, which mirrors it in
 * extension/src/client/records.ts (test/integration/layoutProbe.test.ts
 * compares the two). A stream is a sequence of records, each a
 * struct tldh_rec header followed by `size` bytes of payload, 8-byte aligned.
 */
#ifndef TLDH_RECORDS_H
#define TLDH_RECORDS_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#define TLDH_COMM_LEN 16

enum tldh_rec_type {
	/* A process's metadata page: struct tldh_meta_rec, then `len` bytes of the page. */
	TLDH_REC_META = 1,
	/* One thread: struct tldh_thread_rec, then `data_len` bytes of its data page from its first byte. */
	TLDH_REC_THREAD = 2,
	/* One thread written by a write request: struct tldh_thread_rec with data_len 0. */
	TLDH_REC_WRITTEN = 3,
};

struct tldh_rec {
	__u32 type;
	__u32 size; /* payload bytes after this header, a multiple of 8 */
};

struct tldh_meta_rec {
	__u32 tgid;
	__u32 len;       /* bytes of the metadata page that follow: TLD_META_SIZE_FOR(page_size) */
	__u32 page_size; /* the map's page size (tld_layout.h) */
	__u32 layout;    /* the map's enum tld_layout_rev */
};

/* Flags of a thread record. */
#define TLDH_THREAD_HAS_ENTRY 1u /* the thread has a map entry */
#define TLDH_THREAD_HAS_DATA 2u  /* ... whose data page is pinned */
#define TLDH_THREAD_HAS_META 4u  /* ... and whose metadata page is pinned */

struct tldh_thread_rec {
	__u32 tid;
	__u32 tgid;
	__u32 flags;
	__u32 data_len;
	/* Where the data area starts in the page: the page's own `start`, or the map value's (layout). */
	__u64 start;
	char comm[TLDH_COMM_LEN];
	/* For a process listing: keys published and bytes they use, from this thread's metadata. */
	__u32 key_cnt;
	__u32 used;
	__u32 page_size; /* the map's page size */
	__u32 layout;    /* the map's enum tld_layout_rev */
};

#endif
