/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The binary layout of task local data, shared by user space (libtld, the
 * helper) and BPF programs (tld.bpf.h). It mirrors the layout of the upstream
 * task local data in the Linux BPF selftests, both of its revisions, so that
 * either side can be upstream's and the other ours. Plain C only: no _Atomic,
 * so C++ and BPF can include it; user space uses __atomic builtins on the u16
 * fields. TypeScript's one copy is extension/src/client/layout.ts, checked
 * against this header by test/integration/layoutProbe.test.ts.
 *
 * Page size. Each page is one system page: user space follows getpagesize() at
 * run time (the *_FOR(page) macros); a BPF program is compiled for one page
 * size, TLD_PAGE_SIZE (default the __PAGE_SIZE its vmlinux.h says), because its
 * uptr structs' sizes are its BTF, which the kernel checks against the real
 * page when a BPF object creates the map, and the verifier bounds every access
 * by the map's struct size: constants, not run-time values.
 *
 * Revisions. Upstream's first revision (TLD_LAYOUT_START_IN_PAGE) keeps the
 * offset of the data area, `start`, in the first u64 of the data page; its
 * later one (TLD_LAYOUT_START_IN_VALUE) keeps it in the map value, whose size
 * then is 24 bytes. A map's value BTF (or its value size) says which one it is.
 */
#ifndef TLD_LAYOUT_H
#define TLD_LAYOUT_H

#ifndef __bpf__
#include <linux/types.h>
#endif

/* The page sizes the layout supports: 4 KiB to 64 KiB (x86, arm64's 16 and 64 KiB kernels). */
#define TLD_PAGE_SIZE_MIN 4096
#define TLD_PAGE_SIZE_MAX 65536
/* A metadata entry: a NUL-padded name and the value's size, 64 bytes in all. */
#define TLD_NAME_LEN 62
#define TLD_ENTRY_SIZE 64
/* Longest name: one byte of the field stays NUL so both sides compare C strings. */
#define TLD_NAME_MAX (TLD_NAME_LEN - 1)
/* The metadata page holds a 4-byte header then the entries: page / 64 - 1 of them. */
#define TLD_META_HEADER 4
#define TLD_MAX_KEYS_FOR(page) ((page) / TLD_ENTRY_SIZE - 1)
/* The bytes of a metadata page's struct: header and entries (4036 for 4 KiB pages). */
#define TLD_META_SIZE_FOR(page) (TLD_META_HEADER + TLD_MAX_KEYS_FOR(page) * TLD_ENTRY_SIZE)
/* libtld gives each thread a whole page; its data area starts right after `start`. */
#define TLD_DATA_START 8
#define TLD_DATA_MAX_FOR(page) ((page) - TLD_DATA_START)
/* Values are packed in key order, each rounded up to this alignment. */
#define TLD_VALUE_ALIGN 8
#define TLD_ROUND_UP(x) (((x) + TLD_VALUE_ALIGN - 1) & ~(TLD_VALUE_ALIGN - 1))

/* Default bpffs pin of the shared map; TLD_PIN_DIR in the environment overrides the folder. */
#define TLD_DEFAULT_PIN_DIR "/sys/fs/bpf/tld"
#define TLD_MAP_NAME "tld_data_map"

/* Where a map keeps `start`: its layout revision. */
enum tld_layout_rev {
	/* Upstream's first revision: the data page's first u64 (value: data, meta). */
	TLD_LAYOUT_START_IN_PAGE = 1,
	/* Its later one: the map value's u16 after the two uptrs (value: data, meta, start). */
	TLD_LAYOUT_START_IN_VALUE = 2,
};
#define TLD_MAP_VALUE_SIZE_PAGE 16
#define TLD_MAP_VALUE_SIZE_VALUE 24

#ifdef __bpf__
#ifndef TLD_PAGE_SIZE
/*
 * The page size of the kernel the program is built for: vmlinux.h (included first) carries
 * the kernel's `enum page_size_enum { __PAGE_SIZE = PAGE_SIZE }` (the 6.18 kernels checked
 * here have it), as upstream's BPF header uses it. -DTLD_PAGE_SIZE=N overrides it.
 */
#define TLD_PAGE_SIZE __PAGE_SIZE
#endif
#define TLD_MAX_KEYS TLD_MAX_KEYS_FOR(TLD_PAGE_SIZE)
#define TLD_DATA_MAX TLD_DATA_MAX_FOR(TLD_PAGE_SIZE)
#define __TLD_FIXED(n) n
#else
/* User space: pages are as large as the system's, so the arrays are open. */
#define __TLD_FIXED(n)
#endif

struct tld_meta_entry {
	char name[TLD_NAME_LEN];
	/* Stored last, with release order: 0 means "claimed but not published yet". */
	__u16 size;
};

struct tld_meta_page {
	/*
	 * Entries claimed so far (compare-and-swap). Read as a u16 by every reader
	 * here and by upstream's current headers; upstream's first BPF header read a
	 * u8, which works while the count stays below 256 (always with 4 KiB pages).
	 */
	__u16 cnt;
	/* Bytes of data area each thread has (informational; lookups never need it). */
	__u16 size;
	struct tld_meta_entry entries[__TLD_FIXED(TLD_MAX_KEYS)];
};

struct tld_data_page {
	/*
	 * START_IN_PAGE: offset of the data area from this page's first byte.
	 * START_IN_VALUE: unused by readers; libtld writes 8 here too, so the
	 * page reads the same under either revision.
	 */
	__u64 start;
	__u8 data[__TLD_FIXED(TLD_DATA_MAX)];
};

#ifdef __bpf__
/* The type tag that makes the kernel pin these pointers as user pages. */
#define TLD_UPTR(type) type __attribute__((btf_type_tag("uptr"))) *
#else
#define TLD_UPTR(type) type *
#endif

#ifdef __bpf__
/*
 * The uptr pitfall: clang emits only a forward declaration of a struct
 * reached through a pointer in a map definition, and the kernel then takes
 * the uptr for a plain number. These arrays take no space; they make every
 * object that declares the map carry both structs in full.
 */
#define __TLD_BTF_PAGES                        \
	struct tld_data_page __btf_data[0];    \
	struct tld_meta_page __btf_meta[0];
#else
#define __TLD_BTF_PAGES
#endif

/* Value of the task storage map, keyed by a (thread) pidfd: TLD_LAYOUT_START_IN_PAGE. */
struct tld_map_value {
	TLD_UPTR(struct tld_data_page) data;
	TLD_UPTR(struct tld_meta_page) meta;
	__TLD_BTF_PAGES
};

/* The value of TLD_LAYOUT_START_IN_VALUE: `data` is the page's first byte, the data area is at data + start. */
struct tld_map_value_v2 {
	TLD_UPTR(struct tld_data_page) data;
	TLD_UPTR(struct tld_meta_page) meta;
	__u16 start;
	__TLD_BTF_PAGES
};

#ifndef __cplusplus
_Static_assert(sizeof(struct tld_meta_entry) == TLD_ENTRY_SIZE, "metadata entry is 64 bytes");
_Static_assert(__builtin_offsetof(struct tld_meta_page, entries) == TLD_META_HEADER,
	       "entries follow a 4-byte header");
_Static_assert(sizeof(struct tld_map_value) == TLD_MAP_VALUE_SIZE_PAGE, "map value is two pointers");
_Static_assert(sizeof(struct tld_map_value_v2) == TLD_MAP_VALUE_SIZE_VALUE,
	       "the later map value is two pointers and a u16, padded");
#ifdef __bpf__
_Static_assert(sizeof(struct tld_meta_page) == TLD_META_SIZE_FOR(TLD_PAGE_SIZE), "metadata fits a page");
_Static_assert(sizeof(struct tld_data_page) == TLD_PAGE_SIZE, "data page is one page");
#endif
#endif

#endif /* TLD_LAYOUT_H */
