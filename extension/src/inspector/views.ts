// A snapshot as the inspector shows it: keys with their types, formatted rows, the layout.
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
  readonly rows: RowView[];
  readonly layout: LayoutView;
}

export function toView(snap: ProcessSnapshot, types: ReadonlyMap<string, ValueType>): InspectorView {
  const t = typeOf(types);
  return {
    keys: snap.keys.map((k) => ({ name: k.name, size: k.size, offset: k.offset, type: typeLabel(t(k)) })),
    rows: decodeRows(snap, t).map(({ thread, values }) => ({ tid: thread.tid, comm: thread.comm, cells: values.map(formatValue) })),
    layout: layoutOf(snap.keys),
  };
}

/** The first @limit threads' values of key @name as the table shows them ("TID: VALUE"); empty when the key is not there. */
export function keyValueLines(snap: ProcessSnapshot, name: string, types: ReadonlyMap<string, ValueType>, limit = 8): string[] {
  const k = snap.keys.findIndex((key) => key.name === name);
  if (k < 0) return [];
  return toView(snap, types).rows.slice(0, limit).map((r) => `${r.tid}: ${r.cells[k] ?? ''}`);
}
