/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The record tld_test.bpf.c writes per thread, shared with the C tests that read it. */
#ifndef TLD_TEST_H
#define TLD_TEST_H

/* Key slots, in the ready-made cache and in the record. */
enum {
	TLD_TEST_A,        /* "test.a", u64 */
	TLD_TEST_B,        /* "test.b", u32 */
	TLD_TEST_PLUGIN,   /* "test.plugin", u32: from a library dlopen'ed later */
	TLD_TEST_LATE,     /* "test.late", u16: added after threads resolved */
	TLD_TEST_CPP_INT,  /* "test.cpp.int", int: tld::variable<int> */
	TLD_TEST_CPP_PAIR, /* "test.cpp.pair", struct tld_test_pair: tld::variable<struct> */
	TLD_TEST_KEYS,
};

/* The syscall whose entry the tp_btf reader watches: getpid on x86_64. */
#define TLD_TEST_SYSCALL 39

struct tld_test_pair {
	__u64 x;
	__u32 y;
	__u8 z;
};

struct tld_test_record {
	__u32 tid;
	__u32 found; /* bit per slot */
	__u32 has_entry;
	__u32 pair_y;
	__u64 vals[TLD_TEST_KEYS];
};

#endif
