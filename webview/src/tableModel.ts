// The live table's rows, and the patch from one refresh to the next: only what changed.
import { HostToWebview, RowView } from './messages';

export type Patch = Extract<HostToWebview, { type: 'patch' }>;

/** The changes from @before to @after; rows are matched by tid. */
export function diffRows(before: readonly RowView[], after: readonly RowView[]): Patch {
  const old = new Map(before.map((r) => [r.tid, r]));
  const cells: [number, number, string][] = [];
  const added: RowView[] = [];
  const seen = new Set<number>();
  for (const r of after) {
    seen.add(r.tid);
    const o = old.get(r.tid);
    if (!o) {
      added.push(r);
      continue;
    }
    if (o === r) continue; // a row the host reused: nothing in it changed
    for (let k = 0; k < r.cells.length; k++) {
      if (r.cells[k] !== o.cells[k]) cells.push([r.tid, k, r.cells[k] as string]);
    }
  }
  const removed = before.filter((r) => !seen.has(r.tid)).map((r) => r.tid);
  return { type: 'patch', cells, added, removed };
}

export function isEmptyPatch(p: Patch): boolean {
  return p.cells.length === 0 && p.added.length === 0 && p.removed.length === 0;
}

/** CSV of the rows: tid, comm, then one column per key; fields quoted when needed. */
export function toCsv(keys: readonly string[], rows: readonly RowView[]): string {
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [['tid', 'comm', ...keys].map(q).join(','), ...rows.map((r) => [String(r.tid), r.comm, ...r.cells].map(q).join(','))].join('\n') + '\n';
}
