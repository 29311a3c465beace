// Typed views of the helper's records: the process list and one process's snapshot.
// Metadata from the target process is validated here and never trusted.
import * as fs from 'node:fs';

import { TldError } from './errors';
import { printable } from './printable';
import { Value, ValueType, readerFor } from './values';
import { DATA_MAX, ENTRY_SIZE, MAX_KEYS, META_CNT, META_HEADER, NAME_LEN, PAGE_SIZE, roundUp } from './layout';
import {
  COMM_LEN,
  HelperRecord,
  REC_META,
  REC_SCHED,
  REC_THREAD,
  SCHED_REC,
  SchedRecord,
  THREAD_COMM,
  THREAD_FLAGS,
  THREAD_HAS_DATA,
  THREAD_HAS_ENTRY,
  THREAD_REC,
  THREAD_START,
  THREAD_TID,
  cString,
  malformed,
  metaPageOf,
  readSched,
  threadDataLen,
  walkRecords,
} from './records';

export interface KeyInfo {
  readonly name: string;
  readonly size: number;
  /** Offset of the value in a thread's data area (from `start`). */
  readonly offset: number;
}

/** One thread of a snapshot; its values are read from the snapshot's bytes on demand. */
export class ThreadSnapshot {
  constructor(
    readonly tid: number,
    readonly comm: string,
    /** Whether the thread has a map entry with a data page. */
    readonly hasData: boolean,
    private readonly raw: Uint8Array,
    /** Where this thread's value area (its data page + start) begins in `raw`, or -1. */
    readonly valuesAt: number,
    private readonly keys: readonly KeyInfo[],
    /** How the scheduler held the thread in the same pass (undefined from an older helper). */
    public sched?: SchedRecord,
  ) {}

  /** The raw bytes of @key's value, or undefined when the thread has no page. */
  value(key: KeyInfo): Uint8Array | undefined {
    if (this.valuesAt < 0) return undefined;
    return this.raw.subarray(this.valuesAt + key.offset, this.valuesAt + key.offset + key.size);
  }

  /** Every key's raw bytes, by name (empty when the thread has no page). */
  get values(): ReadonlyMap<string, Uint8Array> {
    const m = new Map<string, Uint8Array>();
    for (const k of this.keys) {
      const v = this.value(k);
      if (v) m.set(k.name, v);
    }
    return m;
  }
}

export interface ProcessSnapshot {
  readonly pid: number;
  readonly comm: string;
  readonly keys: readonly KeyInfo[];
  /** Bytes the keys' values take in each thread's data area, and its capacity. */
  readonly used: number;
  readonly capacity: number;
  readonly threads: readonly ThreadSnapshot[];
  /** The record stream the snapshot reads its values from. */
  readonly raw: Uint8Array;
}

export interface ProcessSummary {
  readonly pid: number;
  readonly comm: string;
  /** Threads that have a map entry. */
  readonly threads: number;
  readonly keys: number;
  readonly used: number;
  readonly capacity: number;
}

function corrupt(pid: number, what: string): TldError {
  return new TldError('ECORRUPT', `process ${pid} has corrupt task local data metadata: ${what}`);
}

/**
 * The published keys of a metadata page. Throws ECORRUPT for a count beyond the
 * table, an unterminated or empty name, a name given twice, or values past the page.
 */
export function parseMetadata(pid: number, page: Uint8Array): KeyInfo[] {
  if (page.length < META_HEADER) throw corrupt(pid, 'the page is truncated');
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const cnt = view.getUint16(META_CNT, true);
  if (cnt > MAX_KEYS) throw corrupt(pid, `count ${cnt} is beyond the table of ${MAX_KEYS} entries`);
  if (META_HEADER + cnt * ENTRY_SIZE > page.length) throw corrupt(pid, 'the entries are truncated');
  const keys: KeyInfo[] = [];
  const seen = new Set<string>();
  let offset = 0;
  for (let i = 0; i < cnt; i++) {
    const at = META_HEADER + i * ENTRY_SIZE;
    const size = view.getUint16(at + NAME_LEN, true);
    if (size === 0) break; // claimed, not yet published: nothing after it counts yet
    const raw = page.subarray(at, at + NAME_LEN);
    const nul = raw.indexOf(0);
    if (nul < 0) throw corrupt(pid, `entry ${i} has an unterminated name`);
    if (nul === 0) throw corrupt(pid, `entry ${i} has an empty name`);
    const name = Buffer.from(raw.subarray(0, nul)).toString('utf8');
    if (seen.has(name)) throw corrupt(pid, `key '${printable(name)}' appears twice`);
    if (offset + size > DATA_MAX) {
      throw corrupt(pid, `key '${printable(name)}' (${size} bytes at offset ${offset}) runs past the page`);
    }
    seen.add(name);
    keys.push({ name, size, offset });
    offset += roundUp(size);
  }
  return keys;
}

function readComm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** The used length of a key table: where the last value ends. */
function usedBy(keys: readonly KeyInfo[]): number {
  const last = keys[keys.length - 1];
  return last ? last.offset + roundUp(last.size) : 0;
}

/** Reads a thread record's comm, reusing the previous string when the bytes repeat. */
class CommReader {
  private last = '';
  private lastAt = -1;

  constructor(private readonly raw: Uint8Array) {}

  read(at: number): string {
    const raw = this.raw;
    if (this.lastAt >= 0) {
      let same = true;
      for (let i = 0; i < COMM_LEN; i++) {
        if (raw[at + i] !== raw[this.lastAt + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.last;
    }
    this.lastAt = at;
    this.last = cString(raw.subarray(at, at + COMM_LEN));
    return this.last;
  }
}

/**
 * One process from a dump_process stream, in one pass. Metadata comes before
 * the first thread that has it; every thread's values are checked to lie
 * within its page, and a thread whose `start` is outside its page is corrupt.
 */
export function parseSnapshot(pid: number, raw: Uint8Array): ProcessSnapshot {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const comms = new CommReader(raw);
  const threads: ThreadSnapshot[] = [];
  let keys: KeyInfo[] = [];
  let used = 0;
  let comm = '';
  walkRecords(raw, view, (type, body, size) => {
    if (type === REC_META) {
      keys = parseMetadata(pid, metaPageOf(raw, view, body, size));
      used = usedBy(keys);
    } else if (type === REC_THREAD) {
      const dataLen = threadDataLen(view, body, size);
      const tid = view.getUint32(body + THREAD_TID, true);
      const flags = view.getUint32(body + THREAD_FLAGS, true);
      const name = comms.read(body + THREAD_COMM);
      if (tid === pid) comm = name;
      let valuesAt = -1;
      if (flags & THREAD_HAS_DATA) {
        const startLo = view.getUint32(body + THREAD_START, true);
        const startHi = view.getUint32(body + THREAD_START + 4, true);
        if (startHi !== 0 || startLo < 8 || startLo >= PAGE_SIZE) {
          throw corrupt(pid, `thread ${tid} says its data starts at ${startHi * 2 ** 32 + startLo}, outside its page`);
        }
        // A page shorter than the layout says is cut by the page's end: report it, do not guess.
        if (startLo + used > dataLen) throw corrupt(pid, `thread ${tid}'s values lie past its page`);
        valuesAt = body + THREAD_REC + startLo;
      }
      threads.push(new ThreadSnapshot(tid, name, valuesAt >= 0, raw, valuesAt, keys));
    } else if (type === REC_SCHED) {
      if (size < SCHED_REC) throw malformed('short sched record');
      const last = threads[threads.length - 1];
      const sched = readSched(view, body);
      if (!last || last.tid !== sched.tid) throw malformed(`a sched record of thread ${sched.tid} follows no record of it`);
      last.sched = sched;
    } else {
      throw malformed(`unexpected record type ${type} in a snapshot`);
    }
  });
  return { pid, comm: comm || readComm(pid), keys, used, capacity: DATA_MAX, threads, raw };
}

/**
 * Every thread's decoded values, one row per thread with a page (in `threads` order)
 * and one column per key, read with one reader per key.
 */
export function decodeRows(snap: ProcessSnapshot, typeOf: (key: KeyInfo) => ValueType): { thread: ThreadSnapshot; values: Value[] }[] {
  const view = new DataView(snap.raw.buffer, snap.raw.byteOffset, snap.raw.byteLength);
  const withData = snap.threads.filter((t) => t.valuesAt >= 0);
  const at = Int32Array.from(withData, (t) => t.valuesAt);
  const rows = withData.map((thread) => ({ thread, values: new Array<Value>(snap.keys.length) }));
  // Column by column: each inner loop runs one reader, which keeps it monomorphic and fast.
  snap.keys.forEach((key, k) => {
    const read = readerFor(typeOf(key));
    for (let i = 0; i < rows.length; i++) rows[i]!.values[k] = read(view, at[i]! + key.offset);
  });
  return rows;
}

/** Processes from a list_tasks stream, by pid. */
export function toProcessList(records: readonly HelperRecord[]): ProcessSummary[] {
  const byPid = new Map<number, { comm: string; threads: number; keys: number; used: number }>();
  for (const r of records) {
    if (r.kind !== 'thread' || !(r.flags & THREAD_HAS_ENTRY)) continue;
    const p = byPid.get(r.tgid) ?? { comm: '', threads: 0, keys: 0, used: 0 };
    p.threads++;
    p.keys = Math.max(p.keys, Math.min(r.keyCount, MAX_KEYS));
    p.used = Math.max(p.used, Math.min(r.used, DATA_MAX));
    if (r.tid === r.tgid || !p.comm) p.comm = r.comm;
    byPid.set(r.tgid, p);
  }
  return [...byPid.entries()]
    .sort(([a], [b]) => a - b)
    .map(([pid, p]) => ({ pid, comm: readComm(pid) || p.comm, threads: p.threads, keys: p.keys, used: p.used, capacity: DATA_MAX }));
}
