/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Tracing one process's scheduling: loads tld_trace.bpf.c for the process,
 * drains its ring buffer into TRACE records on request, and unloads it.
 * One trace at a time per helper; it has a lock of its own, so snapshots
 * run beside it.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "tldh_internal.h"
#include "tldh_records.h"
#include "tld_trace.skel.h"

static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tld_trace_bpf *trace;
static struct ring_buffer *ring;
/* Drained records not yet handed out (a caller's buffer was too small). */
static uint8_t *pending;
static size_t pending_len, pending_cap;

static int on_event(void *ctx, void *data, size_t size)
{
	struct tldh_rec h = { TLDH_REC_TRACE, sizeof(struct tldh_trace_rec) };
	size_t need = pending_len + sizeof(h) + sizeof(struct tldh_trace_rec);

	(void)ctx;
	if (size < sizeof(struct tldh_trace_rec))
		return 0;
	if (need > pending_cap) {
		size_t ncap = pending_cap ? pending_cap * 2 : 1 << 16;
		uint8_t *p;

		while (ncap < need)
			ncap *= 2;
		p = realloc(pending, ncap);
		if (!p)
			return -ENOMEM;
		pending = p;
		pending_cap = ncap;
	}
	memcpy(pending + pending_len, &h, sizeof(h));
	memcpy(pending + pending_len + sizeof(h), data, sizeof(struct tldh_trace_rec));
	pending_len = need;
	return 0;
}

static void stop_locked(void)
{
	ring_buffer__free(ring);
	ring = NULL;
	tld_trace_bpf__destroy(trace);
	trace = NULL;
	free(pending);
	pending = NULL;
	pending_len = pending_cap = 0;
}

int32_t tldh_trace_start(int32_t pid, struct tldh_error *err)
{
	sigset_t saved;
	int rc = 0;

	pthread_mutex_lock(&trace_lock);
	if (trace) {
		rc = tldh_fail(err, -EBUSY, "a trace is running already (stop it first)");
		goto out;
	}
	if (pid <= 0 || (kill(pid, 0) && errno == ESRCH)) {
		rc = tldh_fail(err, -ESRCH, "process %d does not exist", pid);
		goto out;
	}
	trace = tld_trace_bpf__open();
	if (!trace) {
		rc = tldh_fail(err, -errno, "cannot open the tracer: %s", strerror(errno));
		goto out;
	}
	trace->rodata->trace_tgid = pid;
	tldh_signals_hold(&saved);
	rc = tld_trace_bpf__load(trace);
	tldh_signals_release(&saved);
	if (rc) {
		rc = tldh_fail(err, rc, "cannot load the tracer: %s%s", strerror(-rc), tldh_priv_hint(rc));
		goto fail;
	}
	ring = ring_buffer__new(bpf_map__fd(trace->maps.events), on_event, NULL, NULL);
	if (!ring) {
		rc = tldh_fail(err, -errno, "cannot open the tracer's ring buffer: %s", strerror(errno));
		goto fail;
	}
	rc = tld_trace_bpf__attach(trace);
	if (rc) {
		rc = tldh_fail(err, rc, "cannot attach the tracer to the scheduler's tracepoints: %s%s",
			       strerror(-rc), tldh_priv_hint(rc));
		goto fail;
	}
	tldh_ok(err);
	goto out;
fail:
	stop_locked();
out:
	pthread_mutex_unlock(&trace_lock);
	return rc;
}

int32_t tldh_trace_read(uint8_t *buf, size_t cap, size_t *len, uint64_t *lost, struct tldh_error *err)
{
	int rc = 0;

	pthread_mutex_lock(&trace_lock);
	*len = 0;
	if (!trace) {
		rc = tldh_fail(err, -EBADF, "no trace is running (call tldh_trace_start first)");
		goto out;
	}
	rc = ring_buffer__consume(ring);
	if (rc < 0) {
		rc = tldh_fail(err, rc, "reading the tracer's ring buffer failed: %s", strerror(-rc));
		goto out;
	}
	rc = 0;
	*lost = trace->bss->lost;
	*len = pending_len;
	if (pending_len > cap) {
		rc = tldh_fail(err, -ENOSPC, "the events need %zu bytes, the buffer has %zu", pending_len, cap);
		goto out;
	}
	memcpy(buf, pending, pending_len);
	pending_len = 0;
	tldh_ok(err);
out:
	pthread_mutex_unlock(&trace_lock);
	return rc;
}

void tldh_trace_stop(void)
{
	pthread_mutex_lock(&trace_lock);
	stop_locked();
	pthread_mutex_unlock(&trace_lock);
}
