// The Hint Inspector's refresh on its worker thread (FeedThread): the messages are those the
// feed makes in the extension host's thread, the keys' types are asked for once per key set,
// an exited process is ESRCH, and a worker that dies costs one refresh, not the panel.
import * as assert from 'node:assert/strict';
import { after, test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import { KeyInfo } from '../../extension/src/client/snapshot';
import { ValueType, parseTypes } from '../../extension/src/client/values';
import { InspectorFeed } from '../../extension/src/inspector/feed';
import { FeedThread } from '../../extension/src/inspector/feedThread';
import { World } from '../support/world';

const world = new World('feed-thread');
const feeds: FeedThread[] = [];
after(async () => {
  for (const f of feeds) f.dispose();
  await world.dispose();
});

const status = { paused: false, intervalMs: 100 };

function feedThread(typesOf: (t: { pid: number; keys: readonly KeyInfo[] }) => Promise<ReadonlyMap<string, ValueType>>): FeedThread {
  const f = new FeedThread(typesOf);
  feeds.push(f);
  return f;
}

test('the worker sends what the feed sends in this thread, with the types the panel gives, and the whole table again when they change', async () => {
  // Blocked threads: two snapshots in a row are the same, on either side.
  const still = (await world.procs.fixture(['--mode', 'hints', '--threads', '3', '--keys', '5'])).proc;
  const client = await world.client();
  const asked: string[] = [];
  const hex = parseTypes({ 'fx.k01': 'hex' });
  let types = hex;
  const thread = feedThread(async ({ pid, keys }) => {
    asked.push(`${pid}:${keys.map((k) => k.name).join(',')}`);
    return types;
  });
  const inline = new InspectorFeed();

  const records = await client.snapshotRecords(still.pid);
  const got = await thread.next(still.pid, records, false, status);
  const snap = await client.snapshot(still.pid);
  const want = inline.next(snap, hex, status);
  assert.deepEqual(got.messages, want);
  assert.deepEqual(await thread.view(), inline.view, 'the view an export saves');
  assert.equal(got.comm, snap.comm);
  const first = got.messages[0];
  assert.ok(first?.type === 'snapshot');
  assert.equal(first.keys[1]?.type, 'hex', 'the types the panel found were used');
  assert.ok(records.byteLength > 0, "the caller's records are not detached (the worker got a copy)");

  for (let i = 0; i < 3; i++) {
    const again = await thread.next(still.pid, await client.snapshotRecords(still.pid), false, status);
    assert.deepEqual(again.messages.filter((m) => m.type === 'snapshot'), [], 'a refresh of the same keys sends no whole table');
  }
  // Asked at every refresh (Ctx.keyTypes keeps what it found; the settings may have changed).
  assert.deepEqual(asked, Array(4).fill(`${still.pid}:fx.k00,fx.k01,fx.k02,fx.k03,fx.k04`));

  // Other types (the user took fx.k01 out of tldStudio.keyTypes): the next refresh sends the whole table.
  types = new Map();
  const retyped = await thread.next(still.pid, await client.snapshotRecords(still.pid), false, status);
  const table = retyped.messages[0];
  assert.ok(table?.type === 'snapshot', JSON.stringify(retyped.messages).slice(0, 200));
  assert.equal(table.keys[1]?.type, 'u16', 'fx.k01 as its size says, without the setting');

  // The page a panel opens with: two reads, the whole table, rates already filled in.
  const earlier = await client.snapshotRecords(still.pid);
  await new Promise((r) => setTimeout(r, 50));
  const opened = await thread.next(still.pid, await client.snapshotRecords(still.pid), false, status, earlier);
  const page = opened.messages[0];
  assert.ok(page?.type === 'snapshot', JSON.stringify(opened.messages).slice(0, 200));
  const runPct = page.keys.length + page.columns.indexOf('run %');
  assert.ok(page.columns.includes('run %'), page.columns.join());
  for (const row of page.rows) assert.match(row.cells[runPct] ?? '', /^\d+\.\d$/, `thread ${row.tid} has its run % from the first table on`);

  thread.restart();
  const restarted = await thread.next(still.pid, await client.snapshotRecords(still.pid), false, status);
  assert.deepEqual(restarted.messages.map((m) => m.type), ['snapshot', 'status']);
});

test('a process that exits is ESRCH from the worker, and a worker that dies costs one refresh: the next sends the whole table again', async () => {
  const proc = (await world.procs.fixture(['--mode', 'hints', '--threads', '2', '--keys', '3'])).proc;
  const client = await world.client();
  const thread = feedThread(async () => new Map());
  await thread.next(proc.pid, await client.snapshotRecords(proc.pid), false, status);

  // The worker dies (as an uncaught exception would end it): the refresh under way fails...
  const records = await client.snapshotRecords(proc.pid);
  const worker = (thread as unknown as { worker: { terminate(): Promise<number> } }).worker;
  const pending = thread.next(proc.pid, records, false, status);
  void worker.terminate();
  await assert.rejects(pending, (e: unknown) => e instanceof TldError && e.code === 'EHELPER' && /worker exited/.test(e.message));
  // ...and the next starts a new worker, which knows nothing yet: the whole table.
  const after = await thread.next(proc.pid, await client.snapshotRecords(proc.pid), false, status);
  assert.deepEqual(after.messages.map((m) => m.type), ['snapshot', 'status']);

  const last = await client.snapshotRecords(proc.pid);
  await proc.kill();
  // The records of a process that is gone: no thread left with data, and none in /proc.
  const goneRecords = await client.snapshotRecords(proc.pid).catch(() => last.subarray(0, 0));
  await assert.rejects(thread.next(proc.pid, goneRecords, false, status), (e: unknown) => {
    assert.ok(e instanceof TldError, String(e));
    assert.equal(e.code, 'ESRCH', e.message);
    return true;
  });

  thread.dispose();
  await assert.rejects(thread.next(proc.pid, last, false, status), /the Hint Inspector was closed/);
});
