// The Hint Inspector's models: the layout zoomed to the used bytes, the filter, the Set form's
// first key, the export's proposed name and the cells that flash after a change.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Flashes } from '../../webview/src/flashModel';
import { layoutOf, zoomLayout } from '../../webview/src/layoutModel';
import { RowView } from '../../webview/src/messages';
import { defaultSetKey, exportFileName, matchesFilter } from '../../webview/src/tableModel';

// tld-demo's layout: 48 bytes of 4,088 (two 1-byte keys, with 7 bytes of padding each).
const demo = layoutOf([
  { name: 'demo.counter', size: 8, offset: 0 },
  { name: 'demo.phase', size: 1, offset: 8 },
  { name: 'sched.latency_critical', size: 1, offset: 16 },
  { name: 'demo.request', size: 8, offset: 24 },
  { name: 'sched.weight', size: 4, offset: 32 },
  { name: 'plugin.requests', size: 4, offset: 40 },
]);

test('the zoomed layout spreads the used bytes over most of the bar and collapses the free tail into one labelled segment', () => {
  const z = zoomLayout(demo, 1000);
  assert.equal(demo.used, 48);
  assert.equal(z.usedWidth, 800);
  const free = z.parts.filter((p) => p.kind === 'free');
  assert.deepEqual(free.map((p) => [p.x, p.width, p.from, p.to, p.label]), [[800, 200, 48, 4088, 'free: 4,040 B']]);
  // A 1-byte key is 1/48 of 800 units wide, not the 0.24 of the page to scale.
  const phase = z.parts.find((p) => p.kind === 'value' && p.from === 8);
  assert.ok(phase && Math.abs(phase.width - 800 / 48) < 1e-9);
  const padding = z.parts.filter((p) => p.kind === 'padding');
  assert.deepEqual(padding.map((p) => [p.from, p.to]), [[9, 16], [17, 24], [36, 40], [44, 48]]);
  assert.match(padding[0]?.label ?? '', /^7 B of padding after demo\.phase$/);
  // Parts tile the bar in order, without gaps or overlaps.
  let x = 0;
  for (const p of z.parts) {
    assert.ok(Math.abs(p.x - x) < 1e-9, `${p.label} starts at ${p.x}, not ${x}`);
    x = p.x + p.width;
  }
  assert.ok(Math.abs(x - 1000) < 1e-9);
});

test("the ruler's ticks are a power-of-two number of bytes apart, at least 8, leave room for labels, and mark the end of the used bytes", () => {
  const z = zoomLayout(demo, 1000, 40);
  const offsets = z.ticks.map((t) => t.offset);
  assert.equal(offsets[0], 0);
  assert.equal(offsets[offsets.length - 1], 48);
  const steps = offsets.slice(1, -1).map((o, i) => o - (offsets[i] as number));
  for (const s of steps) assert.ok(s >= 8 && (s & (s - 1)) === 0, `step ${s}`);
  for (let i = 1; i < z.ticks.length; i++) assert.ok((z.ticks[i] as { x: number }).x - (z.ticks[i - 1] as { x: number }).x >= 20);
  assert.deepEqual(offsets, [0, 8, 16, 24, 32, 40, 48]);
  // A narrow bar spaces them further apart.
  assert.deepEqual(zoomLayout(demo, 200, 40).ticks.map((t) => t.offset), [0, 16, 32, 48]);
});

test('an empty page is all free, and a full one has no free segment', () => {
  const empty = zoomLayout(layoutOf([]), 500);
  assert.deepEqual(empty.parts.map((p) => [p.kind, p.x, p.width, p.label]), [['free', 0, 500, 'free: 4,088 B']]);
  assert.deepEqual(empty.ticks, []);
  const full = zoomLayout(layoutOf([{ name: 'big', size: 4088, offset: 0 }]), 500);
  assert.deepEqual(full.parts.map((p) => p.kind), ['value']);
  assert.equal(full.usedWidth, 500);
});

const keys = ['demo.counter', 'sched.latency_critical', 'sched.weight'];
const rows: RowView[] = [
  { tid: 101, comm: 'tld-demo', cells: ['17', '1', '100'] },
  { tid: 102, comm: 'worker', cells: ['18', '0', '200'] },
];
const kept = (f: string) => rows.filter((r) => matchesFilter(keys, r, f)).map((r) => r.tid);

test('the filter matches tids, comms, values and key names, and KEY=VALUE picks threads by one key', () => {
  assert.deepEqual(kept(''), [101, 102]);
  assert.deepEqual(kept('102'), [102]);
  assert.deepEqual(kept('WORKER'), [102]);
  assert.deepEqual(kept('200'), [102]);
  assert.deepEqual(kept('latency'), [101, 102], 'a key name matches every thread, which all have it');
  assert.deepEqual(kept('latency=1'), [101]);
  assert.deepEqual(kept('sched.weight=200'), [102]);
  assert.deepEqual(kept('weight=100 tld'), [101], 'every term must match');
  assert.deepEqual(kept('nothing-here'), []);
});

test('the Set form starts on a sched. key that does not change, else on any key that does not', () => {
  const names = ['demo.counter', 'demo.phase', 'sched.latency_critical', 'demo.request', 'sched.weight'];
  assert.equal(defaultSetKey(names, new Set()), 2);
  assert.equal(defaultSetKey(names, new Set([2])), 4, 'a sched. key the process changes itself is skipped');
  assert.equal(defaultSetKey(['a.count', 'a.mode'], new Set([0])), 1);
  assert.equal(defaultSetKey(['a.count'], new Set([0])), 0);
});

test('an export proposes tld-COMM-PID-DATE-TIME with the comm made safe for a file name', () => {
  const at = new Date(2026, 10, 29, 9, 5, 7);
  assert.equal(exportFileName('tld-demo', 42, 'json', at), 'tld-tld-demo-42-20261129-090507.json');
  assert.equal(exportFileName('a/b c', 7, 'csv', at), 'tld-a_b_c-7-20261129-090507.csv');
  assert.equal(exportFileName('..', 7, 'csv', at), 'tld-process-7-20261129-090507.csv');
});

test('a changed cell flashes until its refresh expires; marked again by a later refresh, it flashes until that one does', () => {
  const f = new Flashes();
  f.begin(1000);
  f.mark(4242, 3);
  f.mark(4242, 17);
  f.mark(4243, 3);
  f.begin(1500);
  f.mark(4243, 3);
  f.mark(4243, 3);
  assert.equal(f.size, 3, 'a cell counts once, however often it is marked');
  assert.ok(f.isOn(4242, 3, 999) && f.isOn(4242, 17, 999) && f.isOn(4243, 3, 999));
  assert.ok(!f.isOn(4242, 4, 999) && !f.isOn(4241, 3, 999), 'cells that were not marked do not flash');
  assert.ok(!f.isOn(4242, 3, 1000), 'the time is up at its end');
  assert.equal(f.expire(1000), true, 'a cell still flashes');
  assert.equal(f.size, 1);
  assert.ok(f.isOn(4243, 3, 1200), 'the later refresh keeps its cell');
  assert.equal(f.expire(1500), false);
  assert.equal(f.size, 0);
  assert.throws(() => new Flashes().mark(1, 1), /before begin/);
});
