// What tld-latency (native/workloads/tld_latency.c, a workload every guest gets) prints at its
// end: one "tld-latency: {...}" console line, mirrored here as types and read back, validated.

/** How late one class of periodic threads (hinted or unhinted) ran, in µs. */
export interface LatencyClass {
  /** Periods, missed ones included. */
  readonly n: number;
  /** Periods that came due while the thread waited: each is in n, late from its own due time. */
  readonly missed: number;
  readonly p50_us: number;
  readonly p90_us: number;
  readonly p99_us: number;
  readonly max_us: number;
  /** [lowest lateness in µs, count] of each non-empty bucket: 50 µs wide below 1 ms, 500 µs below 10 ms, 5 ms below 100 ms, then one. */
  readonly hist: readonly (readonly [number, number])[];
}

export interface LatencyReport {
  readonly hogs: number;
  readonly sleepers: number;
  readonly period_us: number;
  readonly seconds: number;
  readonly hinted: LatencyClass;
  readonly unhinted: LatencyClass;
}

const PREFIX = 'tld-latency: ';

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isClass(v: unknown): v is LatencyClass {
  return isObj(v) && isNum(v.n) && isNum(v.missed) && isNum(v.p50_us) && isNum(v.p90_us) && isNum(v.p99_us) && isNum(v.max_us) &&
    Array.isArray(v.hist) && v.hist.every((b: unknown) => Array.isArray(b) && b.length === 2 && isNum(b[0]) && isNum(b[1]));
}

/** The report among console lines (the last valid one), or undefined when there is none. */
export function parseLatencyReport(lines: readonly string[]): LatencyReport | undefined {
  let found: LatencyReport | undefined;
  for (const l of lines) {
    const at = l.indexOf(PREFIX + '{');
    if (at < 0) continue;
    let v: unknown;
    try {
      v = JSON.parse(l.slice(at + PREFIX.length));
    } catch {
      continue;
    }
    if (isObj(v) && isNum(v.hogs) && isNum(v.sleepers) && isNum(v.period_us) && isNum(v.seconds) && isClass(v.hinted) && isClass(v.unhinted)) {
      found = v as unknown as LatencyReport;
    }
  }
  return found;
}
