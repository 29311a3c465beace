// tldctl watch's text: a formatter that keeps the rows that did not change prints, refresh after
// refresh, exactly what a fresh one prints for the same snapshot and its predecessor.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { SnapshotTexts, snapshotText } from '../../extension/src/cli/format';
import { SCHED_FIELDS, SCHED_HAS_INFO, SCHED_REC } from '../../extension/src/client/records';
import { KeyInfo, ProcessSnapshot, ThreadSnapshot } from '../../extension/src/client/snapshot';
import { KeyTypes } from '../../extension/src/client/values';

interface ThreadSpec {
  tid: number;
  comm: string;
  /** One number per key. */
  values: number[];
  runtimeMs: number;
  switches: number;
}

/** A snapshot of @threads with @keys (each 8 bytes), taken at @nowMs: each thread's values, then its sched record. */
function snapshot(keys: readonly string[], threads: readonly ThreadSpec[], nowMs: number): ProcessSnapshot {
  const infos: KeyInfo[] = keys.map((name, i) => ({ name, size: 8, offset: 8 * i }));
  const used = 8 * keys.length;
  const each = used + SCHED_REC;
  const raw = new Uint8Array(Math.max(1, each * threads.length));
  const view = new DataView(raw.buffer);
  const bytes = { raw, view, keys: infos };
  const ts = threads.map((t, j) => {
    t.values.forEach((v, k) => view.setBigUint64(j * each + 8 * k, BigInt(v), true));
    const at = j * each + used;
    const u32 = (f: keyof typeof SCHED_FIELDS, v: number) => view.setUint32(at + SCHED_FIELDS[f], v, true);
    const u64 = (f: keyof typeof SCHED_FIELDS, v: bigint) => view.setBigUint64(at + SCHED_FIELDS[f], v, true);
    u32('tid', t.tid);
    u32('has', SCHED_HAS_INFO);
    u64('now', BigInt(nowMs) * 1_000_000n);
    u32('cpu', t.tid % 2);
    u32('state', 1);
    u32('prio', 120);
    u64('runtime', BigInt(t.runtimeMs) * 1_000_000n);
    u64('nvcsw', BigInt(t.switches));
    const thread = new ThreadSnapshot(t.tid, t.comm, j * each, bytes);
    thread.setSchedAt(at);
    return thread;
  });
  return { pid: 100, comm: 'app', pageSize: 4096, layout: 1, keys: infos, used, capacity: 4088, threads: ts, exiting: false, raw } as ProcessSnapshot;
}

test('a watch that keeps unchanged rows prints what a fresh formatter prints, through changes of values, counters, comm, widths, threads and keys', () => {
  const types: KeyTypes = new Map();
  let keys = ['a', 'b', 'c'];
  const threads: ThreadSpec[] = Array.from({ length: 50 }, (_, i) => ({ tid: 1000 + i, comm: 'worker', values: [i, 2 * i, 3], runtimeMs: i, switches: i }));
  const texts = new SnapshotTexts(types);
  // The same refreshes as the bytes a watch writes (kept rows' lines copied from their bytes).
  const written = new SnapshotTexts(types);
  let prev: ProcessSnapshot | undefined;
  // A fixed sequence of changes, each refresh a few.
  const steps: ((n: number) => void)[] = [
    () => undefined, // nothing changes
    () => (threads[3]!.values[1] = 77), // one value
    () => (threads[5]!.runtimeMs += 40), // one thread ran: its rate cells change
    () => (threads[7]!.values[0] = 123456789012), // a wider value: every line is padded anew
    () => (threads[7]!.values[0] = 1), // and narrower again
    () => (threads[9]!.comm = 'renamed'),
    () => threads.splice(10, 5), // threads end
    (n) => threads.push({ tid: 5000 + n, comm: 'new', values: [1, 1, 1], runtimeMs: 0, switches: 0 }),
    () => (keys = [...keys, 'd']), // a key is added: every row has one more cell
    () => threads.forEach((t) => t.values.push(0)),
    () => (threads[0]!.switches += 3),
  ];
  const made: number[] = [];
  for (let n = 0; n < steps.length; n++) {
    steps[n]!(n);
    const s = snapshot(keys, threads.map((t) => ({ ...t, values: t.values.slice(0, keys.length) })), 100 * (n + 1));
    const fresh = snapshotText(s, types, Infinity, prev);
    assert.equal(texts.next(s), fresh, `refresh ${n + 1}`);
    assert.equal(Buffer.from(written.nextBytes(s, Infinity, `at ${n}`)).toString(), `at ${n}\n${fresh}\n`, `refresh ${n + 1}, written`);
    made.push(texts.rowsMade);
    prev = s;
  }
  // Refreshes where nothing or one thread changed made no more rows than changed.
  assert.equal(made[0], 50, 'the first refresh makes every row');
  assert.equal(made[1], 50, 'the second switches from totals to rates: every row again');
  assert.equal(made[2], 1, 'one thread ran: its row alone is made');
  assert.equal(made[3], 2, 'one value changed and the thread that ran is back to 0%: two rows');
});

test('a watch cut to a terminal\'s height prints what a fresh formatter prints at each height', () => {
  const threads: ThreadSpec[] = Array.from({ length: 30 }, (_, i) => ({ tid: 10 + i, comm: 'w', values: [i], runtimeMs: 0, switches: 0 }));
  const texts = new SnapshotTexts(new Map());
  let prev: ProcessSnapshot | undefined;
  const written = new SnapshotTexts(new Map());
  for (const [n, fit] of [40, 10, 10, 25, 1].entries()) {
    const s = snapshot(['k'], threads, 100 * (n + 1));
    const fresh = snapshotText(s, new Map(), fit, prev);
    assert.equal(texts.next(s, fit), fresh, `height ${fit}`);
    assert.equal(Buffer.from(written.nextBytes(s, fit, '')).toString(), `\n${fresh}\n`, `height ${fit}, written`);
    prev = s;
  }
});

test('a thread is idle since an earlier read when its record is the same but for a later time', () => {
  const spec = { tid: 7, comm: 'w', values: [1], runtimeMs: 5, switches: 3 };
  const at = (nowMs: number, s = spec) => snapshot(['k'], [s], nowMs).threads[0] as ThreadSnapshot;
  assert.ok(at(2000).idleSince(at(1000)));
  assert.ok(at(5_000_000).idleSince(at(1000)), 'a later time in the high half of the u64 too');
  assert.ok(!at(1000).idleSince(at(1000)), 'the same read is no interval');
  assert.ok(!at(1000).idleSince(at(2000)), 'an earlier time');
  assert.ok(!at(2000, { ...spec, runtimeMs: 6 }).idleSince(at(1000)), 'it ran');
  assert.ok(!at(2000, { ...spec, switches: 4 }).idleSince(at(1000)), 'it switched');
  assert.ok(at(2000, { ...spec, values: [9] }).idleSince(at(1000)), 'values are not scheduling');
});
