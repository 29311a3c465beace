// New Scheduler from Template: the example scheduler renamed for a user's name, and the names refused.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import { renameScheduler, schedulerFileName, schedulerNameProblem } from '../../extension/src/schedulerTemplate';
import { repoRoot } from '../support/repo';

const example = fs.readFileSync(path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c'), 'utf8');

test("the example's operations, ops map, sched_ext name and title take the new name", () => {
  const out = renameScheduler(example, 'scx_mine');
  assert.doesNotMatch(out, /\bhints_/, 'no operation keeps the example prefix');
  assert.doesNotMatch(out, /"tld_hints"/);
  assert.match(out, /struct sched_ext_ops scx_mine_ops = \{/);
  assert.match(out, /\.name = "scx_mine",/);
  assert.match(out, /SEC\("struct_ops\/scx_mine_enqueue"\)\nvoid BPF_PROG\(scx_mine_enqueue,/);
  assert.match(out, /\.enqueue = \(void \*\)scx_mine_enqueue,/);
  assert.match(out, /^ \* scx_mine \(made from TLD Studio's example scx_hints\): /m);
  // What is not an identifier of the example stays: hint names, statistics, includes.
  for (const kept of ['"sched.latency_critical"', 'nr_tasks_hinted', 'lat_unhinted', '#include "tld.bpf.h"', 'scx_record_exit(ei)']) {
    assert.ok(out.includes(kept), kept);
  }
  assert.equal(out.split('\n').length, example.split('\n').length);
});

test('a name equal to the prefix is renamed once', () => {
  const out = renameScheduler(example, 'hints');
  assert.match(out, /struct sched_ext_ops hints_ops = \{/);
  assert.doesNotMatch(out, /hints_hints_/);
});

test('names that are not C identifiers, keywords and too-long names are refused with the reason', () => {
  assert.match(schedulerNameProblem('') ?? '', /give the scheduler a name/);
  assert.match(schedulerNameProblem('my-sched') ?? '', /'my-sched' is not a C identifier/);
  assert.match(schedulerNameProblem('1st') ?? '', /not starting with a digit/);
  assert.match(schedulerNameProblem('../x') ?? '', /not a C identifier/);
  assert.match(schedulerNameProblem('static') ?? '', /C keyword/);
  assert.match(schedulerNameProblem('a'.repeat(128)) ?? '', /longer than/);
  assert.equal(schedulerNameProblem('scx_fair2'), undefined);
  assert.throws(() => renameScheduler(example, 'my sched'), /not a C identifier/);
  assert.equal(schedulerFileName('scx_fair2'), 'scx_fair2.bpf.c');
});

test('a template without the example ops is refused rather than half renamed', () => {
  assert.throws(() => renameScheduler('SEC(".struct_ops")\nstruct sched_ext_ops other_ops = { .name = "other" };\n', 'scx_mine'),
    /not the example scheduler/);
});
