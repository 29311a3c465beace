// The Hint Inspector's refresh on a live process: the whole table once, then only the cells
// its threads changed, which the webview's plot model reads back as the process's values.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, test } from 'node:test';

import { ProcessSnapshot } from '../../extension/src/client/snapshot';
import { parseTypes } from '../../extension/src/client/values';
import { InspectorFeed } from '../../extension/src/inspector/feed';
import { toView } from '../../extension/src/inspector/views';
import { PlotModel } from '../../webview/src/plotModel';
import { sleep } from '../support/processes';
import { World } from '../support/world';

const world = new World('inspector-feed');
after(() => world.dispose());

test('after the first snapshot a refresh sends only the cells the threads changed (values and scheduling), and none when nothing changed', async () => {
  const status = { paused: false, intervalMs: 100 };
  const live = (await world.procs.fixture(['--mode', 'hints', '--threads', '4', '--keys', '5', '--update-ms', '50'])).proc;
  const still = (await world.procs.fixture(['--mode', 'hints', '--threads', '3', '--keys', '5'])).proc;
  const client = await world.client();

  const feed = new InspectorFeed();
  const first = feed.next(await client.snapshot(live.pid), new Map(), status);
  assert.deepEqual(first.map((m) => m.type), ['snapshot', 'status']);
  const snap = first[0];
  assert.ok(snap?.type === 'snapshot');
  assert.equal(snap.rows.length, 4);
  assert.deepEqual(snap.keys.map((k) => k.type), ['u8', 'u16', 'u32', 'u64', 'u8']);

  const plot = new PlotModel();
  plot.reset(snap.keys, snap.rows);
  await sleep(300);
  const next = feed.next(await client.snapshot(live.pid), new Map(), status);
  assert.equal(next.length, 1);
  const patch = next[0];
  assert.ok(patch?.type === 'patch');
  assert.deepEqual(patch.added, []);
  assert.deepEqual(patch.removed, []);
  assert.ok(patch.cells.tids.length > 0, 'the counters moved');
  // Of the keys' cells; the scheduling columns after them are live (the threads ran meanwhile).
  const keyCols = patch.cells.cols.filter((k) => k < snap.keys.length);
  assert.deepEqual([...new Set(keyCols)].filter((k) => k !== 0 && k !== 2), [], 'only fx.k00 and fx.k02 change');
  assert.deepEqual(snap.columns, ['cpu', 'state', 'policy', 'run %', 'wait ms', 'switches/s', ...(fs.existsSync('/sys/kernel/sched_ext') ? ['dsq'] : [])]);
  assert.ok(patch.cells.cols.some((k, i) => k === snap.keys.length + 3 && Number(patch.cells.texts[i]) >= 0), 'run % appears from the second refresh on');
  // Applied to the first table, the patch gives the process's values as the feed last read them.
  plot.applyPatch(patch);
  plot.select(0);
  plot.sample();
  for (const r of feed.view?.rows ?? []) assert.deepEqual([...plot.series(r.tid)], [Number(r.cells[0])]);

  // Threads blocked all along: after the second refresh (whose rates are new) nothing changes.
  const quiet = new InspectorFeed();
  quiet.next(await client.snapshot(still.pid), new Map(), status);
  await sleep(150);
  quiet.next(await client.snapshot(still.pid), new Map(), status);
  await sleep(150);
  assert.deepEqual(quiet.next(await client.snapshot(still.pid), new Map(), status), [], 'nothing changed: nothing sent');
  quiet.restart();
  assert.deepEqual(quiet.next(await client.snapshot(still.pid), new Map(), status).map((m) => m.type), ['snapshot', 'status'], 'a webview that starts again gets everything');
});

test('a refresh that reuses the rows of unchanged threads shows exactly what decoding every thread again shows, and new types redo every row', async () => {
  const status = { paused: false, intervalMs: 100 };
  const live = (await world.procs.fixture(['--mode', 'hints', '--threads', '6', '--keys', '4', '--update-ms', '30'])).proc;
  const client = await world.client();
  const feed = new InspectorFeed();
  let prev: ProcessSnapshot | undefined;
  for (let i = 0; i < 8; i++) {
    const snap = await client.snapshot(live.pid);
    feed.next(snap, new Map(), status);
    const rows = feed.view?.rows ?? [];
    // The scheduling rates are against the refresh before, as the feed's are.
    assert.deepEqual(rows, toView(snap, new Map(), prev).rows, `refresh ${i}`);
    prev = snap;
    await sleep(20 + 17 * i);
  }
  // Threads that stay blocked: from the third read on their rows are kept without decoding
  // their scheduling records, and still show what decoding them shows.
  const still = (await world.procs.fixture(['--mode', 'hints', '--threads', '4', '--keys', '4'])).proc;
  const quiet = new InspectorFeed();
  let before: ProcessSnapshot | undefined;
  for (let i = 0; i < 5; i++) {
    const snap = await client.snapshot(still.pid);
    quiet.next(snap, new Map(), status);
    assert.deepEqual(quiet.view?.rows, toView(snap, new Map(), before).rows, `still, refresh ${i}`);
    before = snap;
    await sleep(30);
  }
  const hex = new Map([['fx.k00', parseTypes({ 'fx.k00': 'hex' }).get('fx.k00')!]]);
  const retyped = feed.next(await client.snapshot(live.pid), hex, status);
  assert.deepEqual(retyped.map((m) => m.type), ['snapshot', 'status'], 'another type for a key sends the table again');
  const first = retyped[0];
  assert.ok(first?.type === 'snapshot');
  assert.ok(first.rows.every((r) => r.cells[0]?.startsWith('0x')), 'the retyped column is in hex');
});

test('the rows of threads whose values did not change are the same objects as before, and the patch leaves them out', async () => {
  const status = { paused: false, intervalMs: 100 };
  const still = (await world.procs.fixture(['--mode', 'hints', '--threads', '5', '--keys', '3'])).proc;
  const client = await world.client();
  const feed = new InspectorFeed();
  // The threads block once started, so their scheduling figures settle: refresh until one
  // refresh changes nothing (the second is the first with rates), then compare rows from there.
  feed.next(await client.snapshot(still.pid), new Map(), status);
  let settled = false;
  for (let i = 0; i < 50 && !settled; i++) {
    await sleep(50);
    settled = feed.next(await client.snapshot(still.pid), new Map(), status).length === 0 && i > 0;
  }
  assert.ok(settled, 'the idle fixture kept changing');
  const first = feed.view?.rows ?? [];
  // One thread's value changes through the helper: only its row is new.
  const tid = first[2]!.tid;
  await client.set(still.pid, tid, 'fx.k01', '7');
  const out = feed.next(await client.snapshot(still.pid), new Map(), status);
  const rows = feed.view?.rows ?? [];
  assert.equal(rows.length, first.length);
  for (const r of rows) assert.equal(r === first.find((f) => f.tid === r.tid), r.tid !== tid, `thread ${r.tid}`);
  assert.deepEqual(out, [{ type: 'patch', cells: { tids: [tid], cols: [1], texts: ['7'] }, added: [], removed: [] }]);
});
