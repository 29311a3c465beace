/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Prints, as one JSON document, the size and field offsets of every struct the
 * TypeScript side mirrors (tld_layout.h, tldh_records.h, tldhelper.h) and the
 * constants it copies, as this compiler lays them out. test/integration/
 * layoutProbe.test.ts compares them with layout.ts, records.ts and koffi.
 */
#include <stddef.h>
#include <stdio.h>

#include "tld_layout.h"
#include "tldh_records.h"
#include "tldhelper.h"

static int first_struct = 1;
static int first_field;

static void struct_begin(const char *name, size_t size)
{
	printf("%s\n    \"%s\": {\"size\": %zu, \"fields\": {", first_struct ? "" : ",", name, size);
	first_struct = 0;
	first_field = 1;
}

static void field(const char *name, size_t offset)
{
	printf("%s\"%s\": %zu", first_field ? "" : ", ", name, offset);
	first_field = 0;
}

static void struct_end(void)
{
	printf("}}");
}

#define STRUCT(s) struct_begin(#s, sizeof(struct s))
#define FIELD(s, f) field(#f, offsetof(struct s, f))

static int first_const = 1;

static void num(const char *name, long long v)
{
	printf("%s\n    \"%s\": %lld", first_const ? "" : ",", name, v);
	first_const = 0;
}

static void str(const char *name, const char *v)
{
	/* The strings printed are path and map names without quotes or backslashes. */
	printf("%s\n    \"%s\": \"%s\"", first_const ? "" : ",", name, v);
	first_const = 0;
}

#define NUM(c) num(#c, (long long)(c))
#define STR(c) str(#c, c)

int main(void)
{
	printf("{\n  \"structs\": {");

	/* tld_layout.h */
	STRUCT(tld_meta_entry);
	FIELD(tld_meta_entry, name);
	FIELD(tld_meta_entry, size);
	struct_end();
	STRUCT(tld_meta_page);
	FIELD(tld_meta_page, cnt);
	FIELD(tld_meta_page, size);
	FIELD(tld_meta_page, entries);
	struct_end();
	STRUCT(tld_data_page);
	FIELD(tld_data_page, start);
	FIELD(tld_data_page, data);
	struct_end();
	STRUCT(tld_map_value);
	FIELD(tld_map_value, data);
	FIELD(tld_map_value, meta);
	struct_end();
	STRUCT(tld_map_value_v2);
	FIELD(tld_map_value_v2, data);
	FIELD(tld_map_value_v2, meta);
	FIELD(tld_map_value_v2, start);
	struct_end();

	/* tldh_records.h */
	STRUCT(tldh_rec);
	FIELD(tldh_rec, type);
	FIELD(tldh_rec, size);
	struct_end();
	STRUCT(tldh_meta_rec);
	FIELD(tldh_meta_rec, tgid);
	FIELD(tldh_meta_rec, len);
	FIELD(tldh_meta_rec, page_size);
	FIELD(tldh_meta_rec, layout);
	struct_end();
	STRUCT(tldh_thread_rec);
	FIELD(tldh_thread_rec, tid);
	FIELD(tldh_thread_rec, tgid);
	FIELD(tldh_thread_rec, flags);
	FIELD(tldh_thread_rec, data_len);
	FIELD(tldh_thread_rec, start);
	FIELD(tldh_thread_rec, comm);
	FIELD(tldh_thread_rec, key_cnt);
	FIELD(tldh_thread_rec, used);
	FIELD(tldh_thread_rec, page_size);
	FIELD(tldh_thread_rec, layout);
	struct_end();
	STRUCT(tldh_sched_rec);
	FIELD(tldh_sched_rec, tid);
	FIELD(tldh_sched_rec, has);
	FIELD(tldh_sched_rec, now);
	FIELD(tldh_sched_rec, cpu);
	FIELD(tldh_sched_rec, state);
	FIELD(tldh_sched_rec, exit_state);
	FIELD(tldh_sched_rec, policy);
	FIELD(tldh_sched_rec, on_cpu);
	FIELD(tldh_sched_rec, on_rq);
	FIELD(tldh_sched_rec, prio);
	FIELD(tldh_sched_rec, weight);
	FIELD(tldh_sched_rec, runtime);
	FIELD(tldh_sched_rec, run_delay);
	FIELD(tldh_sched_rec, pcount);
	FIELD(tldh_sched_rec, nvcsw);
	FIELD(tldh_sched_rec, nivcsw);
	FIELD(tldh_sched_rec, dsq_id);
	FIELD(tldh_sched_rec, slice);
	FIELD(tldh_sched_rec, dsq_vtime);
	FIELD(tldh_sched_rec, scx_flags);
	FIELD(tldh_sched_rec, pad);
	struct_end();
	STRUCT(tldh_trace_rec);
	FIELD(tldh_trace_rec, ts);
	FIELD(tldh_trace_rec, kind);
	FIELD(tldh_trace_rec, tid);
	FIELD(tldh_trace_rec, cpu);
	FIELD(tldh_trace_rec, waker);
	FIELD(tldh_trace_rec, flags);
	FIELD(tldh_trace_rec, arg);
	FIELD(tldh_trace_rec, dsq_id);
	struct_end();

	/* tldhelper.h: what koffi binds */
	STRUCT(tldh_error);
	FIELD(tldh_error, code);
	FIELD(tldh_error, message);
	struct_end();
	STRUCT(tldh_host);
	FIELD(tldh_host, kernel);
	FIELD(tldh_host, btf);
	FIELD(tldh_host, bpffs);
	FIELD(tldh_host, cap_bpf);
	FIELD(tldh_host, cap_perfmon);
	FIELD(tldh_host, uptr);
	FIELD(tldh_host, sched_ext);
	FIELD(tldh_host, pin_exists);
	FIELD(tldh_host, pin_ok);
	FIELD(tldh_host, pin_map_id);
	FIELD(tldh_host, other_maps);
	FIELD(tldh_host, pin_users);
	FIELD(tldh_host, other_users);
	FIELD(tldh_host, pin_path);
	FIELD(tldh_host, pin_problem);
	FIELD(tldh_host, pin_tasks);
	FIELD(tldh_host, pin_advice);
	struct_end();
	STRUCT(tldh_finding);
	FIELD(tldh_finding, severity);
	FIELD(tldh_finding, code);
	FIELD(tldh_finding, subject);
	FIELD(tldh_finding, message);
	struct_end();
	STRUCT(tldh_load_result);
	FIELD(tldh_load_result, object);
	FIELD(tldh_load_result, failed_program);
	FIELD(tldh_load_result, log_grown);
	FIELD(tldh_load_result, log_len);
	FIELD(tldh_load_result, n_ids);
	FIELD(tldh_load_result, prog_ids);
	FIELD(tldh_load_result, attached);
	struct_end();
	STRUCT(tldh_prog);
	FIELD(tldh_prog, id);
	FIELD(tldh_prog, type);
	FIELD(tldh_prog, name);
	FIELD(tldh_prog, type_name);
	FIELD(tldh_prog, insns);
	FIELD(tldh_prog, verified_insns);
	FIELD(tldh_prog, jited_len);
	FIELD(tldh_prog, nr_map_ids);
	FIELD(tldh_prog, map_ids);
	FIELD(tldh_prog, run_cnt);
	FIELD(tldh_prog, run_time_ns);
	FIELD(tldh_prog, ours);
	FIELD(tldh_prog, pin);
	struct_end();

	printf("\n  },\n  \"constants\": {");
	NUM(TLD_PAGE_SIZE_MIN);
	NUM(TLD_PAGE_SIZE_MAX);
	NUM(TLD_NAME_LEN);
	NUM(TLD_ENTRY_SIZE);
	NUM(TLD_NAME_MAX);
	NUM(TLD_META_HEADER);
	/* The geometry at each page size the layout supports. */
	NUM(TLD_MAX_KEYS_FOR(4096));
	NUM(TLD_MAX_KEYS_FOR(16384));
	NUM(TLD_MAX_KEYS_FOR(65536));
	NUM(TLD_DATA_MAX_FOR(4096));
	NUM(TLD_DATA_MAX_FOR(16384));
	NUM(TLD_DATA_MAX_FOR(65536));
	NUM(TLD_META_SIZE_FOR(4096));
	NUM(TLD_META_SIZE_FOR(16384));
	NUM(TLD_META_SIZE_FOR(65536));
	NUM(TLD_DATA_START);
	NUM(TLD_VALUE_ALIGN);
	NUM(TLD_LAYOUT_START_IN_PAGE);
	NUM(TLD_LAYOUT_START_IN_VALUE);
	STR(TLD_DEFAULT_PIN_DIR);
	STR(TLD_MAP_NAME);
	NUM(TLDH_COMM_LEN);
	NUM(TLDH_REC_META);
	NUM(TLDH_REC_THREAD);
	NUM(TLDH_REC_WRITTEN);
	NUM(TLDH_REC_SCHED);
	NUM(TLDH_REC_TRACE);
	NUM(TLDH_SCHED_HAS_INFO);
	NUM(TLDH_SCHED_HAS_SCX);
	NUM(TLDH_SCHED_HAS_DSQ);
	NUM(TLDH_TRACE_OFF_CPU);
	NUM(TLDH_TRACE_ON_CPU);
	NUM(TLDH_TRACE_WAKEUP);
	NUM(TLDH_TRACE_HAS_DSQ);
	NUM(TLDH_THREAD_HAS_ENTRY);
	NUM(TLDH_THREAD_HAS_DATA);
	NUM(TLDH_THREAD_HAS_META);
	NUM(TLDH_THREAD_EXITING);
	NUM(TLDH_ABI_VERSION);
	NUM(TLDH_MESSAGE_LEN);
	NUM(TLDH_MAX_LOADED);
	NUM(TLDH_SEV_WARNING);
	NUM(TLDH_SEV_ERROR);
	printf("\n  }\n}\n");
	return 0;
}
