// A snapshot as the inspector shows it: keys with their types, formatted rows, the layout.
import { SchedRecord } from '../client/records';
import { schedColumns, schedTexts } from '../client/sched';
import { ProcessSnapshot, decodeRows } from '../client/snapshot';
import { Value, ValueType, typeOf } from '../client/values';
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

/** @prev: each thread's scheduling at the previous refresh, for the rates. */
export function toView(snap: ProcessSnapshot, types: ReadonlyMap<string, ValueType>, prev?: ReadonlyMap<number, SchedRecord | undefined>): InspectorView {
  const t = typeOf(types);
  const scx = snap.threads.some((th) => th.sched?.scx);
  return {
    keys: snap.keys.map((k) => ({ name: k.name, size: k.size, offset: k.offset, type: typeLabel(t(k)) })),
    columns: snap.threads.some((th) => th.sched) ? schedColumns(scx) : [],
    rows: decodeRows(snap, t).map(({ thread, values }) => ({
      tid: thread.tid,
      comm: thread.comm,
      cells: [...values.map(formatValue), ...(thread.sched ? schedTexts(thread.sched, prev?.get(thread.tid), scx) : [])],
    })),
    layout: layoutOf(snap.keys),
  };
}
