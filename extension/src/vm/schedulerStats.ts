// What tld-scx-run prints of a scheduler in the guest: its final statistics, one JSON line
// ("tld-scx-run: final {...}", written by print_final in native/scx/scx_run.c; this file
// mirrors that shape), and how the scheduler ended. Parsed from console lines, validated.

export interface HistogramSummary {
  readonly count: number;
  /** Percentiles as the upper bound of their bucket (within 25%), in ns. */
  readonly p50_ns: number;
  readonly p90_ns: number;
  readonly p99_ns: number;
  readonly max_ns: number;
  /** [lower bound in ns, count] of each non-empty bucket. */
  readonly buckets: readonly (readonly [number, number])[];
}

export interface SchedulerStats {
  readonly seconds: number;
  /** Every integer global of the scheduler. */
  readonly counters: Readonly<Record<string, number>>;
  /** Every `u64 NAME[SCX_LAT_BUCKETS]` global. */
  readonly histograms: Readonly<Record<string, HistogramSummary>>;
}

const FINAL = 'tld-scx-run: final ';
const ENABLED = /tld-scx-run: (\S+) enabled \(sched_ext state: ([^)]*)\)/;
const DISABLED = /tld-scx-run: the kernel disabled the scheduler (.*)$/;
const CAUSE = /tld-scx-run: likely cause: (.*)$/;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

function isHistogram(v: unknown): v is HistogramSummary {
  return isObj(v) && isNum(v.count) && isNum(v.p50_ns) && isNum(v.p90_ns) && isNum(v.p99_ns) && isNum(v.max_ns) &&
    Array.isArray(v.buckets) && v.buckets.every((b: unknown) => Array.isArray(b) && b.length === 2 && isNum(b[0]) && isNum(b[1]));
}

/** The statistics in one console line, or undefined when it is not a valid final line. */
export function parseFinalStats(line: string): SchedulerStats | undefined {
  const at = line.indexOf(FINAL);
  if (at < 0) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line.slice(at + FINAL.length));
  } catch {
    return undefined;
  }
  if (!isObj(v) || !isNum(v.seconds) || !isObj(v.counters) || !isObj(v.histograms)) return undefined;
  if (!Object.values(v.counters).every((c) => typeof c === 'number' && Number.isFinite(c))) return undefined;
  if (!Object.values(v.histograms).every(isHistogram)) return undefined;
  return v as unknown as SchedulerStats;
}

export interface SchedulerOutcome {
  /** The struct_ops name the guest enabled, when it did. */
  readonly enabled?: string;
  /** The kernel's reason for disabling it, when it did. */
  readonly disabled?: string;
  /** What the loader could tell of why (a kernel constant left 0, rodata left at its default). */
  readonly likelyCause?: string;
  readonly stats?: SchedulerStats;
}

/** What the console says of the scheduler's run. */
export function schedulerOutcome(lines: readonly string[]): SchedulerOutcome {
  let enabled: string | undefined;
  let disabled: string | undefined;
  let likelyCause: string | undefined;
  let stats: SchedulerStats | undefined;
  for (const l of lines) {
    const c = CAUSE.exec(l);
    if (c) likelyCause = c[1];
    const e = ENABLED.exec(l);
    if (e && e[2] !== 'disabled') enabled = e[1];
    const d = DISABLED.exec(l);
    if (d) disabled = d[1];
    stats = parseFinalStats(l) ?? stats;
  }
  return {
    ...(enabled ? { enabled } : {}),
    ...(disabled ? { disabled } : {}),
    ...(likelyCause ? { likelyCause } : {}),
    ...(stats ? { stats } : {}),
  };
}
