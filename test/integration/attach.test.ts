// Attach gives an unmodified process hints in every thread, including threads started
// later; detach takes them away again; a process with hints of its own is refused.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, test } from 'node:test';

import { TldClient } from '../../extension/src/client/client';
import { TldError } from '../../extension/src/client/errors';
import { ProcessSnapshot } from '../../extension/src/client/snapshot';
import { Proc, runTldctl, sleep, taskIds, until } from '../support/processes';
import { World, valuesByTid } from '../support/world';

const world = new World('attach');
after(() => world.dispose());

/** A node process with 3 worker threads that starts one more on "spawn"; ends with its stdin. */
const TARGET = `
const { Worker } = require('node:worker_threads');
const readline = require('node:readline');
const workers = [];
const start = () => {
  const w = new Worker('setInterval(() => {}, 1000)', { eval: true });
  workers.push(w);
  return new Promise((resolve) => w.once('online', resolve));
};
Promise.all([start(), start(), start()]).then(() => console.log('ready ' + process.pid));
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() === 'spawn') start().then(() => console.log('spawned'));
});
rl.on('close', () => process.exit(0));
`;

async function startTarget(): Promise<Proc> {
  const p = world.procs.spawn(process.execPath, ['-e', TARGET], 'node worker target');
  await p.waitForLine(/^ready \d+$/);
  return p;
}

/** A snapshot taken while /proc lists the same threads before and after it, with those threads. */
async function stableSnapshot(client: TldClient, pid: number): Promise<{ snap: ProcessSnapshot; tids: number[] }> {
  for (let i = 0; i < 20; i++) {
    const before = taskIds(pid);
    const snap = await client.snapshot(pid);
    const tids = taskIds(pid);
    if (JSON.stringify(before) === JSON.stringify(tids)) return { snap, tids };
    await sleep(50);
  }
  throw new Error(`the threads of ${pid} kept changing`);
}

const KEYS = [
  { name: 'hint.prio', size: 4 },
  { name: 'hint.flag', size: 1 },
] as const;

test('attach covers every thread of an unmodified process, set reaches them all, a later thread is covered, detach removes it all', async () => {
  const target = await startTarget();
  const pid = target.pid;
  const client = await world.client();
  try {
    await assert.rejects(client.snapshot(pid), (e: unknown) => e instanceof TldError && e.code === 'ENOENT', 'no hints before attach');
    await client.attach(pid, KEYS);

    const first = await stableSnapshot(client, pid);
    assert.ok(first.tids.length >= 4, `node with 3 workers has more than 3 threads: ${first.tids.join(' ')}`);
    assert.deepEqual(first.snap.keys, [
      { name: 'hint.prio', size: 4, offset: 0 },
      { name: 'hint.flag', size: 1, offset: 8 },
    ]);
    assert.deepEqual(first.snap.threads.map((t) => t.tid).sort((a, b) => a - b), first.tids);
    const v1 = valuesByTid(first.snap);
    assert.deepEqual([...v1.keys()].sort((a, b) => a - b), first.tids, 'every thread has data');
    for (const [tid, values] of v1) assert.deepEqual(values, { 'hint.prio': 0, 'hint.flag': 0 }, `thread ${tid}`);

    const written = await client.set(pid, 0, 'hint.prio', '7');
    assert.deepEqual([...written].sort((a, b) => a - b), taskIds(pid), 'set wrote every thread');
    const second = await stableSnapshot(client, pid);
    const v2 = valuesByTid(second.snap);
    assert.deepEqual([...v2.keys()].sort((a, b) => a - b), second.tids);
    for (const [tid, values] of v2) assert.deepEqual(values, { 'hint.prio': 7, 'hint.flag': 0 }, `thread ${tid}`);

    target.send('spawn\n');
    await target.waitForLine(/^spawned$/);
    await sleep(300);
    const third = await stableSnapshot(client, pid);
    const born = third.tids.filter((t) => !second.tids.includes(t));
    assert.ok(born.length >= 1, 'the new worker is a new thread');
    const v3 = valuesByTid(third.snap);
    assert.deepEqual([...v3.keys()].sort((a, b) => a - b), third.tids, 'every thread, the new ones too, has data');
    for (const tid of born) assert.deepEqual(v3.get(tid), { 'hint.prio': 0, 'hint.flag': 0 }, `new thread ${tid}`);
    for (const tid of second.tids.filter((t) => third.tids.includes(t))) {
      assert.deepEqual(v3.get(tid), { 'hint.prio': 7, 'hint.flag': 0 }, `old thread ${tid} kept its value`);
    }

    await client.detach(pid);
    await assert.rejects(client.snapshot(pid), (e: unknown) => {
      assert.ok(e instanceof TldError);
      assert.equal(e.code, 'ENOENT');
      assert.match(e.message, /has no task local data/);
      return true;
    });
    await assert.rejects(client.detach(pid), (e: unknown) => e instanceof TldError && e.code === 'ENOENT', 'detached already');
    assert.equal(target.exit, undefined, 'the target lived through attach and detach');
  } finally {
    await target.kill();
  }
});

test('attach refuses a process that has task local data of its own (EEXIST) and a second attach (EALREADY)', async () => {
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '2', '--keys', '2']);
  const target = await startTarget();
  const client = await world.client();
  try {
    const before = valuesByTid(await client.snapshot(proc.pid));
    await assert.rejects(client.attach(proc.pid, KEYS), (e: unknown) => {
      assert.ok(e instanceof TldError);
      assert.equal(e.code, 'EEXIST');
      assert.match(e.message, /already has task local data of its own/);
      return true;
    });
    assert.deepEqual(valuesByTid(await client.snapshot(proc.pid)), before, 'its own hints are untouched');

    await client.attach(target.pid, KEYS);
    await assert.rejects(client.attach(target.pid, KEYS), (e: unknown) => e instanceof TldError && e.code === 'EALREADY');
    await client.detach(target.pid);
  } finally {
    await proc.kill();
    await target.kill();
  }
});

test('tldctl attach --set holds the keys until tldctl detach, which removes them', async () => {
  const target = await startTarget();
  const client = await world.client();
  const holder = world.procs.tldctl(['attach', String(target.pid), 'hint.cli:2', '--set', 'hint.cli=9']);
  try {
    assert.equal(await holder.waitForLine(/^attached /), `attached 1 key(s) to process ${target.pid}; Ctrl-C or \`tldctl detach ${target.pid}\` detaches`);
    const { snap, tids } = await stableSnapshot(client, target.pid);
    const values = valuesByTid(snap);
    assert.deepEqual([...values.keys()].sort((a, b) => a - b), tids);
    for (const [tid, v] of values) assert.deepEqual(v, { 'hint.cli': 9 }, `thread ${tid}`);

    const d = await runTldctl(world.procs, ['detach', String(target.pid)], { env: world.env });
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout.trim(), `detached from process ${target.pid}`);
    assert.deepEqual(await holder.waitForExit(5000), { code: 0, signal: null });
    assert.match(holder.stdout, new RegExp(`detached from process ${target.pid}\\n$`));
    await assert.rejects(client.snapshot(target.pid), (e: unknown) => e instanceof TldError && e.code === 'ENOENT');

    const again = await runTldctl(world.procs, ['detach', String(target.pid)], { env: world.env });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is not attached by tldctl/);
  } finally {
    await holder.kill();
    await target.kill();
  }
});

test('tldctl watch goes on while a process has no hints for a while, and ends with exit 0 when it exits', async () => {
  const target = await startTarget();
  const client = await world.client();
  await client.attach(target.pid, KEYS);
  const watch = world.procs.tldctl(['watch', String(target.pid), '--interval', '100']);
  try {
    await watch.waitForLine(/^TID\s+COMM\s+hint\.prio\s+hint\.flag\s+CPU\s+ST\s+POLICY\b/);
    await client.detach(target.pid);
    // Several refreshes without hints: the watch must keep going.
    const at = watch.lines.length;
    assert.ok(await until(() => watch.lines.slice(at).filter((l) => /no task local data/.test(l)).length >= 3 || watch.exit !== undefined, 5000));
    assert.equal(watch.exit, undefined, `watch ended while the process runs:\n${watch.describe()}`);

    target.endInput();
    assert.deepEqual(await target.waitForExit(), { code: 0, signal: null });
    assert.deepEqual(await watch.waitForExit(5000), { code: 0, signal: null }, watch.describe());
    assert.equal(watch.lines.filter((l) => l.length > 0).pop(), `process ${target.pid} exited`);
    assert.equal(watch.stderr, '');
  } finally {
    await watch.kill();
    await target.kill();
  }
});

test('tldctl attach ends when its target exits even if nothing reaps it (a zombie keeps its pid and start time)', async () => {
  // sh starts the target, then becomes sleep, which never reaps it: the exited target stays a zombie.
  const parent = world.procs.spawn('sh', ['-c', `${process.execPath} -e "console.log('ready ' + process.pid); setInterval(() => {}, 1000)" & exec sleep 1000`], 'sleep over an unreaped target');
  const pid = Number((await parent.waitForLine(/^ready \d+$/)).split(' ')[1]);
  const holder = world.procs.tldctl(['attach', String(pid), 'hint.z:4']);
  try {
    await holder.waitForLine(/^attached /);
    process.kill(pid, 'SIGKILL');
    assert.ok(await until(() => /^Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '')), 'the target is a zombie');
    assert.deepEqual(await holder.waitForExit(10_000), { code: 0, signal: null }, holder.describe());
    assert.match(holder.stdout, new RegExp(`process ${pid} exited\\ndetached from process ${pid}\\n$`));
  } finally {
    await holder.kill();
    await parent.kill();
  }
});
