// The Hint Inspector's plot data: every thread's current value of each numeric key, the
// min/median/max over threads at each of the last refreshes, each thread's values of the
// chosen key over those refreshes, and histograms. Pure, so that it is tested without a DOM.
import { KeyView, RowView } from './messages';
import type { Patch } from './tableModel';

/** How many refreshes the plot keeps. */
export const PLOT_SAMPLES = 100;
/** How many threads the time plot draws as lines (the band covers all of them). */
export const PLOT_LINES = 8;

/** Whether values of a key of this type label (extension/src/inspector/views.ts) are numbers. */
export function isNumericType(type: string): boolean {
  return /^[ui](8|16|32|64)$/.test(type) || type === SCHED_TYPE;
}

/** The type of the plot's scheduling figures (the table's columns after the keys). */
export const SCHED_TYPE = 'sched';
/** The type of the scheduling columns that are words (state, policy, DSQ): never plotted, not listed. */
export const SCHED_TEXT_TYPE = 'sched-text';

/** A cell's number, or NaN when the text is not one (hex bytes, a struct, an empty cell). */
export function parseNumeric(text: string): number {
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
}

export interface Summary {
  readonly min: number;
  readonly median: number;
  readonly max: number;
  /** How many values were numbers. */
  readonly count: number;
}

/** The k-th smallest of a[0..n) (reorders a): Hoare's selection, O(n) on average. */
function select(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k] as number;
}

let scratch = new Float64Array(1024);

/** Min, median (the lower one of an even count) and max of the numbers among @values; undefined when there are none. */
export function summarize(values: ArrayLike<number>, length = values.length): Summary | undefined {
  if (scratch.length < length) scratch = new Float64Array(Math.max(length, scratch.length * 2));
  let n = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < length; i++) {
    const v = values[i] as number;
    if (v !== v) continue; // NaN: no value
    scratch[n++] = v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (n === 0) return undefined;
  return { min, median: select(scratch, n, (n - 1) >> 1), max, count: n };
}

export interface Histogram {
  /** The first bin starts at lo; bin i holds [lo + i·width, lo + (i+1)·width). */
  readonly lo: number;
  readonly width: number;
  readonly counts: readonly number[];
  /** How many values were numbers. */
  readonly total: number;
}

/**
 * The numbers among @values in at most @maxBins bins of one integer width: one bin per value
 * when the range is small (a flag, a priority), wider bins otherwise. Undefined when none.
 */
export function histogram(values: ArrayLike<number>, maxBins: number, length = values.length): Histogram | undefined {
  let min = Infinity;
  let max = -Infinity;
  let total = 0;
  for (let i = 0; i < length; i++) {
    const v = values[i] as number;
    if (v !== v) continue;
    total++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (total === 0) return undefined;
  const lo = Math.floor(min);
  const span = Math.floor(max) - lo + 1;
  const width = Math.max(1, Math.ceil(span / Math.max(1, maxBins)));
  const bins = Math.max(1, Math.ceil(span / width));
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < length; i++) {
    const v = values[i] as number;
    if (v !== v) continue;
    const b = Math.min(bins - 1, Math.floor((v - lo) / width));
    counts[b] = (counts[b] as number) + 1;
  }
  return { lo, width, counts, total };
}

/** The band of the time plot, oldest refresh first: NaN where no thread had a number. */
export interface Band {
  readonly min: Float64Array;
  readonly median: Float64Array;
  readonly max: Float64Array;
}

/**
 * Current values by thread slot, column per key, and the history of the last @capacity
 * refreshes. A patch costs O(cells changed); a sample costs O(threads) per numeric key.
 */
export class PlotModel {
  private keyViews: readonly KeyView[] = [];
  private numeric: boolean[] = [];
  private slotOf = new Map<number, number>();
  private freeSlots: number[] = [];
  private slots = 0; // slots in use or freed: the columns' live length
  private columns: Float64Array[] = [];
  private taken = 0; // samples since the last reset
  private summaries: Float64Array[] = []; // per key: capacity × (min, median, max)
  private chosen = -1;
  private ring: Float64Array[] = []; // per sample: the chosen key's value by slot
  private chosenSince = 0; // the first sample that holds the chosen key
  /** Columns whose values changed since the last sample: the others keep their summary. */
  private changed: boolean[] = [];

  constructor(readonly capacity = PLOT_SAMPLES) {}

  get keys(): readonly KeyView[] {
    return this.keyViews;
  }

  isNumeric(key: number): boolean {
    return this.numeric[key] === true;
  }

  /** The key whose threads' history is kept (-1: none). */
  get selected(): number {
    return this.chosen;
  }

  get threads(): number {
    return this.slotOf.size;
  }

  /** Samples held, at most the capacity. */
  get length(): number {
    return Math.min(this.taken, this.capacity);
  }

  /** A new process or new keys: everything starts again from these rows. */
  reset(keys: readonly KeyView[], rows: readonly RowView[]): void {
    const previous = this.chosen >= 0 ? this.keyViews[this.chosen]?.name : undefined;
    this.keyViews = keys;
    this.numeric = keys.map((k) => isNumericType(k.type));
    this.slotOf.clear();
    this.freeSlots = [];
    this.slots = 0;
    const cap = Math.max(16, rows.length);
    this.columns = keys.map(() => new Float64Array(cap).fill(NaN));
    this.summaries = keys.map(() => new Float64Array(this.capacity * 3).fill(NaN));
    this.taken = 0;
    this.ring = [];
    this.chosenSince = 0;
    this.changed = keys.map(() => true);
    for (const r of rows) this.setRow(r);
    const again = previous === undefined ? -1 : keys.findIndex((k) => k.name === previous);
    this.chosen = again >= 0 ? again : this.numeric.indexOf(true);
  }

  /** Chooses the numeric key whose threads' values are kept from now on (its band has its whole history); others are ignored. */
  select(key: number): void {
    if (key === this.chosen || !this.numeric[key]) return;
    this.chosen = key;
    this.chosenSince = this.taken;
  }

  applyPatch(p: Patch): void {
    if (p.removed.length || p.added.length) this.changed.fill(true);
    for (const tid of p.removed) {
      const s = this.slotOf.get(tid);
      if (s === undefined) continue;
      this.slotOf.delete(tid);
      for (const c of this.columns) c[s] = NaN;
      this.freeSlots.push(s);
    }
    for (const r of p.added) this.setRow(r);
    const { tids, cols, texts } = p.cells;
    for (let i = 0; i < tids.length; i++) {
      const k = cols[i] as number;
      const s = this.slotOf.get(tids[i] as number);
      const column = this.columns[k];
      if (s !== undefined && column && this.numeric[k]) {
        column[s] = parseNumeric(texts[i] as string);
        this.changed[k] = true;
      }
    }
  }

  private setRow(r: RowView): void {
    let s = this.slotOf.get(r.tid);
    if (s === undefined) {
      s = this.freeSlots.pop();
      if (s === undefined) {
        s = this.slots++;
        if (s >= (this.columns[0]?.length ?? 0)) this.grow(Math.max(16, s * 2));
      } else {
        // A reused slot must not lend the thread that left its history.
        for (const h of this.ring) h[s] = NaN;
      }
      this.slotOf.set(r.tid, s);
    }
    for (let k = 0; k < this.columns.length; k++) {
      (this.columns[k] as Float64Array)[s] = this.numeric[k] ? parseNumeric(r.cells[k] ?? '') : NaN;
    }
  }

  private grow(size: number): void {
    this.columns = this.columns.map((c) => {
      const n = new Float64Array(size).fill(NaN);
      n.set(c);
      return n;
    });
    this.ring = this.ring.map((h) => {
      const n = new Float64Array(size).fill(NaN);
      n.set(h);
      return n;
    });
  }

  /** Records the current values as the newest refresh (the oldest falls out past the capacity). */
  sample(): void {
    const at = this.taken % this.capacity;
    const last = this.taken > 0 ? (this.taken - 1) % this.capacity : -1;
    for (let k = 0; k < this.columns.length; k++) {
      if (!this.numeric[k]) continue;
      const out = this.summaries[k] as Float64Array;
      // A column no patch touched has the summary it had (10,000 values and a median each).
      if (!this.changed[k] && last >= 0) {
        out.copyWithin(at * 3, last * 3, last * 3 + 3);
        continue;
      }
      this.changed[k] = false;
      const s = summarize(this.columns[k] as Float64Array, this.slots);
      out[at * 3] = s ? s.min : NaN;
      out[at * 3 + 1] = s ? s.median : NaN;
      out[at * 3 + 2] = s ? s.max : NaN;
    }
    const column = this.columns[this.chosen];
    if (column && this.numeric[this.chosen]) {
      let h = this.ring[at];
      if (!h || h.length !== column.length) h = this.ring[at] = new Float64Array(column.length);
      h.set(column);
    }
    this.taken++;
  }

  /** The ring index of the i-th sample held, oldest first. */
  private at(i: number): number {
    return (this.taken - this.length + i) % this.capacity;
  }

  /** Min, median and max over threads of @key at each refresh held, oldest first. */
  band(key = this.chosen): Band {
    const n = this.length;
    const band = { min: new Float64Array(n).fill(NaN), median: new Float64Array(n).fill(NaN), max: new Float64Array(n).fill(NaN) };
    const s = this.summaries[key];
    if (!s || !this.numeric[key]) return band;
    for (let i = 0; i < n; i++) {
      const at = this.at(i) * 3;
      band.min[i] = s[at] as number;
      band.median[i] = s[at + 1] as number;
      band.max[i] = s[at + 2] as number;
    }
    return band;
  }

  /** Thread @tid's values of the chosen key at each refresh held, oldest first; NaN before the key was chosen, or where it had none. */
  series(tid: number): Float64Array {
    const n = this.length;
    const out = new Float64Array(n).fill(NaN);
    const s = this.slotOf.get(tid);
    if (s === undefined) return out;
    const first = this.taken - n;
    for (let i = 0; i < n; i++) {
      if (first + i < this.chosenSince) continue;
      const h = this.ring[this.at(i)];
      if (h && s < h.length) out[i] = h[s] as number;
    }
    return out;
  }

  /** Every thread's current value of @key (NaN where none), by slot. */
  current(key = this.chosen): Float64Array {
    const c = this.columns[key];
    return c && this.numeric[key] ? c.subarray(0, this.slots) : new Float64Array(0);
  }

  /** The histogram of @key's current values over threads. */
  histogram(maxBins: number, key = this.chosen): Histogram | undefined {
    return histogram(this.current(key), maxBins);
  }

  /** Min, median and max of @key's current values over threads. */
  summary(key = this.chosen): Summary | undefined {
    return summarize(this.current(key));
  }
}

/** The value range a plot's axis shows: the band's and the lines' extremes, never empty. */
export function extent(arrays: readonly ArrayLike<number>[]): { lo: number; hi: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of arrays) {
    for (let i = 0; i < a.length; i++) {
      const v = a[i] as number;
      if (v !== v) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  if (lo === Infinity) return { lo: 0, hi: 1 };
  if (lo === hi) return { lo: lo - 1, hi: hi + 1 };
  return { lo, hi };
}

/** A number as an axis or summary shows it: integers in full, others to 3 significant digits. */
export function formatNumber(v: number): string {
  if (v !== v) return '–';
  return Number.isInteger(v) ? String(v) : v.toPrecision(3);
}
