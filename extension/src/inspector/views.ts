// A snapshot as the inspector shows it: keys with their types, formatted rows, the layout.
import { schedColumns, schedTexts } from '../client/sched';
import { KeyInfo, ProcessSnapshot, ThreadSnapshot, decodeRows, snapshotHasScx } from '../client/snapshot';
import { Value, ValueType, readerFor, typeOf } from '../client/values';
import { layoutOf } from '../../../webview/src/layoutModel';
import { KeyView, LayoutView, RowView } from '../../../webview/src/messages';

export function typeLabel(t: ValueType): string {
  switch (t.kind) {
    case 'int':
      return `${t.signed ? 'i' : 'u'}${t.size * 8}`;
    case 'hex':
      return 'hex';
    case 'struct':
      return `struct ${t.name}`;
  }
}

export function formatValue(v: Value): string {
  if (typeof v === 'object') return '{' + Object.entries(v).map(([k, x]) => `${k}: ${formatValue(x)}`).join(', ') + '}';
  return String(v);
}

export interface InspectorView {
  readonly keys: KeyView[];
  /** Scheduling columns after the keys' (their cells follow the values in each row). */
  readonly columns: string[];
  readonly rows: RowView[];
  readonly layout: LayoutView;
}

/** @prev: the previous refresh's snapshot, for the rates. */
export function toView(snap: ProcessSnapshot, types: ReadonlyMap<string, ValueType>, prev?: ProcessSnapshot): InspectorView {
  const t = typeOf(types);
  const sched = schedOf(snap, prev && byTid(prev));
  return {
    keys: keysOf(snap, t),
    columns: sched.columns,
    rows: decodeRows(snap, t).map(({ thread, values }) => ({
      tid: thread.tid,
      comm: thread.comm,
      cells: [...values.map(formatValue), ...sched.cells(thread)],
    })),
    layout: layoutOf(snap.keys, snap.pageSize),
  };
}

function byTid(snap: ProcessSnapshot): Map<number, ThreadSnapshot> {
  return new Map(snap.threads.map((th) => [th.tid, th]));
}

/**
 * The scheduling columns of @snap and each thread's cells in them (rates against @prev's
 * threads, whose records are decoded only for the threads formatted).
 */
function schedOf(snap: ProcessSnapshot, prev?: ReadonlyMap<number, ThreadSnapshot>): { columns: string[]; cells: (th: ThreadSnapshot) => string[] } {
  const scx = snapshotHasScx(snap);
  return {
    columns: snap.threads.some((th) => th.hasSched) ? schedColumns(scx) : [],
    cells: (th) => (th.sched ? schedTexts(th.sched, prev?.get(th.tid)?.sched, scx) : []),
  };
}

/** The keys of @snap as the inspector shows them, with their types. */
export function keyViews(snap: Pick<ProcessSnapshot, 'keys'>, types: ReadonlyMap<string, ValueType>): KeyView[] {
  return keysOf(snap, typeOf(types));
}

function keysOf(snap: Pick<ProcessSnapshot, 'keys'>, t: (k: KeyInfo) => ValueType): KeyView[] {
  return snap.keys.map((k) => ({ name: k.name, size: k.size, offset: k.offset, type: typeLabel(t(k)) }));
}

/** A view and the snapshot it was made of, for the next refresh to reuse what did not change. */
export interface ViewSource {
  readonly view: InspectorView;
  readonly snap: ProcessSnapshot;
  /**
   * Threads whose scheduling record was the same as at the read before (but for its time):
   * their rates are zeros, and stay the same zeros while the record stays the same.
   */
  readonly steady?: ReadonlySet<number>;
}

/**
 * The view of @snap, given @prev made with the same keys and types: a thread whose value bytes,
 * comm and scheduling cells are as in @prev keeps its row (the same object, so a diff skips it),
 * and only the rows of threads that changed are decoded and formatted. A refresh of 10,000
 * threads where a few change then costs a compare of their bytes each, not 160,000 formatted
 * values: a thread whose scheduling record is the same as at the last two reads (an idle
 * thread, whose rates are the same zeros every time) is not even decoded.
 */
export function toViewSince(snap: ProcessSnapshot, types: ReadonlyMap<string, ValueType>, prev: ViewSource): { view: InspectorView; steady: Set<number> } {
  const t = typeOf(types);
  const before = byTid(prev.snap);
  const sched = schedOf(snap, before);
  const readers = snap.keys.map((k) => readerFor(t(k)));
  const view = new DataView(snap.raw.buffer, snap.raw.byteOffset, snap.raw.byteLength);
  const then = new DataView(prev.snap.raw.buffer, prev.snap.raw.byteOffset, prev.snap.raw.byteLength);
  const old = new Map<number, { at: number; row: RowView }>();
  let i = 0;
  for (const th of prev.snap.threads) {
    if (th.valuesAt < 0) continue;
    const row = prev.view.rows[i++];
    if (row) old.set(th.tid, { at: th.valuesAt, row });
  }
  // used is a multiple of 8 (values are rounded up to 8 bytes): compare in 32-bit words.
  const words = snap.used >> 2;
  const rows: RowView[] = [];
  const steady = new Set<number>();
  for (const th of snap.threads) {
    const at = th.valuesAt;
    if (at < 0) continue;
    const o = old.get(th.tid);
    const p = before.get(th.tid);
    const still = p !== undefined && th.sameSched(p);
    if (still) steady.add(th.tid);
    // The old row, when the thread's name and value bytes are as they were.
    const kept = o !== undefined && o.row.comm === th.comm && sameWords(view, at, then, o.at, words) ? o.row : undefined;
    // Steady now and at the last refresh: the old row's scheduling cells are these.
    if (kept && still && prev.steady?.has(th.tid)) {
      rows.push(kept);
      continue;
    }
    const cells = sched.cells(th);
    if (kept && sameTail(kept.cells, cells, snap.keys.length)) {
      rows.push(kept);
      continue;
    }
    rows.push({ tid: th.tid, comm: th.comm, cells: [...snap.keys.map((k, c) => formatValue(readers[c]!(view, at + k.offset))), ...cells] });
  }
  return { view: { keys: keysOf(snap, t), columns: sched.columns, rows, layout: layoutOf(snap.keys, snap.pageSize) }, steady };
}

/** Whether @row's cells after the first @from are exactly @tail. */
function sameTail(row: readonly string[], tail: readonly string[], from: number): boolean {
  if (row.length !== from + tail.length) return false;
  for (let i = 0; i < tail.length; i++) if (row[from + i] !== tail[i]) return false;
  return true;
}

function sameWords(a: DataView, aAt: number, b: DataView, bAt: number, words: number): boolean {
  for (let w = 0; w < words; w++) {
    if (a.getUint32(aAt + 4 * w, true) !== b.getUint32(bAt + 4 * w, true)) return false;
  }
  return true;
}

/** The first @limit threads' values of key @name as the table shows them ("TID: VALUE"); empty when the key is not there. */
export function keyValueLines(snap: ProcessSnapshot, name: string, types: ReadonlyMap<string, ValueType>, limit = 8): string[] {
  const k = snap.keys.findIndex((key) => key.name === name);
  if (k < 0) return [];
  return toView(snap, types).rows.slice(0, limit).map((r) => `${r.tid}: ${r.cells[k] ?? ''}`);
}
