// The client's layout code at every page size and in both layout revisions, on synthetic
// record streams: geometry, metadata tables, snapshots (where `start` lives, values at a page's
// far end), the process list's capacity and the inspector's layout drawing.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import {
  ENTRY_SIZE,
  LAYOUT_START_IN_PAGE,
  LAYOUT_START_IN_VALUE,
  LayoutRevision,
  META_HEADER,
  NAME_LEN,
  geometry,
} from '../../extension/src/client/layout';
import { META_REC, REC_HEADER, REC_META, REC_THREAD, THREAD_REC, decodeRecords } from '../../extension/src/client/records';
import { DATA_NOT_AT_PAGE_START, decodeRows, parseMetadata, parseSnapshot, toProcessList } from '../../extension/src/client/snapshot';
import { ValueType, decodeValue } from '../../extension/src/client/values';
import { layoutOf } from '../../webview/src/layoutModel';

const PAGES = [4096, 16384, 65536] as const;
const REVISIONS = [LAYOUT_START_IN_PAGE, LAYOUT_START_IN_VALUE] as const;

const isTldError = (code: string, message?: RegExp | string) => (e: unknown) => {
  assert.ok(e instanceof TldError, `not a TldError: ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (typeof message === 'string') assert.ok(e.message.includes(message), e.message);
  else if (message) assert.match(e.message, message);
  return true;
};

/** A metadata page of @pageSize with @entries, as the helper dumps it (the struct, not the whole page). */
function metaPage(pageSize: number, entries: readonly [string, number][], cnt = entries.length): Uint8Array {
  const page = new Uint8Array(geometry(pageSize).metaSize);
  const v = new DataView(page.buffer);
  v.setUint16(0, cnt, true);
  entries.forEach(([name, size], i) => {
    const at = META_HEADER + i * ENTRY_SIZE;
    page.set(Buffer.from(name), at);
    v.setUint16(at + NAME_LEN, size, true);
  });
  return page;
}

interface ThreadSpec {
  tid: number;
  start: bigint;
  /** The data page's first bytes, as the helper copies them (start + used). */
  data: Uint8Array;
  /** 'worker' unless given: at most 15 bytes, NUL-padded to 16 as the kernel's comm. */
  comm?: string;
}

/** A dump_process stream: one META record, then one THREAD record per thread, each 8-byte padded. */
function snapshotStream(pid: number, pageSize: number, layout: number, meta: Uint8Array, threads: readonly ThreadSpec[]): Uint8Array {
  const pad = (n: number) => (8 - (n % 8)) % 8;
  const parts: Uint8Array[] = [];
  const metaSize = META_REC + meta.length + pad(meta.length);
  const m = new Uint8Array(REC_HEADER + metaSize);
  const mv = new DataView(m.buffer);
  mv.setUint32(0, REC_META, true);
  mv.setUint32(4, metaSize, true);
  mv.setUint32(8, pid, true);
  mv.setUint32(12, meta.length, true);
  mv.setUint32(16, pageSize, true);
  mv.setUint32(20, layout, true);
  m.set(meta, REC_HEADER + META_REC);
  parts.push(m);
  for (const t of threads) {
    const size = THREAD_REC + t.data.length + pad(t.data.length);
    const r = new Uint8Array(REC_HEADER + size);
    const v = new DataView(r.buffer);
    v.setUint32(0, REC_THREAD, true);
    v.setUint32(4, size, true);
    const b = REC_HEADER;
    v.setUint32(b, t.tid, true);
    v.setUint32(b + 4, pid, true);
    v.setUint32(b + 8, 7, true); // entry, data, meta
    v.setUint32(b + 12, t.data.length, true);
    v.setBigUint64(b + 16, t.start, true);
    r.set(Buffer.from(`${t.comm ?? 'worker'}\0`), b + 24);
    v.setUint32(b + 48, pageSize, true);
    v.setUint32(b + 52, layout, true);
    r.set(t.data, b + THREAD_REC);
    parts.push(r);
  }
  return Buffer.concat(parts);
}

/** A thread whose data area starts at @start and holds @values (u64 each) at @offsets. */
function thread(tid: number, start: number, used: number, values: readonly [number, bigint][]): ThreadSpec {
  const data = new Uint8Array(start + used);
  const v = new DataView(data.buffer);
  // The first revision's page says its own start; the later one's first u64 is unused.
  v.setBigUint64(0, BigInt(start), true);
  for (const [off, val] of values) v.setBigUint64(start + off, val, true);
  return { tid, start: BigInt(start), data };
}

test('geometry at 4, 16 and 64 KiB pages: keys a metadata page holds, bytes a data page holds, the metadata struct', () => {
  assert.deepEqual(PAGES.map(geometry), [
    { pageSize: 4096, maxKeys: 63, dataMax: 4088, metaSize: 4036 },
    { pageSize: 16384, maxKeys: 255, dataMax: 16376, metaSize: 16324 },
    { pageSize: 65536, maxKeys: 1023, dataMax: 65528, metaSize: 65476 },
  ]);
  for (const bad of [0, 2048, 8191, 131072, 4096.5]) assert.throws(() => geometry(bad), RangeError);
});

test('parseMetadata at every page size holds the full key table and a value at the page\'s last bytes, and refuses one entry or one byte more', () => {
  for (const p of PAGES) {
    const g = geometry(p);
    const full = Array.from({ length: g.maxKeys }, (_, i) => [`k${i}`, 8] as [string, number]);
    const keys = parseMetadata(1, metaPage(p, full), g);
    assert.equal(keys.length, g.maxKeys);
    assert.deepEqual(keys.at(-1), { name: `k${g.maxKeys - 1}`, size: 8, offset: (g.maxKeys - 1) * 8 });
    assert.throws(() => parseMetadata(1, metaPage(p, full, g.maxKeys + 1), g), isTldError('ECORRUPT', `count ${g.maxKeys + 1} is beyond the table of ${g.maxKeys} entries`));
    // Filling the data area to its last byte is fine; one more byte runs past the page.
    assert.deepEqual(parseMetadata(1, metaPage(p, [['big', g.dataMax - 8], ['last', 8]]), g).at(-1), { name: 'last', size: 8, offset: g.dataMax - 8 });
    assert.throws(() => parseMetadata(1, metaPage(p, [['big', g.dataMax - 8], ['last', 9]]), g), isTldError('ECORRUPT', /runs past the page/));
    // A table laid out for larger pages than the map's is refused at the smaller size.
    if (p > 4096) assert.throws(() => parseMetadata(1, metaPage(p, full), geometry(4096)), isTldError('ECORRUPT', /beyond the table of 63/));
  }
});

test('parseSnapshot at every page size and in both revisions finds each value where its thread\'s start puts it, up to the page\'s last byte', () => {
  for (const p of PAGES) {
    for (const layout of REVISIONS) {
      const g = geometry(p);
      const meta = metaPage(p, [['a', 8], ['fill', g.dataMax - 16], ['z', 8]]);
      // A whole page of values: the data area starts 8 bytes in under either revision.
      const threads = [
        thread(11, 8, g.dataMax, [[0, 111n], [g.dataMax - 8, 999n]]),
        thread(12, 8, g.dataMax, [[0, 222n], [g.dataMax - 8, 888n]]),
      ];
      const snap = parseSnapshot(10, snapshotStream(10, p, layout, meta, threads));
      assert.equal(snap.pageSize, p);
      assert.equal(snap.layout, layout);
      assert.equal(snap.capacity, g.dataMax);
      assert.equal(snap.used, g.dataMax);
      const rows = decodeRows(snap, (k) => (k.size === 8 ? { kind: 'int', size: 8, signed: false } : { kind: 'hex', size: k.size }));
      assert.deepEqual(rows.map((r) => [r.thread.tid, Number(r.values[0]), Number(r.values[2])]), [[11, 111, 999], [12, 222, 888]], `${p} bytes, layout ${layout}`);
    }
  }
});

test('parseSnapshot of the later revision reads data that starts inside its page, and refuses a start outside it or off the 8-byte grid', () => {
  for (const p of PAGES) {
    const meta = metaPage(p, [['prio', 4], ['tid', 8]]);
    const start = p / 2 + 136; // where aligned_alloc put the thread's data, past an unused u64
    const snap = parseSnapshot(10, snapshotStream(10, p, LAYOUT_START_IN_VALUE, meta, [thread(11, start, 16, [[0, 7n], [8, 11n]])]));
    assert.deepEqual(decodeRows(snap, () => ({ kind: 'int', size: 4, signed: false })).map((r) => Number(r.values[0])), [7]);
    for (const bad of [0n, 4n, 12n, BigInt(p), BigInt(p) + 8n, 2n ** 40n]) {
      assert.throws(
        () => parseSnapshot(10, snapshotStream(10, p, LAYOUT_START_IN_VALUE, meta, [{ tid: 11, start: bad, data: new Uint8Array(0) }])),
        isTldError('ECORRUPT', `thread 11 says its data starts at ${bad}, outside its page of ${p} bytes`),
        `start ${bad}`,
      );
    }
    // Values that would run past the page's end are refused, not read from the next one.
    assert.throws(() => parseSnapshot(10, snapshotStream(10, p, LAYOUT_START_IN_VALUE, meta, [thread(11, p - 8, 16, [])])), isTldError('ECORRUPT', /values lie past its page/));
  }
});

test('parseSnapshot of the first revision refuses a start other than 8 as upstream\'s data-not-at-page-start bug, whatever the value', () => {
  for (const p of PAGES) {
    const meta = metaPage(p, [['prio', 4]]);
    // A heap pointer (what a malloc'ed page's base holds), a plausible offset, and zero.
    for (const bad of [140582399770672n, 208n, 0n, 16n]) {
      const stream = snapshotStream(10, p, LAYOUT_START_IN_PAGE, meta, [thread(11, 8, 8, []), { tid: 12, start: bad, data: new Uint8Array(8) }]);
      assert.throws(() => parseSnapshot(10, stream), (e: unknown) => {
        isTldError('ELAYOUT', DATA_NOT_AT_PAGE_START)(e);
        assert.equal((e as Error).message, `process 10, thread 12: ${DATA_NOT_AT_PAGE_START}`);
        assert.doesNotMatch((e as Error).message, /outside its page/);
        return true;
      });
    }
  }
  assert.equal(DATA_NOT_AT_PAGE_START, 'data is not at the start of its page: upstream task_local_data.h with TLD_DYN_DATA_SIZE below a page; schedulers read wrong values here');
});

test('parseSnapshot refuses a stream naming a page size outside 4 to 64 KiB or an unknown layout revision', () => {
  const meta = metaPage(4096, [['a', 4]]);
  assert.throws(() => parseSnapshot(1, snapshotStream(1, 8192 + 1, LAYOUT_START_IN_PAGE, meta, [])), isTldError('EHELPER', /page size 8193/));
  assert.throws(() => parseSnapshot(1, snapshotStream(1, 4096, 3, meta, [])), isTldError('EHELPER', /unknown layout revision 3/));
});

test('the process list and the inspector\'s layout drawing give each page size its own capacity and key table', () => {
  for (const p of PAGES) {
    const g = geometry(p);
    for (const layout of REVISIONS as readonly LayoutRevision[]) {
      const stream = snapshotStream(10, p, layout, metaPage(p, [['a', 8]]), [thread(11, 8, 8, [[0, 1n]])]);
      const list = toProcessList(decodeRecords(stream));
      assert.deepEqual(list.map((x) => [x.pid, x.capacity]), [[10, g.dataMax]]);
    }
    const drawn = layoutOf([{ name: 'a', size: 4, offset: 0 }], p);
    assert.deepEqual([drawn.capacity, drawn.maxEntries, drawn.used], [g.dataMax, g.maxKeys, 8]);
  }
});

test('parseSnapshot gives each thread its own comm, whether it repeats the one before or differs from it in any byte', () => {
  const meta = metaPage(4096, [['a', 8]]);
  const comms = ['worker', 'worker', 'workes', 'worker', 'x'.repeat(15), 'x'.repeat(14) + 'y', 'x'.repeat(15), 'w', 'worker'];
  const threads = comms.map((comm, i) => ({ ...thread(100 + i, 8, 8, [[0, BigInt(i)]]), comm }));
  const snap = parseSnapshot(10, snapshotStream(10, 4096, LAYOUT_START_IN_PAGE, meta, threads));
  assert.deepEqual(snap.threads.map((t) => t.comm), comms);
});

test('decodeRows gives every value decodeValue gives, for each integer size signed and unsigned, hex and structs', () => {
  // Keys of 1, 2, 4, 8, 8 and 3 bytes, at offsets 0, 8, 16, 24, 32, 40 (each rounded up to 8).
  const sizes = [1, 2, 4, 8, 8, 3];
  const meta = metaPage(4096, sizes.map((size, i) => [`k${i}`, size] as [string, number]));
  const patterns = [0x00n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn,
    0x1fffffffffffffn, 0x20000000000000n, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0x0123456789abcdefn];
  const threads = patterns.map((p, i) => thread(200 + i, 8, 48, sizes.map((_, k) => [k * 8, BigInt.asUintN(64, p + BigInt(k))] as [number, bigint])));
  const snap = parseSnapshot(10, snapshotStream(10, 4096, LAYOUT_START_IN_PAGE, meta, threads));
  const struct: ValueType = { kind: 'struct', name: 's', size: 8, fields: [{ name: 'lo', offset: 0, type: { kind: 'int', size: 4, signed: true } }, { name: 'hi', offset: 4, type: { kind: 'hex', size: 4 } }] };
  const typings: ((size: number, k: number) => ValueType)[] = [
    (size) => (size === 3 ? { kind: 'hex', size } : { kind: 'int', size: size as 1 | 2 | 4 | 8, signed: false }),
    (size) => (size === 3 ? { kind: 'hex', size } : { kind: 'int', size: size as 1 | 2 | 4 | 8, signed: true }),
    (size, k) => (k === 4 ? struct : { kind: 'hex', size }),
  ];
  for (const typing of typings) {
    const typeOf = (key: { name: string; size: number }) => typing(key.size, Number(key.name.slice(1)));
    const rows = decodeRows(snap, typeOf);
    assert.equal(rows.length, patterns.length);
    for (const { thread: t, values } of rows) {
      assert.deepEqual(values, snap.keys.map((key) => decodeValue(t.value(key)!, typeOf(key))), `thread ${t.tid}`);
    }
  }
});

test("a guest's process list and snapshot take names from its records, never from this machine's /proc for the same pid", () => {
  const meta = metaPage(4096, [['a', 8]]);
  // pid 1 is init on this machine: a guest's pid 1 is another process.
  const stream = snapshotStream(1, 4096, LAYOUT_START_IN_PAGE, meta, [{ ...thread(1, 8, 8, [[0, 1n]]), comm: 'tld-demo' }, { ...thread(2, 8, 8, [[0, 2n]]), comm: 'worker' }]);
  const here = (pid: number) => (pid === 1 ? 'init-here' : '');
  assert.deepEqual(toProcessList(decodeRecords(stream), null).map((p) => [p.pid, p.comm]), [[1, 'tld-demo']]);
  assert.deepEqual(toProcessList(decodeRecords(stream), here).map((p) => [p.pid, p.comm]), [[1, 'init-here']]);
  const noLeader = snapshotStream(1, 4096, LAYOUT_START_IN_PAGE, meta, [{ ...thread(2, 8, 8, [[0, 2n]]), comm: 'worker' }]);
  assert.equal(parseSnapshot(1, noLeader, null).comm, '');
  assert.equal(parseSnapshot(1, noLeader, here).comm, 'init-here');
});
