// The table grouped by one hint's value: per group, how many threads and the p50/p99 of one
// scheduling figure (wait time), the question a hint exists to answer ("do the latency-critical
// threads wait less?").
import { RowView } from './messages';

export interface GroupRow {
  /** The hint's value, as the table shows it. */
  readonly value: string;
  readonly threads: number;
  /** Threads whose figure is a number (the rates need a second refresh). */
  readonly measured: number;
  readonly p50: number;
  readonly p99: number;
}

/** The nearest-rank @p-th percentile (0 < p <= 100) of ascending @sorted; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1] as number;
}

/** Groups @rows by cell @key, summarising cell @figure; groups in numeric order of value (else text). */
export function groupBy(rows: Iterable<RowView>, key: number, figure: number): GroupRow[] {
  const groups = new Map<string, { threads: number; values: number[] }>();
  for (const r of rows) {
    const value = r.cells[key] ?? '';
    const g = groups.get(value) ?? { threads: 0, values: [] };
    g.threads++;
    const text = r.cells[figure] ?? '';
    const v = text === '' ? NaN : Number(text);
    if (!Number.isNaN(v)) g.values.push(v);
    groups.set(value, g);
  }
  const num = (s: string) => (/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : NaN);
  return [...groups]
    .sort(([a], [b]) => {
      const [x, y] = [num(a), num(b)];
      return !Number.isNaN(x) && !Number.isNaN(y) ? x - y : a.localeCompare(b);
    })
    .map(([value, g]) => {
      const sorted = g.values.sort((a, b) => a - b);
      return { value, threads: g.threads, measured: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
    });
}
