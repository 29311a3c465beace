// The helper host's side of its protocol version and framing, with a real host on a private
// pin: a client of the older protocol (JSON lines, no hello) is told so in a line it reads and
// served nothing, a client that announces more bytes than a request may carry is cut off
// before the host keeps any of them, and replies larger than the socket's buffer, asked for
// all at once, each carry their own process's values (the host reuses a result's buffer only
// once it is written).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { TldClient } from '../../extension/src/client/client';
import { CLIENT_HELLO, PROTOCOL_VERSION, REQUEST_LIMITS, encodeFrame } from '../../extension/src/client/protocol';
import { ProcessSnapshot } from '../../extension/src/client/snapshot';
import { repoRoot } from '../support/repo';
import { stackLines } from '../support/processes';
import { World, fixtureKeyName, fixtureKeySize, fixtureValue, valuesByTid } from '../support/world';

const world = new World('host-protocol');
const hostScript = path.join(repoRoot, 'out', 'extension', 'src', 'client', 'helperHost.js');

after(() => world.dispose());

function startHost() {
  return world.procs.spawn(process.execPath, [hostScript, '--pin', world.pinPath], 'helper host');
}

test('a client of the older protocol (a request before any hello) gets an error line naming both versions, and the host ends', async () => {
  const host = startHost();
  const hello = JSON.parse(await host.waitForLine(/^\{"hello"/, 30_000)) as { protocol?: number; error?: unknown };
  assert.equal(hello.error, undefined, host.stderr);
  assert.equal(hello.protocol, PROTOCOL_VERSION);
  // What a client of protocol 1 sends first: a request line.
  host.send('{"id":1,"method":"list"}\n');
  const line = await host.waitForLine(/^\{"id":1,/, 30_000);
  const reply = JSON.parse(line) as { ok: boolean; error?: { code: string; message: string } };
  assert.equal(reply.ok, false);
  assert.equal(reply.error?.code, 'EHELPER');
  assert.match(reply.error?.message ?? '', new RegExp(`helper host speaks helper protocol ${PROTOCOL_VERSION} and its client 1: .* must come from one version`));
  const exit = await host.waitForExit(30_000);
  assert.equal(exit.code, 1, host.stderr);
  assert.deepEqual(stackLines(host.stderr), [], 'no stack trace');
});

test('a request frame announcing more bytes than a write can carry ends the host with a clear message, before it reads them', async () => {
  const host = startHost();
  await host.waitForLine(/^\{"hello"/, 30_000);
  for (const chunk of encodeFrame(CLIENT_HELLO)) host.child.stdin!.write(chunk);
  const n = REQUEST_LIMITS.payloadMax + 1;
  host.send(`{"id":1,"method":"write","pid":1,"tid":0,"offset":0,"payload":${n}}\n`);
  const exit = await host.waitForExit(30_000);
  assert.equal(exit.code, 1, host.stderr);
  assert.match(host.stderr, new RegExp(`the client sent a malformed frame: a payload of ${n} bytes, more than the ${REQUEST_LIMITS.payloadMax} allowed`));
  assert.deepEqual(stackLines(host.stderr), [], 'no stack trace');
  assert.doesNotMatch(host.stdout.split('\n').slice(1).join('\n'), /"id":1/, 'the request was not served');
});

/** Problems of @snap against what the fixture writes: @keys keys, every thread's values by its tid. */
function problems(snap: ProcessSnapshot, threads: number, keys: number): string[] {
  const out: string[] = [];
  const names = Array.from({ length: keys }, (_, i) => fixtureKeyName(i));
  if (snap.keys.map((k) => k.name).join() !== names.join()) out.push(`process ${snap.pid} has keys ${snap.keys.map((k) => k.name).join()}`);
  const values = valuesByTid(snap);
  if (values.size !== threads) out.push(`process ${snap.pid} has ${values.size} threads with values, not ${threads}`);
  for (const [tid, v] of values) {
    names.forEach((name, i) => {
      if (v[name] !== fixtureValue(tid, i, fixtureKeySize(i))) out.push(`process ${snap.pid} thread ${tid} ${name} = ${String(v[name])}`);
    });
  }
  return out.slice(0, 5);
}

test('snapshots larger than the socket buffer, asked for all at once through one host, each carry their own process\'s values', async () => {
  // 1,000 threads make a reply of about 330 KB, more than a Unix socket holds: its write is
  // still queued when the host takes the next request.
  const { proc: big } = await world.procs.fixture(['--mode', 'hints', '--threads', '1000', '--keys', '16'], 60_000);
  const { proc: small } = await world.procs.fixture(['--mode', 'hints', '--threads', '3', '--keys', '5']);
  const host = await TldClient.create({ pinPath: world.pinPath, transport: 'host', launcher: [] });
  try {
    const order = [big, small, big, big, small, big];
    const snaps = await Promise.all(order.map((p) => host.snapshot(p.pid)));
    snaps.forEach((snap, i) => {
      const p = order[i]!;
      assert.equal(snap.pid, p.pid);
      assert.deepEqual(problems(snap, p === big ? 1000 : 3, p === big ? 16 : 5), [], `reply ${i}`);
    });
  } finally {
    host.dispose();
    await big.kill();
    await small.kill();
  }
});
