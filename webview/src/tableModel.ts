// The live table's rows, and the patch from one refresh to the next: only what changed.
import { HostToWebview, RowView } from './messages';

export type Patch = Extract<HostToWebview, { type: 'patch' }>;

/** The changes from @before to @after; rows are matched by tid. */
export function diffRows(before: readonly RowView[], after: readonly RowView[]): Patch {
  // Threads mostly stay where they were: a row is looked for at its own index first, and the
  // tids are mapped only once one is not there.
  let old: Map<number, RowView> | undefined;
  let aligned = before.length === after.length;
  const tids: number[] = [];
  const cols: number[] = [];
  const texts: string[] = [];
  const added: RowView[] = [];
  for (let i = 0; i < after.length; i++) {
    const r = after[i]!;
    let o: RowView | undefined = before[i];
    if (o?.tid !== r.tid) {
      aligned = false;
      old ??= new Map(before.map((b) => [b.tid, b]));
      o = old.get(r.tid);
    }
    if (!o) {
      added.push(r);
      continue;
    }
    if (o === r) continue; // a row the host reused: nothing in it changed
    for (let k = 0; k < r.cells.length; k++) {
      if (r.cells[k] !== o.cells[k]) {
        tids.push(r.tid);
        cols.push(k);
        texts.push(r.cells[k] as string);
      }
    }
  }
  const kept = aligned ? undefined : new Set(after.map((r) => r.tid));
  const removed = kept ? before.filter((r) => !kept.has(r.tid)).map((r) => r.tid) : [];
  return { type: 'patch', cells: { tids, cols, texts }, added, removed };
}

export function isEmptyPatch(p: Patch): boolean {
  return p.cells.tids.length === 0 && p.added.length === 0 && p.removed.length === 0;
}

/** CSV of the rows: tid, comm, then one column per key; fields quoted when needed. */
export function toCsv(keys: readonly string[], rows: readonly RowView[]): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [['tid', 'comm', ...keys].map(q).join(','), ...rows.map((r) => [String(r.tid), r.comm, ...r.cells].map(q).join(','))].join('\n') + '\n';
}

/**
 * Whether @row passes @filter: every whitespace-separated term must match. A term KEY=VALUE
 * matches a row whose value of a key with KEY in its name is VALUE; any other term matches the
 * tid, the comm, a value, or a key's name (then every row, as every row has every key).
 * Case-insensitive.
 */
export function matchesFilter(keys: readonly string[], row: RowView, filter: string): boolean {
  const terms = filter.trim().toLowerCase().split(/\s+/).filter(Boolean);
  return terms.every((term) => {
    const eq = term.indexOf('=');
    if (eq > 0) {
      const name = term.slice(0, eq);
      const value = term.slice(eq + 1);
      return keys.some((k, i) => k.toLowerCase().includes(name) && (row.cells[i] ?? '').toLowerCase() === value);
    }
    return String(row.tid).includes(term) || row.comm.toLowerCase().includes(term) ||
      row.cells.some((c) => c.toLowerCase().includes(term)) || keys.some((k) => k.toLowerCase().includes(term));
  });
}

/**
 * The key the Set form starts on: a hint, not a counter. The first `sched.` key (the prefix
 * schedulers read) that has not changed since the table opened, else the first key that has
 * not changed, else the first key.
 */
export function defaultSetKey(keys: readonly string[], changing: ReadonlySet<number>): number {
  const still = keys.map((_, i) => i).filter((i) => !changing.has(i));
  return still.find((i) => keys[i]?.startsWith('sched.')) ?? still[0] ?? 0;
}

/** The file name an export proposes: tld-COMM-PID-YYYYMMDD-HHMMSS.FORMAT, the comm made safe. */
export function exportFileName(comm: string, pid: number, format: 'json' | 'csv', at: Date): string {
  const safe = comm.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._]+/, '') || 'process';
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getFullYear()}${two(at.getMonth() + 1)}${two(at.getDate())}-${two(at.getHours())}${two(at.getMinutes())}${two(at.getSeconds())}`;
  return `tld-${safe}-${pid}-${stamp}.${format}`;
}
