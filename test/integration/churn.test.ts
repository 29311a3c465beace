// Threads that come and go: snapshots stay exact and never fail but for the process's end,
// `tldctl watch` ends by itself when the process does, nothing leaks, and a process that
// exited but is not reaped yet counts as exited.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import { Value } from '../../extension/src/client/values';
import { fixtureBinary, isRunning, runTldctl, until } from '../support/processes';
import { World, fixtureKeyName, fixtureKeySize, fixtureValue, openFds, valuesByTid } from '../support/world';

const world = new World('churn');
after(() => world.dispose());

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

test('under 10 s of thread churn, snapshots are exact, only the end is ESRCH, watch ends by itself, and nothing leaks', async (t) => {
  const fdsBefore = openFds();
  const { proc } = await world.procs.fixture(['--mode', 'churn', '--seconds', '10']);
  const pid = proc.pid;
  proc.endInput(); // churn does not read it
  const watch = world.procs.tldctl(['watch', String(pid), '--interval', '100']);
  const client = await world.client();

  let snapshots = 0;
  let threadsSeen = 0;
  let transientEmpty = 0;
  let esrch = 0;
  const seenTids = new Set<number>();
  const problems: string[] = [];
  const t0 = Date.now();
  while (proc.exit === undefined) {
    try {
      const snap = await client.snapshot(pid);
      if (esrch) problems.push('a snapshot succeeded after ESRCH');
      snapshots++;
      const names = snap.keys.map((k) => k.name);
      if (names.join() !== Array.from({ length: 16 }, (_, i) => fixtureKeyName(i)).join()) {
        problems.push(`keys ${names.join()}`);
      }
      for (const [tid, values] of valuesByTid(snap)) {
        threadsSeen++;
        seenTids.add(tid);
        // A thread writes its 16 values one by one after its page is pinned: each is 0 or exact.
        for (let i = 0; i < 16; i++) {
          const v: Value | undefined = values[fixtureKeyName(i)];
          if (v !== 0 && v !== fixtureValue(tid, i, fixtureKeySize(i))) problems.push(`thread ${tid} ${fixtureKeyName(i)} = ${String(v)}`);
        }
      }
    } catch (e) {
      if (!(e instanceof TldError)) throw e;
      if (e.code === 'ESRCH') {
        esrch++;
        // The helper says ESRCH once the group exit has begun, when the last thread may still be
        // tearing down (not yet a zombie in /proc): that end must then come within a second.
        if (isRunning(pid) && !(await until(() => !isRunning(pid), 1000))) {
          problems.push(`ESRCH while the process runs on: ${e.message}`);
        }
      } else if (e.code === 'ENOENT' && /has no task local data/.test(e.message) && !esrch) {
        // Between batches no thread has an entry: the kernel holds nothing for the process then
        // (a true answer: the client found a thread of it still running).
        transientEmpty++;
      } else {
        problems.push(`${e.code}: ${e.message}`);
      }
    }
    if (problems.length > 20) break;
    await yieldToLoop();
  }
  const elapsed = Date.now() - t0;
  t.diagnostic(`${snapshots} snapshots in ${elapsed} ms, ${threadsSeen} thread pages (${seenTids.size} threads), ${transientEmpty} moments without any, ${esrch} ESRCH at the end`);
  assert.deepEqual(problems.slice(0, 20), []);
  assert.deepEqual(await proc.waitForExit(), { code: 0, signal: null });
  assert.match(proc.stdout, /^done \d+$/m);
  assert.ok(elapsed > 8000, `the churn lasted ${elapsed} ms`);
  assert.ok(snapshots > 200, `only ${snapshots} snapshots`);
  assert.ok(seenTids.size > 100, `only ${seenTids.size} distinct threads seen in ${threadsSeen} thread snapshots`);
  assert.ok(transientEmpty < snapshots / 4, `${transientEmpty} empty of ${snapshots}`);
  // Once it has ended, it is ESRCH and nothing else.
  await assert.rejects(client.snapshot(pid), (e: unknown) => e instanceof TldError && e.code === 'ESRCH');

  assert.deepEqual(await watch.waitForExit(5000), { code: 0, signal: null }, watch.describe());
  assert.equal(watch.lines.filter((l) => l.length > 0).pop(), `process ${pid} exited`);
  assert.equal(watch.stderr, '', 'watch printed no error');
  assert.ok(watch.lines.filter((l) => /^\d{4}-\d\d-\d\dT/.test(l)).length >= 50, 'watch refreshed about every 100 ms');

  world.release(client);
  await proc.kill();
  await watch.kill();
  const fdsAfter = openFds();
  const leaked = [...fdsAfter].filter(([fd, what]) => fdsBefore.get(fd) !== what);
  assert.deepEqual(leaked, [], 'fds opened during the test and still open');
  assert.equal(fdsAfter.size, fdsBefore.size);

  // A fresh client lists no entry for it: the kernel dropped every thread's entry.
  const fresh = await world.client();
  try {
    const list = await fresh.processes();
    assert.equal(list.find((p) => p.pid === pid), undefined, JSON.stringify(list));
  } finally {
    world.release(fresh);
  }
});

test('a process that has exited but is not reaped yet (a zombie) is reported as exited, by snapshot and by watch', async () => {
  // sh keeps the fixture's stdin (fd 3) but never waits for it: `exec sleep` does not reap.
  const holder = world.procs.spawn('/bin/sh', ['-c', 'exec 3<&0; "$0" "$@" <&3 3<&- & exec sleep 30 3<&-', fixtureBinary, '--mode', 'hints', '--threads', '2', '--keys', '2', '--seconds', '2'], 'sh fixture & sleep');
  try {
    const ready = await holder.waitForLine(/^ready \d+$/);
    const pid = Number(ready.split(' ')[1]);
    const client = await world.client();
    assert.equal(valuesByTid(await client.snapshot(pid)).size, 2, 'it runs with hints');
    const watch = world.procs.tldctl(['watch', String(pid), '--interval', '100']);
    await watch.waitForLine(/^TID\s+COMM/);

    assert.ok(await until(() => !isRunning(pid), 5000), 'the fixture ended');
    assert.ok(fs.existsSync(`/proc/${pid}`), 'and is a zombie, not reaped');
    await assert.rejects(client.snapshot(pid), (e: unknown) => {
      assert.ok(e instanceof TldError);
      assert.equal(e.code, 'ESRCH', e.message);
      assert.match(e.message, /exited/);
      return true;
    });
    const r = await runTldctl(world.procs, ['snapshot', String(pid)], { env: world.env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`^tldctl: process ${pid} exited\\n$`));
    assert.deepEqual(await watch.waitForExit(5000), { code: 0, signal: null }, watch.describe());
    assert.equal(watch.lines.filter((l) => l.length > 0).pop(), `process ${pid} exited`);
    assert.ok(fs.existsSync(`/proc/${pid}`), 'still a zombie: the answers did not come from reaping');
  } finally {
    await holder.kill();
  }
});
