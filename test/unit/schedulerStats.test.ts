// What the VM runner reads off the guest's console: tld-scx-run's final statistics and
// outcome, and a verifier rejection in the guest mapped to the scheduler's source line.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';

import { guestVerifierDiagnostics } from '../../extension/src/vm/run';
import { parseFinalStats, schedulerOutcome } from '../../extension/src/vm/schedulerStats';

const final =
  'tld-scx-run: final {"seconds":4.1,"counters":{"nr_enq_hi":12,"nr_kicks":3},"histograms":{"lat_hinted":{"count":3,"p50_ns":16384,"p90_ns":20480,"p99_ns":20480,"max_ns":20480,"buckets":[[12288,1],[16384,2]]}}}';

test('final statistics are parsed from a console line, prefix and all', () => {
  const s = parseFinalStats(`| ${final}`);
  assert.ok(s);
  assert.equal(s.counters.nr_enq_hi, 12);
  assert.equal(s.histograms.lat_hinted?.p99_ns, 20480);
  assert.deepEqual(s.histograms.lat_hinted?.buckets, [[12288, 1], [16384, 2]]);
});

test('malformed final lines are rejected, not trusted', () => {
  assert.equal(parseFinalStats('tld-scx-run: final {"seconds":1,"counters":{},"histograms":'), undefined);
  assert.equal(parseFinalStats('tld-scx-run: final {"seconds":1,"counters":{"a":"1"},"histograms":{}}'), undefined);
  assert.equal(parseFinalStats('tld-scx-run: final {"seconds":1,"counters":{},"histograms":{"h":{"count":1}}}'), undefined);
  assert.equal(parseFinalStats('tld-scx-run: final {"seconds":1,"counters":{},"histograms":{"h":{"count":1,"p50_ns":1,"p90_ns":1,"p99_ns":1,"max_ns":1,"buckets":[[1]]}}}'), undefined);
  assert.equal(parseFinalStats('tld-scx-run: 3 s: nr_enq_hi 4'), undefined);
});

test('the outcome says what was enabled, why the kernel disabled it, and the last statistics', () => {
  const o = schedulerOutcome([
    'tld-scx-run: gives_up_ops enabled (sched_ext state: enabled), sharing /sys/fs/bpf/tld/tld_data_map',
    'tld-scx-run: the kernel disabled the scheduler (error, kind 1025, exit code 0): scx_bpf_error: giving up',
    final,
  ]);
  assert.equal(o.enabled, 'gives_up_ops');
  assert.equal(o.disabled, '(error, kind 1025, exit code 0): scx_bpf_error: giving up');
  assert.equal(o.stats?.counters.nr_enq_hi, 12);
  assert.deepEqual(schedulerOutcome(['TLD-VM-INIT', 'TLD-VM-EXIT 1']), {});
});

test("the outcome carries the loader's likely cause of a disable", () => {
  const o = schedulerOutcome([
    'tld-scx-run: tally_ops enabled (sched_ext state: enabled), sharing /sys/fs/bpf/tld/tld_data_map',
    'tld-scx-run: the kernel disabled the scheduler (error, kind 1025, exit code 0): scx_bpf_error: CPU 0 is not below nr_cpus (0)',
    'tld-scx-run: likely cause: the rodata global nr_cpus is still its default 0 and the exit message names it: set it with --set nr_cpus=VALUE',
  ]);
  assert.equal(o.likelyCause, 'the rodata global nr_cpus is still its default 0 and the exit message names it: set it with --set nr_cpus=VALUE');
  assert.equal(schedulerOutcome(['tld-scx-run: the kernel disabled the scheduler (from the kernel log): x']).likelyCause, undefined);
});

test("a verifier rejection in the guest's console becomes a diagnostic at the source line", () => {
  const source = path.join('/work', 'sched', 'scx_null_deref.bpf.c');
  const lines = [
    'TLD-VM-INIT',
    "libbpf: prog 'null_enqueue': BPF program load failed: Permission denied",
    "libbpf: prog 'null_enqueue': -- BEGIN PROG LOAD LOG --",
    '0: R1=ctx() R10=fp0',
    '; struct task_ctx *tctx = bpf_task_storage_get(&task_ctxs, p, 0, 0); @ scx_null_deref.bpf.c:29',
    '7: (85) call bpf_task_storage_get#156         ; R0=map_value_or_null(id=1,map=task_ctxs,ks=4,vs=8)',
    '; tctx->enqueues++; @ scx_null_deref.bpf.c:31',
    '8: (79) r1 = *(u64 *)(r0 +0)',
    "R0 invalid mem access 'map_value_or_null'",
    'processed 8 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
    '-- END PROG LOAD LOG --',
    "libbpf: prog 'null_enqueue': failed to load: -13",
    'tld-scx-run: the scheduler null_ops did not load (the verifier\'s log is above): Permission denied',
  ];
  const [d, ...more] = guestVerifierDiagnostics(lines, source);
  assert.equal(more.length, 0);
  assert.ok(d);
  assert.equal(d.file, source);
  assert.equal(d.line, 31);
  assert.equal(d.severity, 'error');
  assert.match(d.message, /may be NULL/);
  assert.deepEqual(guestVerifierDiagnostics(['TLD-VM-INIT', 'TLD-VM-EXIT 1'], source), []);
});
