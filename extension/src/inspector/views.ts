// A snapshot as the inspector shows it: keys with their types, formatted rows, the layout.
import { KeyInfo, ProcessSnapshot, decodeRows } from '../client/snapshot';
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
  readonly rows: RowView[];
  readonly layout: LayoutView;
}

export function toView(snap: ProcessSnapshot, types: ReadonlyMap<string, ValueType>): InspectorView {
  const t = typeOf(types);
  return {
    keys: keysOf(snap, t),
    rows: decodeRows(snap, t).map(({ thread, values }) => ({ tid: thread.tid, comm: thread.comm, cells: values.map(formatValue) })),
    layout: layoutOf(snap.keys, snap.pageSize),
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
}

/**
 * The view of @snap, given @prev made with the same keys and types: a thread whose value bytes
 * and comm are as in @prev keeps its row (the same object, so a diff skips it), and only the
 * rows of threads that changed are decoded and formatted. A refresh of 10,000 threads where a
 * few change then costs a compare of their bytes, not 160,000 formatted cells.
 */
export function toViewSince(snap: ProcessSnapshot, types: ReadonlyMap<string, ValueType>, prev: ViewSource): InspectorView {
  const t = typeOf(types);
  const readers = snap.keys.map((k) => readerFor(t(k)));
  const view = new DataView(snap.raw.buffer, snap.raw.byteOffset, snap.raw.byteLength);
  const before = new DataView(prev.snap.raw.buffer, prev.snap.raw.byteOffset, prev.snap.raw.byteLength);
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
  for (const th of snap.threads) {
    const at = th.valuesAt;
    if (at < 0) continue;
    const o = old.get(th.tid);
    if (o && o.row.comm === th.comm && sameWords(view, at, before, o.at, words)) {
      rows.push(o.row);
      continue;
    }
    rows.push({ tid: th.tid, comm: th.comm, cells: snap.keys.map((k, c) => formatValue(readers[c]!(view, at + k.offset))) });
  }
  return { keys: keysOf(snap, t), rows, layout: layoutOf(snap.keys) };
}

function sameWords(a: DataView, aAt: number, b: DataView, bAt: number, words: number): boolean {
  for (let w = 0; w < words; w++) {
    if (a.getUint32(aAt + 4 * w, true) !== b.getUint32(bAt + 4 * w, true)) return false;
  }
  return true;
}
