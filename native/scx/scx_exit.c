/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * How the kernel ended a scheduler, for tld-scx-run (scx_exit.h): the object's exit record,
 * else sched_ext's lines in the kernel log, and the likely cause the runner can tell.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "scx_exit.h"

/*
 * A struct global that records the exit as scx's user_exit_info does: an int "kind", char
 * arrays "reason" and "msg", maybe an 8-byte "exit_code". Fills @e from it; false otherwise.
 */
bool scx_exit_record_of(const struct btf *btf, const struct scx_global *v, struct scx_exit_record *e)
{
	const struct btf_type *t = btf__type_by_id(btf, v->type_id), *kt, *rt, *mt;
	const struct btf_member *kind, *code, *reason, *msg;
	const char *base = scx_global_data(v);

	if (!t || !btf_is_struct(t) || !base)
		return false;
	kind = scx_btf_member(btf, t, "kind");
	code = scx_btf_member(btf, t, "exit_code");
	reason = scx_btf_member(btf, t, "reason");
	msg = scx_btf_member(btf, t, "msg");
	if (!kind || !reason || !msg)
		return false;
	kt = scx_btf_resolved(btf, kind->type);
	rt = scx_btf_resolved(btf, reason->type);
	mt = scx_btf_resolved(btf, msg->type);
	if (!kt || !btf_is_int(kt) || kt->size != 4 || !rt || !btf_is_array(rt) || !mt || !btf_is_array(mt))
		return false;
	e->kind = (const volatile __s32 *)(base + btf_member_bit_offset(t, kind - btf_members(t)) / 8);
	e->exit_code = NULL;
	if (code) {
		const struct btf_type *ct = scx_btf_resolved(btf, code->type);

		if (ct && btf_is_int(ct) && ct->size == 8)
			e->exit_code = (const volatile __s64 *)(base + btf_member_bit_offset(t, code - btf_members(t)) / 8);
	}
	e->reason = base + btf_member_bit_offset(t, reason - btf_members(t)) / 8;
	e->reason_len = btf_array(rt)->nelems;
	e->msg = base + btf_member_bit_offset(t, msg - btf_members(t)) / 8;
	e->msg_len = btf_array(mt)->nelems;
	return true;
}

static const char *kind_class(int kind)
{
	if (kind >= 1024)
		return "error";
	if (kind >= 64)
		return "unregistered by the system";
	return "done";
}

bool scx_exit_recorded(const struct scx_exit_record *e)
{
	return e->kind && *e->kind;
}

static void print_exit(const struct scx_exit_record *e)
{
	printf("tld-scx-run: the kernel disabled the scheduler (%s, kind %d, exit code %lld): %.*s%s%.*s\n",
	       kind_class(*e->kind), *e->kind, e->exit_code ? (long long)*e->exit_code : 0LL,
	       (int)e->reason_len, e->reason, e->msg[0] ? ": " : "", (int)e->msg_len, e->msg);
	fflush(stdout);
}

/*
 * The kernel log from here on, to read why the scheduler was disabled when the object
 * keeps no exit record. -1 when it cannot be read (no /dev/kmsg, no privilege).
 */
int scx_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * Appends to @buf (holding @at bytes) sched_ext's own lines about the disable that reached
 * the kernel log since kmsg_open: "sched_ext: BPF scheduler "NAME" disabled (REASON)" and
 * the "sched_ext: NAME: MSG" lines after it. Returns the new length.
 */
static size_t kmsg_collect(int fd, char *buf, size_t len, size_t at)
{
	char rec[2048];
	ssize_t n;

	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		char *msg;

		if (n <= 0)
			continue; /* EPIPE: records were overwritten; go on with the next */
		rec[n] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		msg[strcspn(msg, "\n")] = 0;
		if (strncmp(msg, "sched_ext: ", 11) || (!at && !strstr(msg, "disabled (")))
			continue;
		at += snprintf(buf + at, at < len ? len - at : 0, "%s%s", at ? "; " : "", msg + 11);
		if (at >= len)
			return len - 1;
	}
	return at;
}

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Whether @text mentions @name as a whole identifier. */
static bool mentions(const char *text, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = text; (p = strstr(p, name)); p++)
		if ((p == text || !ident_char(p[-1])) && !ident_char(p[n]))
			return true;
	return false;
}

/* Whether @v is a rodata number the user did not set and that is still 0, its usual default. */
static bool unset_rodata(const struct scx_global *v)
{
	return v->rodata && !v->set_by_user && !v->set_by_loader && !v->from_kernel && !v->kernel_missing &&
	       (v->kind == SCX_GLOBAL_INT || v->kind == SCX_GLOBAL_BOOL || v->kind == SCX_GLOBAL_ENUM) &&
	       scx_global_number(v) == 0;
}

/*
 * What the runner can tell of why the kernel threw the scheduler out: kernel constants
 * left 0, and rodata still at a zero default that the kernel's message @why names. Only
 * when neither is found, the rodata globals left at 0, as candidates.
 */
static void print_likely_cause(const struct scx_globals *g, const char *why)
{
	char cause[1024];
	size_t at = 0;

#define ADD(...) (at += snprintf(cause + at, at < sizeof(cause) ? sizeof(cause) - at : 0, __VA_ARGS__))
	for (int i = 0; i < g->n; i++) {
		const struct scx_global *v = &g->v[i];

		if (v->kernel_missing && !v->set_by_user)
			ADD("%s%s was left 0: the running kernel has no %s", at ? "; " : "", v->name, v->name + 2);
		else if (unset_rodata(v) && why && mentions(why, v->name))
			ADD("%sthe rodata global %s is still its default 0 and the exit message names it: set it with --set %s=VALUE",
			    at ? "; " : "", v->name, v->name);
	}
	if (!at) {
		for (int i = 0; i < g->n; i++)
			if (unset_rodata(&g->v[i]))
				ADD("%s%s", at ? ", " : "rodata still at its default 0: ", g->v[i].name);
		if (at)
			ADD(" (--set NAME=VALUE if the scheduler needs one set)");
	}
#undef ADD
	if (at) {
		printf("tld-scx-run: likely cause: %s\n", cause);
		fflush(stdout);
	}
}

/*
 * The kernel logs the disable from a worker, a moment after the state changes: waits up to
 * two seconds for it, then for the lines that follow it to stop coming.
 */
static bool kmsg_wait(int fd, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = 0;
	for (int w = 0; fd >= 0 && w < 40; w++) {
		size_t before = at;

		at = kmsg_collect(fd, buf, len, at);
		if (at && at == before)
			break;
		usleep(50000);
	}
	return at > 0;
}

/* Says how the kernel ended the scheduler: its exit record, else the kernel log; then why. */
/* The kernel's debug dump of the scheduler's state, as scx's loaders print it, when there is one. */
static void print_dump(const struct scx_exit_record *e)
{
	size_t n = e->dump ? strnlen(e->dump, e->dump_len) : 0;

	if (!n)
		return;
	printf("tld-scx-run: the kernel's debug dump follows (%zu bytes)\n%.*s%s", n, (int)n, e->dump,
	       e->dump[n - 1] == '\n' ? "" : "\n");
	printf("tld-scx-run: end of the debug dump\n");
	fflush(stdout);
}

void scx_report_exit(const struct scx_exit_record *e, const struct scx_globals *g, int kmsg)
{
	char why[2048] = "";

	if (scx_exit_recorded(e)) {
		print_exit(e);
		snprintf(why, sizeof(why), "%.*s: %.*s", (int)e->reason_len, e->reason,
			 (int)e->msg_len, e->msg);
	} else if (kmsg_wait(kmsg, why, sizeof(why))) {
		printf("tld-scx-run: the kernel disabled the scheduler (from the kernel log): %s\n", why);
	} else {
		printf("tld-scx-run: the kernel disabled the scheduler; it keeps no exit record and the kernel log above says why\n");
	}
	print_likely_cause(g, why);
	print_dump(e);
}
