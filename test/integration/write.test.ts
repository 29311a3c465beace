// `tldctl set` writes a value the target thread really sees, and refuses, with a useful
// message and exit 1, a key that does not exist or a value that does not fit.
import * as assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import { runTldctl, stackLines } from '../support/processes';
import { World, fixtureKeyName, fixtureKeySize, fixtureValue, valuesByTid } from '../support/world';

const world = new World('write');
after(() => world.dispose());

test('tldctl set PID:TID writes the value the waiting thread sees, and it goes on', async () => {
  const { proc, ready } = await world.procs.fixture(['--mode', 'wait', '--value', '4242', '--seconds', '20']);
  const tid = Number(ready[2]);
  assert.ok(tid > 0, `ready line: ${ready.join(' ')}`);
  const r = await runTldctl(world.procs, ['set', `${proc.pid}:${tid}`, 'fx.wait', '4242'], { env: world.env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), `set fx.wait = 4242 in 1 thread(s) of process ${proc.pid}`);
  const seen = await proc.waitForLine(/^(seen|timeout) /, 5000);
  assert.equal(seen, 'seen 4242');
  const exit = await proc.waitForExit(5000);
  assert.deepEqual(exit, { code: 0, signal: null });
});

test('tldctl set of a key that does not exist fails with exit 1 and lists the keys there are', async () => {
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '2', '--keys', '4']);
  try {
    const r = await runTldctl(world.procs, ['set', String(proc.pid), 'fx.nope', '1'], { env: world.env });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim(), `tldctl: process ${proc.pid} has no key 'fx.nope'; its keys: fx.k00, fx.k01, fx.k02, fx.k03`);
    assert.deepEqual(stackLines(r.stderr), []);
  } finally {
    await proc.kill();
  }
});

test('tldctl set of a value that does not fit its key fails with exit 1 and writes nothing', async () => {
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '2', '--keys', '4']);
  const client = await world.client();
  try {
    const before = valuesByTid(await client.snapshot(proc.pid));
    const r = await runTldctl(world.procs, ['set', String(proc.pid), 'fx.k01', '70000'], { env: world.env });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^tldctl: 70000 does not fit key 'fx\.k01' of 2 bytes \(0\.\.65535\)\n$/);
    const neg = await runTldctl(world.procs, ['set', String(proc.pid), 'fx.k00', '-129'], { env: world.env });
    assert.equal(neg.code, 1, neg.stderr);
    assert.match(neg.stderr, /-129 does not fit key 'fx\.k00' of 1 byte/);
    const text = await runTldctl(world.procs, ['set', String(proc.pid), 'fx.k02', 'twelve'], { env: world.env });
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stderr, /'twelve' is not an integer \(for key 'fx\.k02'\)/);
    assert.deepEqual(valuesByTid(await client.snapshot(proc.pid)), before, 'no thread changed');

    // The largest value that fits is written to every thread, and only to that key.
    const ok = await runTldctl(world.procs, ['set', String(proc.pid), 'fx.k01', '65535'], { env: world.env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), `set fx.k01 = 65535 in 2 thread(s) of process ${proc.pid}`);
    const after = valuesByTid(await client.snapshot(proc.pid));
    assert.equal(after.size, 2);
    for (const [tid, values] of after) {
      assert.deepEqual(values, {
        [fixtureKeyName(0)]: fixtureValue(tid, 0, fixtureKeySize(0)),
        [fixtureKeyName(1)]: 65535,
        [fixtureKeyName(2)]: fixtureValue(tid, 2, fixtureKeySize(2)),
        [fixtureKeyName(3)]: fixtureValue(tid, 3, fixtureKeySize(3)),
      });
    }

    // The client says the same with its error codes: a thread the process does not have.
    await assert.rejects(client.set(proc.pid, 1, 'fx.k00', '1'), (e: unknown) => e instanceof TldError && e.code === 'ESRCH');
    await assert.rejects(client.set(proc.pid, 0, 'fx.k01', '65536'), (e: unknown) => e instanceof TldError && e.code === 'EINVAL');
  } finally {
    await proc.kill();
  }
});

test('a pid or tid beyond any the kernel gives (N + 2^32) is refused as not existing, never read or written as N', async () => {
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '1', '--keys', '2']);
  const client = await world.client();
  try {
    const pid = proc.pid;
    const before = valuesByTid(await client.snapshot(pid));
    const [tid] = [...before.keys()] as [number];
    const wrapped = pid + 2 ** 32;
    const snap = await runTldctl(world.procs, ['snapshot', String(wrapped)], { env: world.env });
    assert.equal(snap.code, 1, snap.stdout);
    assert.equal(snap.stdout, '');
    assert.equal(snap.stderr, `tldctl: process ${wrapped} does not exist\n`);
    for (const target of [String(wrapped), `${pid}:${tid + 2 ** 32}`, `${wrapped}:${tid}`]) {
      const set = await runTldctl(world.procs, ['set', target, 'fx.k01', '9'], { env: world.env });
      assert.equal(set.code, 1, `set ${target}: ${set.stdout}`);
      assert.match(set.stderr, /^tldctl: (process|thread) \d+ does not exist\n$/);
    }
    await assert.rejects(client.snapshot(wrapped), (e: unknown) => e instanceof TldError && e.code === 'ESRCH');
    await assert.rejects(client.attach(2 ** 31, [{ name: 'a', size: 1 }]), (e: unknown) => e instanceof TldError && e.code === 'ESRCH');
    await assert.rejects(client.snapshot(-pid), (e: unknown) => e instanceof TldError && e.code === 'EINVAL');
    assert.deepEqual(valuesByTid(await client.snapshot(pid)), before, 'the process the ids wrap to is untouched');
  } finally {
    await proc.kill();
  }
});
