// What tldctl prints: tables for people, and the documented JSON shape of a snapshot.
import { ProcessSnapshot, ProcessSummary } from '../client/snapshot';
import { Value, ValueType, decodeValue, defaultType } from '../client/values';

export type KeyTypes = ReadonlyMap<string, ValueType>;

/** The stable --json shape of `tldctl snapshot` (documented in the README). */
export interface SnapshotJson {
  pid: number;
  comm: string;
  keys: { name: string; size: number; offset: number }[];
  threads: { tid: number; comm: string; values: Record<string, Value> }[];
}

function typeFor(types: KeyTypes, name: string, size: number): ValueType {
  const t = types.get(name);
  return t && (t.size === size || t.size === 0) ? t : defaultType(size);
}

export function snapshotJson(s: ProcessSnapshot, types: KeyTypes): SnapshotJson {
  return {
    pid: s.pid,
    comm: s.comm,
    keys: s.keys.map((k) => ({ name: k.name, size: k.size, offset: k.offset })),
    threads: s.threads
      .filter((t) => t.hasData)
      .map((t) => {
        const values: Record<string, Value> = {};
        for (const k of s.keys) {
          const bytes = t.values.get(k.name);
          if (bytes) values[k.name] = decodeValue(bytes, typeFor(types, k.name, k.size));
        }
        return { tid: t.tid, comm: t.comm, values };
      }),
  };
}

function show(v: Value): string {
  if (typeof v === 'object') {
    return '{' + Object.entries(v).map(([k, x]) => `${k}=${show(x)}`).join(' ') + '}';
  }
  return String(v);
}

export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export function processTable(list: readonly ProcessSummary[]): string {
  if (list.length === 0) return 'no process uses task local data';
  return table([
    ['PID', 'COMMAND', 'THREADS', 'KEYS', 'FILL'],
    ...list.map((p) => [String(p.pid), p.comm, String(p.threads), String(p.keys), `${p.used}/${p.capacity} B (${((100 * p.used) / p.capacity).toFixed(1)}%)`]),
  ]);
}

export function snapshotText(s: ProcessSnapshot, types: KeyTypes): string {
  const j = snapshotJson(s, types);
  const head = `process ${s.pid} (${s.comm}): ${s.keys.length} keys, ${s.used}/${s.capacity} bytes of each page, ${j.threads.length} of ${s.threads.length} threads with hints`;
  const keys = table([['KEY', 'SIZE', 'OFFSET'], ...s.keys.map((k) => [k.name, String(k.size), String(k.offset)])]);
  const values = table([
    ['TID', 'COMM', ...s.keys.map((k) => k.name)],
    ...j.threads.map((t) => [String(t.tid), t.comm, ...s.keys.map((k) => (k.name in t.values ? show(t.values[k.name] as Value) : '-'))]),
  ]);
  return `${head}\n\n${keys}\n\n${values}`;
}
