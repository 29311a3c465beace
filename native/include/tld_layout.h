/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The binary layout of task local data, shared by user space (libtld, the
 * helper) and BPF programs (tld.bpf.h). It mirrors the layout of the upstream
 * task local data in the Linux BPF selftests, so that either side can be
 * upstream's and the other ours. Plain C only: no _Atomic, so C++ and BPF
 * can include it; user space uses __atomic builtins on the u16 fields.
 * TypeScript's one copy is extension/src/client/layout.ts, checked against
 * this header by test/integration/layoutProbe.test.ts.
 */
#ifndef TLD_LAYOUT_H
#define TLD_LAYOUT_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* The kernel pins uptr pointees that fit in one page; the layout assumes 4 KiB pages. */
#define TLD_PAGE_SIZE 4096
/* A metadata entry: a NUL-padded name and the value's size, 64 bytes in all. */
#define TLD_NAME_LEN 62
#define TLD_ENTRY_SIZE 64
/* Longest name: one byte of the field stays NUL so both sides compare C strings. */
#define TLD_NAME_MAX (TLD_NAME_LEN - 1)
/* The metadata page holds a 4-byte header then the entries: 63 of them. */
#define TLD_MAX_KEYS (TLD_PAGE_SIZE / TLD_ENTRY_SIZE - 1)
/* libtld gives each thread a whole page; its data area starts right after `start`. */
#define TLD_DATA_START 8
#define TLD_DATA_MAX (TLD_PAGE_SIZE - TLD_DATA_START)
/* Values are packed in key order, each rounded up to this alignment. */
#define TLD_VALUE_ALIGN 8
#define TLD_ROUND_UP(x) (((x) + TLD_VALUE_ALIGN - 1) & ~(TLD_VALUE_ALIGN - 1))

/* Default bpffs pin of the shared map; TLD_PIN_DIR in the environment overrides the folder. */
#define TLD_DEFAULT_PIN_DIR "/sys/fs/bpf/tld"
#define TLD_MAP_NAME "tld_data_map"

struct tld_meta_entry {
	char name[TLD_NAME_LEN];
	/* Stored last, with release order: 0 means "claimed but not published yet". */
	__u16 size;
};

struct tld_meta_page {
	/*
	 * Entries claimed so far (compare-and-swap). Read as a u16 by every reader
	 * here and by upstream's current headers; upstream's first BPF header read a
	 * u8, which still works: the count is at most 63, so its high byte is 0.
	 */
	__u16 cnt;
	/* Bytes of data area each thread has (informational; lookups never need it). */
	__u16 size;
	struct tld_meta_entry entries[TLD_MAX_KEYS];
};

struct tld_data_page {
	/* Offset of the data area from this page's first byte. */
	__u64 start;
	__u8 data[TLD_PAGE_SIZE - sizeof(__u64)];
};

#ifdef __bpf__
/* The type tag that makes the kernel pin these pointers as user pages. */
#define TLD_UPTR(type) type __attribute__((btf_type_tag("uptr"))) *
#else
#define TLD_UPTR(type) type *
#endif

/* Value of the task storage map, keyed by a (thread) pidfd. */
struct tld_map_value {
	TLD_UPTR(struct tld_data_page) data;
	TLD_UPTR(struct tld_meta_page) meta;
#ifdef __bpf__
	/*
	 * The uptr pitfall: clang emits only a forward declaration of a struct
	 * reached through a pointer in a map definition, and the kernel then
	 * takes the uptr for a plain number. These arrays take no space; they
	 * make every object that declares the map carry both structs in full.
	 */
	struct tld_data_page __btf_data[0];
	struct tld_meta_page __btf_meta[0];
#endif
};

#ifndef __cplusplus
_Static_assert(sizeof(struct tld_meta_entry) == TLD_ENTRY_SIZE, "metadata entry is 64 bytes");
_Static_assert(__builtin_offsetof(struct tld_meta_page, entries) == 4, "entries follow a 4-byte header");
_Static_assert(sizeof(struct tld_meta_page) <= TLD_PAGE_SIZE, "metadata fits a page");
_Static_assert(sizeof(struct tld_data_page) == TLD_PAGE_SIZE, "data page is one page");
_Static_assert(sizeof(struct tld_map_value) == 16, "map value is two pointers");
#endif

#endif /* TLD_LAYOUT_H */
