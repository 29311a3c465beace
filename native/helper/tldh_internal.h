/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the parts of libtldhelper share. */
#ifndef TLDH_INTERNAL_H
#define TLDH_INTERNAL_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tldhelper.h"
#include "tld_layout.h"

#define TLDH_HIDDEN __attribute__((visibility("hidden")))

/* Every public call holds this: the BPF programs' arguments are globals. */
extern TLDH_HIDDEN pthread_mutex_t tldh_lock;

/* Sets *err and returns @code (a negative errno). */
TLDH_HIDDEN int tldh_fail(struct tldh_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
TLDH_HIDDEN void tldh_ok(struct tldh_error *err);
/* A sentence on how to get a missing privilege, for -EPERM. */
TLDH_HIDDEN const char *tldh_priv_hint(int code);

/*
 * Around a BPF load. The verifier gives up with EAGAIN when a signal is pending for the loading
 * thread, and libbpf tries each program 5 times: in a thread that gets a signal every millisecond
 * (V8's profiler sends SIGPROF) a program that takes longer to verify never loads. The hold blocks
 * the asynchronous signals of the calling thread; those that came meanwhile are delivered when
 * tldh_signals_release() restores @saved.
 */
TLDH_HIDDEN void tldh_signals_hold(sigset_t *saved);
TLDH_HIDDEN void tldh_signals_release(const sigset_t *saved);

/* libtld's first diagnostic line while a call runs (set tld_set_print(tldh_capture_first)). */
TLDH_HIDDEN void tldh_capture_reset(void);
TLDH_HIDDEN void tldh_capture_first(const char *msg);
TLDH_HIDDEN const char *tldh_captured(void);

/* The pin path for @pin_path as tldh_open() documents it. */
TLDH_HIDDEN void tldh_resolve_pin(const char *pin_path, char *out, size_t len);

/* The map fd of the open helper, or -1 (tldh_core.c). */
TLDH_HIDDEN int tldh_map_fd(void);
struct tld_map_shape;
/* The open map's layout revision and page size. */
TLDH_HIDDEN struct tld_map_shape tldh_map_shape(void);

/*
 * The ids of @pid's threads, listed in the kernel into the helper's own
 * memory: valid, and the caller's to modify, until the next call. Call with
 * tldh_lock held. Returns 0, or negative errno (-ESRCH: no such process;
 * -E2BIG: more than TLDH_MAX_LISTED threads).
 */
TLDH_HIDDEN int tldh_thread_ids(int pid, uint32_t **tids, size_t *n, struct tldh_error *err);

/* Whether the running kernel has sched_ext (tldh_host.c). */
TLDH_HIDDEN bool tldh_kernel_has_sched_ext(void);

/* tldh_attach.c: releases every attached process (at close). */
TLDH_HIDDEN void tldh_detach_all(void);

#endif
