// What tldctl prints: tables for people (names from targets escaped), and the documented JSON shape of a snapshot.
import { printable } from '../client/printable';
import { LoadedProgram } from '../client/protocol';
import { ProcessSnapshot, ProcessSummary, decodeRows } from '../client/snapshot';
import { KeyTypes, Value, typeOf } from '../client/values';
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
  const lines = new Array<string>(rows.length);
  for (let j = 0; j < rows.length; j++) {
    const r = rows[j] as readonly string[];
    let line = '';
    for (let i = 0; i < r.length - 1; i++) line += (r[i] as string).padEnd((widths[i] as number) + 2);
    lines[j] = line + (r[r.length - 1] ?? '');
  }
  return lines.join('\n');
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
  const all = decodeRows(s, typeOf(types));
  const rows = all.length > maxThreads ? all.slice(0, Math.max(1, maxThreads)) : all;
  const head = `process ${s.pid} (${printable(s.comm)}): ${s.keys.length} keys, ${s.used}/${s.capacity} bytes of each page, ${all.length} of ${s.threads.length} threads with hints`;
  const keys = table([['KEY', 'SIZE', 'OFFSET'], ...s.keys.map((k) => [printable(k.name), String(k.size), String(k.offset)])]);
  const before = new Map(prev?.threads.map((t) => [t.tid, t.sched]));
  const scx = s.threads.some((t) => t.sched?.scx);
  const schedHead = ['CPU', 'ST', 'POLICY', ...(prev ? ['RUN%', 'WAIT ms', 'SW/s'] : ['RUN ms', 'WAIT ms', 'SWITCHES']), ...(scx ? ['DSQ'] : [])];
  const values = table([
    ['TID', 'COMM', ...s.keys.map((k) => printable(k.name)), ...schedHead],
    ...rows.map(({ thread, values: v }) => [
      String(thread.tid), printable(thread.comm), ...v.map(show), ...schedCells(thread.sched, before.get(thread.tid), scx),
    ]),
  ]);
  const more = all.length > rows.length ? `\n(${all.length - rows.length} more threads: use tldctl snapshot for all)` : '';
  return `${head}\n\n${keys}\n\n${values}${more}`;
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
