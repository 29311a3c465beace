// The drop-in for upstream's task_local_data.h (native/include/upstream): a program written for
// upstream's API, built with only that include folder and -ltld, publishes what tldctl reads, and
// keeps libtld's checked behaviour where upstream's differs.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { SnapshotJson } from '../../extension/src/cli/format';
import { listCases, runCase } from '../support/ctest';
import { Proc, runTldctl, taskIds } from '../support/processes';
import { nativeBuild, repoRoot } from '../support/repo';
import { World } from '../support/world';

const binary = path.join(nativeBuild, 'tests', 'test_upstream_api');
const includeDir = path.join(repoRoot, 'native', 'include', 'upstream');
const THREADS = 6;

const world = new World('upstream-api');
after(() => world.dispose());

test('the drop-in keeps libtld\'s checked behaviour where upstream\'s header differs', async (t) => {
  for (const c of listCases(binary)) {
    await t.test(c.name.replace(/_/g, ' '), (tc) => runCase(tc, c));
  }
});

interface Expected {
  prio: number;
  request: { a: number; b: number; c: number; d: number };
}

/** What the producer writes into thread @tid's keys from @base. */
const expected = (base: number): Expected => ({
  prio: base + 1,
  request: { a: base + 2, b: base + 3, c: base + 4, d: base + 5 },
});

/** Runs `tldctl snapshot PID --json`, decoding upstream.request as the producer's struct. */
function tldctlSnapshot(pid: number) {
  const types = path.join(world.runDir, 'types.json');
  const u64 = (name: string, offset: number) => ({ name, offset, type: 'u64' });
  fs.writeFileSync(types, JSON.stringify({
    'upstream.request': { struct: 'request', fields: [u64('a', 0), u64('b', 8), u64('c', 16), u64('d', 24)] },
    'upstream.prio': 'i32',
  }));
  return runTldctl(world.procs, ['snapshot', String(pid), '--json', '--types', types], { env: world.env, timeoutMs: 30_000 });
}

async function snapshot(pid: number): Promise<SnapshotJson> {
  const r = await tldctlSnapshot(pid);
  assert.equal(r.code, 0, `tldctl snapshot failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as SnapshotJson;
}

/** Sends @command and waits for the producer's @reply (every thread has acted on it). */
async function step(p: Proc, command: string, reply: RegExp): Promise<void> {
  const seen = p.lines.length;
  p.send(`${command}\n`);
  await p.waitForLine(reply, 30_000);
  assert.ok(p.lines.slice(seen).some((l) => reply.test(l)), `no ${reply} after ${command}:\n${p.describe()}`);
}

test('threads of an upstream-API producer show their own values under the right keys in tldctl snapshot, and tld_free() takes a thread\'s away', async () => {
  // The map exists before the producer, as a scheduler's pinned map does.
  await (await world.client()).processes();
  const p = world.procs.spawn(binary, ['producer', world.pinPath, String(THREADS)], 'upstream producer');
  const ready = (await p.waitForLine(/^ready \d+/, 30_000)).trim().split(/\s+/).map(Number);
  assert.equal(ready[1], p.pid);
  const workers = ready.slice(2);
  assert.equal(workers.length, THREADS);

  const first = await snapshot(p.pid);
  assert.deepEqual(first.keys, [
    { name: 'upstream.prio', size: 4, offset: 0 },
    { name: 'upstream.request', size: 32, offset: 8 },
    { name: 'upstream.tid', size: 8, offset: 40 },
  ]);
  // Only the workers called tld_get_data(): the main thread has no page.
  assert.deepEqual(first.threads.map((t) => t.tid).sort((a, b) => a - b), [...workers].sort((a, b) => a - b));
  for (const t of first.threads) {
    assert.deepEqual(t.values, { 'upstream.prio': expected(t.tid).prio, 'upstream.request': expected(t.tid).request, 'upstream.tid': t.tid }, `thread ${t.tid}`);
  }

  // tld_free() in every worker: still running, nothing of theirs left in the map.
  await step(p, 'free', /^freed$/);
  const freed = await tldctlSnapshot(p.pid);
  assert.equal(freed.code, 1, `threads kept their data after tld_free():\n${freed.stdout}`);
  assert.match(freed.stderr, new RegExp(`process ${p.pid} \\(test_upstream_a\\) has no task local data`));
  for (const tid of workers) assert.ok(taskIds(p.pid).includes(tid), `worker ${tid} exited`);

  // Their next tld_get_data() gives a new zeroed page (checked in C), pinned again.
  await step(p, 'again', /^again$/);
  const again = await snapshot(p.pid);
  assert.deepEqual(again.threads.map((t) => t.tid).sort((a, b) => a - b), [...workers].sort((a, b) => a - b));
  for (const t of again.threads) {
    assert.deepEqual(t.values, { 'upstream.prio': expected(t.tid + 1000).prio, 'upstream.request': expected(t.tid + 1000).request, 'upstream.tid': t.tid }, `thread ${t.tid}`);
  }

  p.endInput();
  const exit = await p.waitForExit(30_000);
  assert.deepEqual(exit, { code: 0, signal: null }, p.describe());
});

test('tld_get_data() takes one map per process: another fd of it works, another map is EBUSY, a map without uptr values EINVAL', async () => {
  await (await world.client()).processes();
  // A second map of the same shape: tldctl opens (and creates) the pin it is given.
  const otherDir = path.join(world.pinDir, 'other');
  const ps = await runTldctl(world.procs, ['ps'], { env: { ...world.env, TLD_PIN_DIR: otherDir }, timeoutMs: 30_000 });
  assert.equal(ps.code, 0, ps.stderr);
  const p = world.procs.spawn(binary, ['maps', world.pinPath, path.join(otherDir, 'tld_data_map')], 'upstream maps');
  p.endInput();
  const exit = await p.waitForExit(30_000);
  assert.deepEqual(exit, { code: 0, signal: null }, p.describe());
  assert.deepEqual(p.lines, ['ok']);
  // The refusals say why on stderr (libtld's print callback).
  assert.match(p.stderr, /map 'not_tld' has type 2/);
  assert.match(p.stderr, /is not the map this process's task local data is pinned in/);
});

/** Compiles @source against the drop-in only; the compiler's result. */
function compile(compiler: string, lang: 'c' | 'c++', source: string, defines: readonly string[] = []) {
  return spawnSync(compiler, ['-fsyntax-only', '-Wall', '-Wextra', '-Werror', '-x', lang, `-I${includeDir}`, ...defines, '-'], {
    input: source,
    encoding: 'utf8',
  });
}

const producerSource = '#include <task_local_data.h>\nTLD_DEFINE_KEY(k, "x", 4);\nint main(void) { int *p = (int *)tld_get_data(0, k); return p ? *p : tld_key_err_or_zero(tld_create_key("y", 8)); }\n';

test('the drop-in compiles as C and C++, and refuses a TLD_NAME_LEN that would change the layout or tld.h in the same file', () => {
  const c = compile('cc', 'c', producerSource);
  assert.equal(c.status, 0, c.stderr);
  const cxx = compile('c++', 'c++', producerSource);
  assert.equal(cxx.status, 0, cxx.stderr);
  const named = compile('cc', 'c', producerSource, ['-DTLD_NAME_LEN=32']);
  assert.notEqual(named.status, 0);
  assert.match(named.stderr, /TLD_NAME_LEN cannot change/);
  const same = compile('cc', 'c', producerSource, ['-DTLD_NAME_LEN=62']);
  assert.equal(same.status, 0, same.stderr);
  const both = compile('cc', 'c', `#include <tld.h>\n${producerSource}`, [`-I${path.join(repoRoot, 'native', 'include')}`]);
  assert.notEqual(both.status, 0);
  assert.match(both.stderr, /include either tld\.h .* or task_local_data\.h .*, not both/);
});
