// The example scheduler in a real sched_ext guest through `tldctl vm run`: built for the guest
// kernel, enabled while tld-demo publishes hints (thread 0, 4, ... latency critical; every
// thread a weight), and its statistics read off the guest's console.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';

import { repoRoot } from '../support/repo';

const tldctl = path.join(repoRoot, 'out', 'extension', 'src', 'cli', 'tldctl.js');

test('tldctl vm run enables scx_hints in a sched_ext guest, and hinted threads reach their queues', { timeout: 300_000 }, () => {
  const r = spawnSync(process.execPath, [tldctl, 'vm', 'run', '--scheduler', path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c'), '--seconds', '4'], {
    encoding: 'utf8',
    timeout: 280_000,
    env: { ...process.env, ...(process.env.TLD_VM_CACHE ? { XDG_CACHE_HOME: path.dirname(process.env.TLD_VM_CACHE) } : {}) },
  });
  const output = r.stdout + r.stderr;
  assert.equal(r.status, 0, output.slice(-3000));
  assert.match(r.stdout, /\| scx_hints: enabled \(sched_ext state: enabled\)/);
  assert.match(r.stdout, /vm run: the scheduler stayed enabled \((kvm|tcg): /);
  const final = /scx_hints final: tasks hinted (\d+), enqueued high (\d+), normal (\d+), weighted (\d+)/.exec(r.stdout);
  assert.ok(final, output.slice(-3000));
  const [hinted, high, , weighted] = final.slice(1).map(Number) as [number, number, number, number];
  assert.ok(hinted >= 4, `only ${hinted} hinted tasks seen`);
  assert.ok(high > 0, 'no latency-critical thread reached the high-priority queue');
  assert.ok(weighted > 0, 'no weight hint was used');
});

test('tldctl vm run refuses a file that is not a scheduler source, with a clear message', () => {
  const r = spawnSync(process.execPath, [tldctl, 'vm', 'run', '--scheduler', path.join(repoRoot, 'README.md')], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /README\.md is not a scheduler source \(NAME\.bpf\.c\)/);
});
