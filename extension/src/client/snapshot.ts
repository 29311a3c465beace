// Typed views of the helper's records: the process list and one process's snapshot.
// Metadata from the target process is validated here and never trusted.
import * as fs from 'node:fs';

import { TldError } from './errors';
import { printable } from './printable';
import { procStatFields } from './procStat';
import { Value, ValueReader, ValueType, readerFor } from './values';
import {
  DATA_START,
  ENTRY_SIZE,
  GEOMETRY_4K,
  Geometry,
  LAYOUT_START_IN_PAGE,
  LAYOUT_START_IN_VALUE,
  LayoutRevision,
  META_CNT,
  META_HEADER,
  NAME_LEN,
  geometry,
  isPageSize,
  roundUp,
} from './layout';
import {
  COMM_LEN,
  HelperRecord,
  META_LAYOUT,
  META_PAGE_SIZE,
  REC_META,
  REC_SCHED,
  REC_THREAD,
  RecordCursor,
  SCHED_FIELDS,
  SCHED_REC,
  SchedRecord,
  THREAD_COMM,
  THREAD_EXITING,
  THREAD_FLAGS,
  THREAD_HAS_DATA,
  THREAD_HAS_ENTRY,
  THREAD_LAYOUT,
  THREAD_PAGE_SIZE,
  THREAD_REC,
  THREAD_START,
  THREAD_TID,
  cString,
  malformed,
  metaPageOf,
  readSched,
  threadDataLen,
} from './records';

export interface KeyInfo {
  readonly name: string;
  readonly size: number;
  /** Offset of the value in a thread's data area (from `start`). */
  readonly offset: number;
}

/** What the threads of one snapshot share: its bytes, a view of them, and its keys. */
export interface SnapshotBytes {
  readonly raw: Uint8Array;
  readonly view: DataView;
  readonly keys: readonly KeyInfo[];
}

/**
 * One thread of a snapshot; its values and its sched record are read from the snapshot's bytes
 * on demand. Small on purpose: a snapshot makes one per thread, thousands per refresh.
 */
export class ThreadSnapshot {
  private schedAt = -1;
  private schedRead: SchedRecord | undefined = undefined;

  constructor(
    readonly tid: number,
    readonly comm: string,
    /** Where this thread's value area (its data page + start) begins in the bytes, or -1. */
    readonly valuesAt: number,
    private readonly bytes: SnapshotBytes,
  ) {}

  /** Whether the thread has a map entry with a data page. */
  get hasData(): boolean {
    return this.valuesAt >= 0;
  }

  /**
   * How the scheduler held the thread in the same pass (undefined from an older helper).
   * Decoded when first asked for: most refreshes never look, and its 64-bit fields are BigInts.
   */
  get sched(): SchedRecord | undefined {
    if (this.schedRead === undefined && this.schedAt >= 0) this.schedRead = readSched(this.bytes.view, this.schedAt);
    return this.schedRead;
  }

  /** Whether the thread has a sched record (without decoding it). */
  get hasSched(): boolean {
    return this.schedAt >= 0;
  }

  /**
   * Whether @other (the same thread in another read) has the same sched record but for the
   * time it was read: the thread has not run, switched or waited since. False without records.
   */
  sameSched(other: ThreadSnapshot): boolean {
    const a = this.schedAt;
    const b = other.schedAt;
    if (a < 0 || b < 0) return false;
    const mine = this.bytes.view;
    const theirs = other.bytes.view;
    for (let o = 0; o < SCHED_REC; o += 4) {
      if (o === SCHED_FIELDS.now || o === SCHED_FIELDS.now + 4) continue;
      if (mine.getUint32(a + o, true) !== theirs.getUint32(b + o, true)) return false;
    }
    return true;
  }

  /**
   * Whether the thread did nothing from @other (an earlier read of it) to this one: the same
   * sched record but for the time it was read, which is later. From the bytes, nothing decoded.
   */
  idleSince(other: ThreadSnapshot): boolean {
    if (!this.sameSched(other)) return false;
    const at = SCHED_FIELDS.now;
    const mine = this.bytes.view;
    const theirs = other.bytes.view;
    const hi = mine.getUint32(this.schedAt + at + 4, true);
    const otherHi = theirs.getUint32(other.schedAt + at + 4, true);
    return hi > otherHi || (hi === otherHi && mine.getUint32(this.schedAt + at, true) > theirs.getUint32(other.schedAt + at, true));
  }

  /** Where this thread's sched record (SCHED_REC bytes, checked by parseSnapshot) lies in `raw`. */
  setSchedAt(at: number): void {
    this.schedAt = at;
    this.schedRead = undefined;
  }

  /** The raw bytes of @key's value, or undefined when the thread has no page. */
  value(key: KeyInfo): Uint8Array | undefined {
    if (this.valuesAt < 0) return undefined;
    return this.bytes.raw.subarray(this.valuesAt + key.offset, this.valuesAt + key.offset + key.size);
  }

  /** Every key's raw bytes, by name (empty when the thread has no page). */
  get values(): ReadonlyMap<string, Uint8Array> {
    const m = new Map<string, Uint8Array>();
    for (const k of this.bytes.keys) {
      const v = this.value(k);
      if (v) m.set(k.name, v);
    }
    return m;
  }
}

export interface ProcessSnapshot {
  readonly pid: number;
  readonly comm: string;
  /** The map's page size and layout revision (where `start` lives). */
  readonly pageSize: number;
  readonly layout: LayoutRevision;
  readonly keys: readonly KeyInfo[];
  /** Bytes the keys' values take in each thread's data area, and its capacity. */
  readonly used: number;
  readonly capacity: number;
  readonly threads: readonly ThreadSnapshot[];
  /**
   * The process was exiting (exit_group or a fatal signal) while it was read: its threads
   * leave one by one, so some may be missing.
   */
  readonly exiting: boolean;
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

// The per-thread and per-entry errors' messages, made where they are thrown (see records.ts:
// template literals of one number in several cold branches of a loop cost the hot path).
function notAtPageStart(pid: number, tid: number): TldError {
  return new TldError('ELAYOUT', `process ${pid}, thread ${tid}: ${DATA_NOT_AT_PAGE_START}`);
}

function startOutsidePage(pid: number, tid: number, start: number, pageSize: number): TldError {
  return corrupt(pid, `thread ${tid} says its data starts at ${start}, outside its page of ${pageSize} bytes`);
}

function valuesPastPage(pid: number, tid: number): TldError {
  return corrupt(pid, `thread ${tid}'s values lie past its page`);
}

function schedWithoutThread(tid: number): TldError {
  return malformed(`a sched record of thread ${tid} follows no record of it`);
}

function unexpectedRecord(type: number): TldError {
  return malformed(`unexpected record type ${type} in a snapshot`);
}

function unknownRevision(n: unknown): TldError {
  return new TldError('EHELPER', `unknown layout revision ${String(n)}`);
}

function badEntry(pid: number, i: number, what: string): TldError {
  return corrupt(pid, `entry ${i} has ${what}`);
}

/**
 * What the first layout revision's `start` other than 8 means: upstream's header wrote it at its
 * allocation but registered the page's base, so every reader looks at the wrong bytes.
 */
export const DATA_NOT_AT_PAGE_START =
  'data is not at the start of its page: upstream task_local_data.h with TLD_DYN_DATA_SIZE below a page; schedulers read wrong values here';

/**
 * Checks a thread's `start` under @layout: the first revision's data area is at the page's start
 * (ELAYOUT otherwise: never read or write there); the later one's lies within the page, 8-byte
 * aligned, after its unused first u64 (ECORRUPT otherwise). @start is a number (exact below 2^53;
 * larger ones only appear in the message) so the per-thread path stays free of BigInt.
 */
export function checkStart(pid: number, tid: number, layout: LayoutRevision, start: number, g: Geometry): number {
  switch (layout) {
    case LAYOUT_START_IN_PAGE:
      if (start !== DATA_START) throw notAtPageStart(pid, tid);
      return DATA_START;
    case LAYOUT_START_IN_VALUE:
      if (start < 8 || start >= g.pageSize || start % 8 !== 0) {
        throw startOutsidePage(pid, tid, start, g.pageSize);
      }
      return start;
    default: {
      const never: never = layout;
      throw unknownRevision(never);
    }
  }
}

/** The layout revision a record names, or a malformed-stream error. */
function layoutOf(n: number): LayoutRevision {
  if (n === LAYOUT_START_IN_PAGE || n === LAYOUT_START_IN_VALUE) return n;
  throw malformed(`unknown layout revision ${n}`);
}

function geometryOf(n: number): Geometry {
  if (!isPageSize(n)) throw malformed(`page size ${n} is not 4 to 64 KiB`);
  return geometry(n);
}

/**
 * The published keys of a metadata page laid out for @g's page size (4 KiB by default). Throws
 * ECORRUPT for a count beyond the table, an unterminated or empty name, a name given twice, or
 * values past the page.
 */
export function parseMetadata(pid: number, page: Uint8Array, g: Geometry = GEOMETRY_4K): KeyInfo[] {
  if (page.length < META_HEADER) throw corrupt(pid, 'the page is truncated');
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const cnt = view.getUint16(META_CNT, true);
  if (cnt > g.maxKeys) throw corrupt(pid, `count ${cnt} is beyond the table of ${g.maxKeys} entries`);
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
    if (nul < 0) throw badEntry(pid, i, 'an unterminated name');
    if (nul === 0) throw badEntry(pid, i, 'an empty name');
    const name = Buffer.from(raw.subarray(0, nul)).toString('utf8');
    if (seen.has(name)) throw corrupt(pid, `key '${printable(name)}' appears twice`);
    if (offset + size > g.dataMax) {
      throw corrupt(pid, `key '${printable(name)}' (${size} bytes at offset ${offset}) runs past the page`);
    }
    seen.add(name);
    keys.push({ name, size, offset });
    offset += roundUp(size);
  }
  return keys;
}

/**
 * A process's command name from this machine's /proc, or ''. Only for processes of this
 * machine: a guest's pids name other processes here (null where the records came from a guest).
 */
export type ProcComm = ((pid: number) => string) | null;

export function localComm(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/**
 * Whether the kernel that took @snap has sched_ext, from its first scheduling record: every
 * record of a snapshot comes from one kernel, and deciding from all of them would decode each.
 */
export function snapshotHasScx(snap: ProcessSnapshot): boolean {
  return snap.threads.find((th) => th.hasSched)?.sched?.scx !== undefined;
}

/**
 * @raw's snapshot of @pid, as TldClient.snapshot() gives it: a process with neither keys nor
 * data is refused, ESRCH when it exited and ENOENT when it never used task local data.
 * @guest: the records came from a VM's guest, whose pids name other processes here.
 */
export function checkedSnapshot(pid: number, raw: Uint8Array, guest: boolean): ProcessSnapshot {
  const snap = parseSnapshot(pid, raw, guest ? null : localComm);
  // Half of a dying process is not the process as it was: callers keep what they had.
  if (snap.exiting) throw new TldError('ESRCH', `process ${pid} exited`);
  if (!snap.threads.some((t) => t.hasData) && snap.keys.length === 0) {
    // An exited process that is not reaped yet (a zombie) still lists its task, without data.
    // A guest's processes are not in this machine's /proc: its snapshot lists no task when gone.
    if (guest ? snap.threads.length === 0 : !hasLiveThread(pid)) throw new TldError('ESRCH', `process ${pid} exited`);
    throw new TldError('ENOENT', `process ${pid} (${printable(snap.comm) || '?'}) has no task local data`);
  }
  return snap;
}

/** Whether a thread of @pid has not exited: false for a zombie and for a process that is gone. */
function hasLiveThread(pid: number): boolean {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return false;
  }
  return tids.some((tid) => {
    try {
      const state = procStatFields(pid, Number(tid))[0];
      return state !== 'Z' && state !== 'X';
    } catch {
      return false; // exited meanwhile
    }
  });
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

  constructor(
    private readonly raw: Uint8Array,
    private readonly view: DataView,
  ) {}

  read(at: number): string {
    const v = this.view;
    const b = this.lastAt;
    // COMM_LEN (16) bytes compared as four u32s.
    if (b >= 0 && v.getUint32(at, true) === v.getUint32(b, true) && v.getUint32(at + 4, true) === v.getUint32(b + 4, true) &&
      v.getUint32(at + 8, true) === v.getUint32(b + 8, true) && v.getUint32(at + 12, true) === v.getUint32(b + 12, true)) {
      return this.last;
    }
    this.lastAt = at;
    this.last = cString(this.raw.subarray(at, at + COMM_LEN));
    return this.last;
  }
}

/**
 * One process from a dump_process stream, in one pass. Metadata comes before
 * the first thread that has it and says the map's page size and layout revision;
 * every thread's values are checked to lie within its page, and a thread whose
 * `start` is wrong for the revision is refused (checkStart).
 */
export function parseSnapshot(pid: number, raw: Uint8Array, procComm: ProcComm = localComm): ProcessSnapshot {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const comms = new CommReader(raw, view);
  const threads: ThreadSnapshot[] = [];
  let keys: KeyInfo[] = [];
  let used = 0;
  let comm = '';
  let g = GEOMETRY_4K;
  let layout: LayoutRevision = LAYOUT_START_IN_PAGE;
  let exiting = false;
  let bytes: SnapshotBytes = { raw, view, keys };
  for (const r = new RecordCursor(raw, view); r.next(); ) {
    const type = r.type;
    const body = r.body;
    const size = r.size;
    if (type === REC_META) {
      const page = metaPageOf(raw, view, body, size);
      g = geometryOf(view.getUint32(body + META_PAGE_SIZE, true));
      layout = layoutOf(view.getUint32(body + META_LAYOUT, true));
      keys = parseMetadata(pid, page, g);
      used = usedBy(keys);
    } else if (type === REC_THREAD) {
      const dataLen = threadDataLen(view, body, size);
      const tid = view.getUint32(body + THREAD_TID, true);
      const flags = view.getUint32(body + THREAD_FLAGS, true);
      const name = comms.read(body + THREAD_COMM);
      if (tid === pid) comm = name;
      if (flags & THREAD_EXITING) exiting = true;
      let valuesAt = -1;
      if (flags & THREAD_HAS_DATA) {
        // Every record of a stream describes the same map (a thread before any metadata says it
        // too): the geometry is made again only when the page size differs.
        const pageSize = view.getUint32(body + THREAD_PAGE_SIZE, true);
        if (pageSize !== g.pageSize) g = geometryOf(pageSize);
        const rev = view.getUint32(body + THREAD_LAYOUT, true);
        if (rev !== layout) layout = layoutOf(rev);
        const lo = view.getUint32(body + THREAD_START, true);
        const hi = view.getUint32(body + THREAD_START + 4, true);
        const start = checkStart(pid, tid, layout, hi * 2 ** 32 + lo, g);
        // A page shorter than the layout says is cut by the page's end: report it, do not guess.
        if (start + used > dataLen || start + used > g.pageSize) throw valuesPastPage(pid, tid);
        valuesAt = body + THREAD_REC + start;
      }
      if (bytes.keys !== keys) bytes = { raw, view, keys };
      threads.push(new ThreadSnapshot(tid, name, valuesAt, bytes));
    } else if (type === REC_SCHED) {
      if (size < SCHED_REC) throw malformed('short sched record');
      const last = threads[threads.length - 1];
      const tid = view.getUint32(body + SCHED_FIELDS.tid, true);
      if (!last || last.tid !== tid) throw schedWithoutThread(tid);
      last.setSchedAt(body);
    } else {
      throw unexpectedRecord(type);
    }
  }
  return { pid, comm: comm || (procComm?.(pid) ?? ''), pageSize: g.pageSize, layout, keys, used, capacity: g.dataMax, threads, exiting, raw };
}

/** How decodeRows reads a column: an integer read inline, or through the type's reader. */
const enum ColumnKind {
  U8, I8, U16, I16, U32, I32, Int64, Other,
}

function columnKind(t: ValueType): ColumnKind {
  if (t.kind !== 'int') return ColumnKind.Other;
  switch (t.size) {
    case 1:
      return t.signed ? ColumnKind.I8 : ColumnKind.U8;
    case 2:
      return t.signed ? ColumnKind.I16 : ColumnKind.U16;
    case 4:
      return t.signed ? ColumnKind.I32 : ColumnKind.U32;
    case 8:
      return ColumnKind.Int64;
    default: {
      const never: never = t;
      throw new TldError('EINVAL', `no integer type ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Every thread's decoded values, one row per thread with a page (in `threads` order)
 * and one column per key. Row by row, through the snapshot's bytes in order: integers are read
 * inline (one switch on the column's kind, no call), other types through their reader.
 */
export function decodeRows(snap: ProcessSnapshot, typeOf: (key: KeyInfo) => ValueType): { thread: ThreadSnapshot; values: Value[] }[] {
  const view = new DataView(snap.raw.buffer, snap.raw.byteOffset, snap.raw.byteLength);
  const keys = snap.keys;
  const nk = keys.length;
  const kinds = new Uint8Array(nk);
  const offsets = new Int32Array(nk);
  const readers: ValueReader[] = [];
  for (let k = 0; k < nk; k++) {
    const t = typeOf(keys[k]!);
    kinds[k] = columnKind(t);
    offsets[k] = keys[k]!.offset;
    readers.push(readerFor(t));
  }
  const rows: { thread: ThreadSnapshot; values: Value[] }[] = [];
  for (const thread of snap.threads) {
    const base = thread.valuesAt;
    if (base < 0) continue;
    const values: Value[] = new Array<Value>(nk);
    for (let k = 0; k < nk; k++) {
      const at = base + offsets[k]!;
      switch (kinds[k]) {
        case ColumnKind.U8:
          values[k] = view.getUint8(at);
          break;
        case ColumnKind.I8:
          values[k] = view.getInt8(at);
          break;
        case ColumnKind.U16:
          values[k] = view.getUint16(at, true);
          break;
        case ColumnKind.I16:
          values[k] = view.getInt16(at, true);
          break;
        case ColumnKind.U32:
          values[k] = view.getUint32(at, true);
          break;
        case ColumnKind.I32:
          values[k] = view.getInt32(at, true);
          break;
        case ColumnKind.Int64: {
          const hi = view.getUint32(at + 4, true);
          // Exact as a number below 2^53; the reader handles the rest (BigInt, sign).
          values[k] = hi < 0x200000 ? hi * 0x100000000 + view.getUint32(at, true) : readers[k]!(view, at);
          break;
        }
        default:
          values[k] = readers[k]!(view, at);
      }
    }
    rows.push({ thread, values });
  }
  return rows;
}

/**
 * Processes from a list_tasks stream, by pid. The name is the process's (@procComm) where this
 * machine can read it, else its leader's record, else one of its threads'.
 */
export function toProcessList(records: readonly HelperRecord[], procComm: ProcComm = localComm): ProcessSummary[] {
  const byPid = new Map<number, { comm: string; threads: number; keys: number; used: number; capacity: number }>();
  for (const r of records) {
    if (r.kind !== 'thread' || !(r.flags & THREAD_HAS_ENTRY)) continue;
    const g = isPageSize(r.pageSize) ? geometry(r.pageSize) : GEOMETRY_4K;
    const p = byPid.get(r.tgid) ?? { comm: '', threads: 0, keys: 0, used: 0, capacity: g.dataMax };
    p.threads++;
    p.keys = Math.max(p.keys, Math.min(r.keyCount, g.maxKeys));
    p.used = Math.max(p.used, Math.min(r.used, g.dataMax));
    if (r.tid === r.tgid || !p.comm) p.comm = r.comm;
    byPid.set(r.tgid, p);
  }
  return [...byPid.entries()]
    .sort(([a], [b]) => a - b)
    .map(([pid, p]) => ({ pid, comm: procComm?.(pid) || p.comm, threads: p.threads, keys: p.keys, used: p.used, capacity: p.capacity }));
}
