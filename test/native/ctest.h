/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A small harness for the C tests: `prog --list` names the cases, `prog CASE`
 * runs one in a fresh process with a private bpffs pin folder, removed at
 * exit. test/native/native.test.ts runs every case under node --test.
 * Exit 0 passes, 77 skips (the reason on stdout), anything else fails.
 */
#ifndef CTEST_H
#define CTEST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond, ...)                                                              \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n  ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                                 \
			fputc('\n', stderr);                                          \
			exit(1);                                                      \
		}                                                                     \
	} while (0)

#define CHECK_EQ(a, b)                                                                \
	do {                                                                          \
		long long __a = (long long)(a), __b = (long long)(b);                 \
		CHECK(__a == __b, "%s is %lld, expected %lld (%s)", #a, __a, __b, #b); \
	} while (0)

struct ctest_case {
	const char *name;
	void (*fn)(void);
};

#define CTEST(fn) { #fn, fn }

/* Tells the runner which kernel features a case used. */
static inline void ctest_uses(const char *features)
{
	printf("uses: %s\n", features);
	fflush(stdout);
}

static char ctest_pin_dir[128];

static void ctest_cleanup(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/tld_data_map", ctest_pin_dir);
	unlink(path);
	rmdir(ctest_pin_dir);
}

static inline int ctest_main(int argc, char **argv, const struct ctest_case *cases, size_t n)
{
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", cases[i].name);
		return 0;
	}
	for (size_t i = 0; argc == 2 && i < n; i++) {
		if (strcmp(argv[1], cases[i].name))
			continue;
		/* A private pin folder: the case's map is its own, and goes with it. */
		snprintf(ctest_pin_dir, sizeof(ctest_pin_dir), "/sys/fs/bpf/tld-test-%d", getpid());
		setenv("TLD_PIN_DIR", ctest_pin_dir, 1);
		atexit(ctest_cleanup);
		cases[i].fn();
		return 0;
	}
	fprintf(stderr, "usage: %s --list | CASE\n", argv[0]);
	return 2;
}

#define CTEST_MAIN(...)                                                               \
	int main(int argc, char **argv)                                               \
	{                                                                             \
		static const struct ctest_case cases[] = { __VA_ARGS__ };             \
		return ctest_main(argc, argv, cases, sizeof(cases) / sizeof(cases[0])); \
	}

#endif
