// One benchmark figure as npm run bench reports it and the README's table shows it: a value,
// what it is set against in the same run (when it has a floor), its goal and whether it is met.

export interface Figure {
  /** What is measured, for a reader of the README. */
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The floor measured in the same run, and value / floor. */
  readonly against?: { readonly name: string; readonly value: number; readonly unit: string; readonly ratio: number };
  /** The goal in words ("at most 1.5x the floor", "under 10 ms"). */
  readonly goal: string;
  readonly met: boolean;
  /** Other numbers a reader needs beside the value (p95 next to p99...). */
  readonly note?: string;
}

const ratioOf = (value: number, floor: number) => Number((value / floor).toFixed(3));

/** Percentiles of value / floor over rounds each measuring both, as the C benchmarks print them. */
export interface RatioSpread {
  readonly p10: number;
  readonly p50: number;
  readonly p90: number;
}

/** A figure's note on how its per-round ratios spread, and how they were measured. */
export function spreadNote(r: RatioSpread, how: string): string {
  return `per-round ratio p10 ${r.p10}, p50 ${r.p50}, p90 ${r.p90} (${how})`;
}

/** @value against @floor measured in the same run; the goal bounds the ratio. */
export function ratioFigure(
  name: string,
  value: number,
  unit: string,
  floorName: string,
  floor: number,
  maxRatio: number,
  note?: string,
): Figure {
  const ratio = ratioOf(value, floor);
  return {
    name,
    value,
    unit,
    against: { name: floorName, value: floor, unit, ratio },
    goal: `at most ${maxRatio}x`,
    met: Number.isFinite(ratio) && ratio <= maxRatio,
    ...(note ? { note } : {}),
  };
}

/** @value against an absolute bound; @context, when given, is a floor shown beside it. */
export function boundFigure(
  name: string,
  value: number,
  unit: string,
  goal: string,
  met: boolean,
  opts: { note?: string; context?: { name: string; value: number } } = {},
): Figure {
  return {
    name,
    value,
    unit,
    ...(opts.context ? { against: { ...opts.context, unit, ratio: ratioOf(value, opts.context.value) } } : {}),
    goal,
    met,
    ...(opts.note ? { note: opts.note } : {}),
  };
}

/** @v with three significant digits at most (1.234 -> 1.23, 1234.5 -> 1235). */
export function shortNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
  return v.toLocaleString('en-US', { maximumFractionDigits: digits });
}
