// What tldctl prints: tables for people (names from targets escaped), and the documented JSON shape of a snapshot.
import { printable } from '../client/printable';
import { LoadedProgram } from '../client/protocol';
import { KeyInfo, ProcessSnapshot, ProcessSummary, ThreadSnapshot, decodeRows, snapshotHasScx } from '../client/snapshot';
import { KeyTypes, Value, ValueReader, readerFor, typeOf } from '../client/values';
import { SchedRecord } from '../client/records';
import { SchedJson, dsqName, policyLabel, schedJson, schedRates, stateLetter } from '../client/sched';

/** The stable --json shape of `tldctl snapshot` (documented in the README). */
export interface SnapshotJson {
  pid: number;
  comm: string;
  keys: { name: string; size: number; offset: number }[];
  threads: { tid: number; comm: string; values: Record<string, Value>; sched?: SchedJson }[];
}

export function snapshotJson(s: ProcessSnapshot, types: KeyTypes): SnapshotJson {
  return {
    pid: s.pid,
    comm: s.comm,
    keys: s.keys.map((k) => ({ name: k.name, size: k.size, offset: k.offset })),
    threads: decodeRows(s, typeOf(types)).map(({ thread, values }) => {
      const byName: Record<string, Value> = {};
      s.keys.forEach((k, i) => (byName[k.name] = values[i] as Value));
      return { tid: thread.tid, comm: thread.comm, values: byName, ...(thread.sched ? { sched: schedJson(thread.sched) } : {}) };
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
  for (const r of rows) {
    for (let i = 0; i < r.length; i++) {
      const len = (r[i] as string).length;
      if (!(len <= (widths[i] as number))) widths[i] = len;
    }
  }
  return rows.map((r) => padded(r, widths)).join('\n');
}

export function processTable(list: readonly ProcessSummary[]): string {
  if (list.length === 0) return 'no process uses task local data';
  return table([
    ['PID', 'COMMAND', 'THREADS', 'KEYS', 'FILL'],
    ...list.map((p) => [String(p.pid), printable(p.comm), String(p.threads), String(p.keys), `${p.used}/${p.capacity} B (${((100 * p.used) / p.capacity).toFixed(1)}%)`]),
  ]);
}

/**
 * A thread's scheduling columns: CPU, state, policy, then with @prev (the same thread's
 * previous read) run %, wait ms and switches/s over the interval, else the totals; the DSQ
 * on sched_ext.
 */
function schedCells(s: SchedRecord | undefined, prev: SchedRecord | undefined, scx: boolean): string[] {
  if (!s) return ['-', '-', '-', '-', '-', '-', ...(scx ? ['-'] : [])];
  const policy = policyLabel(s);
  const r = schedRates(prev, s);
  const figures = r
    ? [r.runPct.toFixed(1), r.waitMs === undefined ? '-' : r.waitMs.toFixed(2), r.switchesPerSec.toFixed(0)]
    : [(Number(s.runtime) / 1e6).toFixed(1), s.runDelay === undefined ? '-' : (Number(s.runDelay) / 1e6).toFixed(2), String(s.nvcsw + s.nivcsw)];
  const dsq = s.scx?.dsqId !== undefined ? dsqName(s.scx.dsqId) : '-';
  return [String(s.cpu), stateLetter(s), policy, ...figures, ...(scx ? [dsq] : [])];
}

/**
 * The snapshot as text; @maxThreads cuts the thread table (a terminal's height). With @prev
 * (the previous snapshot of a watch), the scheduling counters show as rates over the interval.
 */
export function snapshotText(s: ProcessSnapshot, types: KeyTypes, maxThreads = Infinity, prev?: ProcessSnapshot): string {
  return new SnapshotTexts(types, prev).next(s, maxThreads);
}

const NO_BYTES = new Uint8Array(0);

/**
 * A thread's row as the last refresh showed it. A class whose fields all start with their
 * final types, so every row has one shape: rows of object literals whose line went from
 * undefined to a string deoptimized the watch's refresh again and again, each time costing
 * a 60-80 ms recompile.
 */
class Row {
  /** The line, padded to the widths of generation @lineWidths, and its UTF-8 bytes (empty until written once). */
  line = '';
  lineBytes: Uint8Array = NO_BYTES;
  lineWidths = -1;

  constructor(
    readonly tid: number,
    readonly comm: string,
    /** A copy of its values' bytes. */
    readonly bytes: DataView,
    readonly cells: readonly string[],
    /** Whether its scheduling cells are those of a thread whose record did not change over the interval. */
    readonly idle: boolean,
    /** The refresh that last showed it, to forget threads that ended. */
    public seen: number,
  ) {}
}

/**
 * snapshotText for the successive snapshots of one process (tldctl watch): each refresh is
 * snapshotText(s, types, maxThreads, the previous one), made for less. A 10 Hz watch of a
 * thousand threads spent most of its time making text that had not changed: a row whose values'
 * bytes, comm and scheduling cells are those of the last refresh keeps its cells, and its line
 * while the columns keep their widths; the key table and the header are made again only when
 * the keys or the columns change.
 *
 * Each step is a method of its own. The runtime optimizes a function once it has run often, and
 * a refresh runs once every interval: one large function was optimized (tens of milliseconds of
 * compiling) only after some twenty refreshes, right when a watch settles, and again at every
 * deoptimization. Small steps are optimized sooner and for less.
 */
export class SnapshotTexts {
  private rows = new Map<number, Row>();
  /** The last refresh's rows, in the order shown. */
  private shownRows: Row[] = [];
  private refresh = 0;
  private keys: readonly KeyInfo[] = [];
  private keyText = '';
  private readers: ValueReader[] = [];
  /** What every cached row depends on besides its own data: the keys and the scheduling columns. */
  private shape = '';
  private head: readonly string[] = [];
  private widths: number[] = [];
  /** Bumped whenever the widths change: a row's line is good while it has the current one. */
  private widthsGeneration = 0;
  /** Rows whose cells the last refresh made (the others it kept). */
  rowsMade = 0;
  /** nextBytes' buffer. */
  private out = Buffer.alloc(0);

  constructor(private readonly types: KeyTypes, private prev?: ProcessSnapshot) {}

  next(s: ProcessSnapshot, maxThreads = Infinity): string {
    return this.nextLines(s, maxThreads).join('\n');
  }

  /** next's text as its lines, most of them kept from the last refresh. */
  nextLines(s: ProcessSnapshot, maxThreads = Infinity): string[] {
    const { above, rows, below } = this.refreshed(s, maxThreads);
    return [...above, ...rows.map((r) => r.line), ...below];
  }

  /**
   * next's text after @first, each line ending in a newline, as the UTF-8 bytes a watch writes.
   * A kept row's line is copied from the bytes it was encoded to once: measuring and encoding
   * each of a thousand lines again every refresh was a third of a piped watch's own time. The
   * bytes are this formatter's buffer, good until its next call: a fresh one each time had its
   * pages faulted in and cleared by the kernel, every refresh.
   */
  nextBytes(s: ProcessSnapshot, maxThreads: number, first: string): Uint8Array {
    const { above, rows, below } = this.refreshed(s, maxThreads);
    const texts = [first, ...above, ...below];
    let size = 0;
    for (const t of texts) size += Buffer.byteLength(t) + 1;
    for (const r of rows) {
      if (r.lineBytes.length === 0) r.lineBytes = Buffer.from(`${r.line}\n`);
      size += r.lineBytes.length;
    }
    if (this.out.length < size) this.out = Buffer.allocUnsafeSlow(size + (size >> 2));
    const out = this.out;
    let at = 0;
    const text = (t: string) => {
      at += out.write(t, at);
      out[at++] = 0x0a;
    };
    text(first);
    for (const t of above) text(t);
    for (const r of rows) {
      out.set(r.lineBytes, at);
      at += r.lineBytes.length;
    }
    for (const t of below) text(t);
    return out.subarray(0, at);
  }

  /** The refresh: the lines above the thread table's rows, its rows (each with its line), the lines below. */
  private refreshed(s: ProcessSnapshot, maxThreads: number): { above: string[]; rows: Row[]; below: string[] } {
    this.refresh++;
    this.rowsMade = 0;
    const prev = this.prev;
    this.prev = s;
    const scx = snapshotHasScx(s);
    this.reshape(s, prev !== undefined, scx);
    // The threads with hints, counted; only those that fit are shown (and looked at).
    const shown = shownThreads(s.threads, Math.max(1, maxThreads));
    const rows = this.rowsOf(s, shown, prev, scx);
    // Every row shown is in the map: when it holds no more, no thread ended.
    if (this.rows.size > rows.length) this.forgetEnded();
    // Cells never change once made: the same rows as last time have the same widths.
    if (this.rowsMade > 0 || !sameRows(rows, this.shownRows)) this.measure(rows);
    this.shownRows = rows;
    const title = `process ${s.pid} (${printable(s.comm)}): ${s.keys.length} keys, ${s.used}/${s.capacity} bytes of each page, ${shown.withHints} of ${s.threads.length} threads with hints`;
    this.padLines(rows);
    const more = shown.withHints - rows.length;
    return {
      above: [title, '', this.keyText, '', padded(this.head, this.widths)],
      rows,
      below: more > 0 ? [`(${more} more threads: use tldctl snapshot for all)`] : [],
    };
  }

  /** The key table, the readers and the header, made again when the keys or columns change (every cached row with them). */
  private reshape(s: ProcessSnapshot, rates: boolean, scx: boolean): void {
    if (!sameKeys(this.keys, s.keys)) {
      this.keys = s.keys;
      this.keyText = table([['KEY', 'SIZE', 'OFFSET'], ...s.keys.map((k) => [printable(k.name), String(k.size), String(k.offset)])]);
      const typeFor = typeOf(this.types);
      this.readers = s.keys.map((k) => readerFor(typeFor(k)));
    }
    const shape = `${this.keyText}\0${rates ? 'rates' : 'totals'}\0${scx}`;
    if (shape === this.shape) return;
    this.shape = shape;
    this.rows.clear();
    this.shownRows = [];
    const schedHead = ['CPU', 'ST', 'POLICY', ...(rates ? ['RUN%', 'WAIT ms', 'SW/s'] : ['RUN ms', 'WAIT ms', 'SWITCHES']), ...(scx ? ['DSQ'] : [])];
    this.head = ['TID', 'COMM', ...s.keys.map((k) => printable(k.name)), ...schedHead];
  }

  /** The rows of the @shown threads of @s, kept or made. */
  private rowsOf(s: ProcessSnapshot, shown: Shown, prev: ProcessSnapshot | undefined, scx: boolean): Row[] {
    const earlier = new EarlierReads(prev);
    const view = new DataView(s.raw.buffer, s.raw.byteOffset, s.raw.byteLength);
    const rows = new Array<Row>(shown.length);
    for (let n = 0; n < shown.length; n++) {
      const i = shown.at[n] as number;
      const t = s.threads[i] as ThreadSnapshot;
      // The row shown at the same place last time, when it is this thread's (no thread came or went).
      const there = this.shownRows[n];
      rows[n] = this.row(t, s, view, earlier.of(t, i), scx, there !== undefined && there.tid === t.tid ? there : this.rows.get(t.tid));
    }
    return rows;
  }

  private forgetEnded(): void {
    for (const [tid, r] of this.rows) if (r.seen !== this.refresh) this.rows.delete(tid);
  }

  /** The columns' widths for @rows; a new generation when they changed. */
  private measure(rows: readonly Row[]): void {
    const widths = this.head.map((h) => h.length);
    for (const r of rows) {
      const cells = r.cells;
      for (let i = 0; i < cells.length; i++) if ((cells[i] as string).length > (widths[i] as number)) widths[i] = (cells[i] as string).length;
    }
    if (widths.length === this.widths.length && widths.every((w, i) => w === this.widths[i])) return;
    this.widths = widths;
    this.widthsGeneration++;
  }

  /** Pads the lines of those of @rows made with other widths (their bytes are encoded again when written). */
  private padLines(rows: readonly Row[]): void {
    const generation = this.widthsGeneration;
    for (const r of rows) {
      if (r.lineWidths === generation) continue;
      r.line = padded(r.cells, this.widths);
      r.lineBytes = NO_BYTES;
      r.lineWidths = generation;
    }
  }

  /** @t's row: @last (its last one) when nothing it shows changed, else made again. @earlier: its last read. */
  private row(t: ThreadSnapshot, s: ProcessSnapshot, view: DataView, earlier: ThreadSnapshot | undefined, scx: boolean, last: Row | undefined): Row {
    // Most threads of most processes: the same values and, byte for byte, the same scheduling
    // record as last time but later. The row stands, and neither record is decoded.
    if (last !== undefined && last.idle && earlier !== undefined && last.comm === t.comm && t.idleSince(earlier) && sameBytesAt(last.bytes, view, t.valuesAt, s.used)) {
      last.seen = this.refresh;
      return last;
    }
    return this.changedRow(t, last, s.raw.subarray(t.valuesAt, t.valuesAt + s.used), view, earlier, scx);
  }

  /** row() for a thread that ran, or whose values, comm or record changed: out of row() so that row stays small. */
  private changedRow(t: ThreadSnapshot, last: Row | undefined, bytes: Uint8Array, view: DataView, earlier: ThreadSnapshot | undefined, scx: boolean): Row {
    // A thread that did nothing over this interval nor the last one (most, in most processes):
    // the same zero rates as last time, so the same cells, without decoding or formatting them.
    // The same test as row()'s, from the records' bytes.
    const stillIdle = earlier !== undefined && t.idleSince(earlier);
    const kept = last !== undefined && last.comm === t.comm && sameBytesAt(last.bytes, view, t.valuesAt, bytes.length);
    if (kept && stillIdle && last.idle) {
      last.seen = this.refresh;
      return last;
    }
    const sched = schedCells(t.sched, earlier?.sched, scx);
    if (kept && last.idle === stillIdle && sameTail(last.cells, sched)) {
      last.seen = this.refresh;
      return last;
    }
    this.rowsMade++;
    const cells = [String(t.tid), printable(t.comm)];
    for (let k = 0; k < this.keys.length; k++) cells.push(show((this.readers[k] as ValueReader)(view, t.valuesAt + (this.keys[k] as KeyInfo).offset)));
    cells.push(...sched);
    const r = new Row(t.tid, t.comm, new DataView(bytes.slice().buffer), cells, stillIdle, this.refresh);
    this.rows.set(t.tid, r);
    return r;
  }
}

/** The indexes of the threads with hints that fit, and how many have hints in all. */
interface Shown {
  readonly at: Int32Array;
  readonly length: number;
  readonly withHints: number;
}

function shownThreads(threads: readonly ThreadSnapshot[], limit: number): Shown {
  const at = new Int32Array(Math.min(limit, threads.length));
  let length = 0;
  let withHints = 0;
  for (let i = 0; i < threads.length; i++) {
    if ((threads[i] as ThreadSnapshot).valuesAt < 0) continue;
    if (withHints++ < limit) at[length++] = i;
  }
  return { at, length, withHints };
}

/**
 * A thread's read in the last refresh: at the same place in the list when no thread came or
 * went (the kernel lists a process's threads in one order), else found by tid.
 */
class EarlierReads {
  private byTid: Map<number, ThreadSnapshot> | undefined;

  constructor(private readonly prev: ProcessSnapshot | undefined) {}

  of(t: ThreadSnapshot, i: number): ThreadSnapshot | undefined {
    const threads = this.prev?.threads;
    if (!threads) return undefined;
    const same = threads[i];
    if (same?.tid === t.tid) return same;
    this.byTid ??= new Map(threads.map((e) => [e.tid, e]));
    return this.byTid.get(t.tid);
  }
}

function sameKeys(a: readonly KeyInfo[], b: readonly KeyInfo[]): boolean {
  return a.length === b.length && a.every((k, i) => k.name === b[i]!.name && k.size === b[i]!.size && k.offset === b[i]!.offset);
}

/** Whether @a and @b hold the same rows in the same order. */
function sameRows(a: readonly Row[], b: readonly Row[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether @b holds @a's @n bytes from @at: four at a time (a row's check, for every row shown at
 * every refresh), and without a view of them, made for every row otherwise. @n is given, not
 * read: a DataView's byteLength is a call the optimizer does not inline.
 */
function sameBytesAt(a: DataView, b: DataView, at: number, n: number): boolean {
  let i = 0;
  for (; i + 4 <= n; i += 4) if (a.getInt32(i, true) !== b.getInt32(at + i, true)) return false;
  for (; i < n; i++) if (a.getUint8(i) !== b.getUint8(at + i)) return false;
  return true;
}

/** Whether @cells ends with @tail. */
function sameTail(cells: readonly string[], tail: readonly string[]): boolean {
  const from = cells.length - tail.length;
  for (let i = 0; i < tail.length; i++) if (cells[from + i] !== tail[i]) return false;
  return true;
}

/**
 * A table line: every cell but the last padded to its column's width and 2 spaces. Made by
 * join, which gives one flat string: a line built with += is a tree of pieces that every later
 * join of the table walks again (most of a watch refresh's time when its lines were kept).
 */
function padded(cells: readonly string[], widths: readonly number[]): string {
  const parts = new Array<string>(cells.length);
  for (let i = 0; i < cells.length - 1; i++) parts[i] = (cells[i] as string).padEnd((widths[i] as number) + 2);
  parts[cells.length - 1] = cells[cells.length - 1] ?? '';
  return parts.join('');
}

export function programTable(progs: readonly LoadedProgram[]): string {
  if (progs.length === 0) return 'no BPF programs are loaded';
  return table([
    ['ID', 'TYPE', 'NAME', 'INSNS', 'VERIFIED', 'JIT', 'MAPS', 'RUNS', 'RUN TIME', 'LOADED BY'],
    ...progs.map((p) => [
      String(p.id), p.type, printable(p.name), String(p.insns), String(p.verifiedInsns), `${p.jitedBytes} B`,
      p.mapIds.join(',') || '-', String(p.runCount), `${(p.runTimeNs / 1e6).toFixed(3)} ms`, p.ours ? 'tldctl' : '-',
    ]),
  ]);
}
