// Decodes the helper's record streams. Mirrors native/include/tldh_records.h.
import { TldError } from './errors';

export const REC_META = 1;
export const REC_THREAD = 2;
export const REC_WRITTEN = 3;
export const REC_SCHED = 4;
export const REC_TRACE = 5;
/** struct tldh_rec: type, size (u32). */
export const REC_HEADER = 8;
export const REC_TYPE = 0;
export const REC_SIZE = 4;
/** struct tldh_meta_rec: tgid, len, page_size, layout (u32). */
export const META_REC = 16;
export const META_TGID = 0;
export const META_LEN = 4;
export const META_PAGE_SIZE = 8;
export const META_LAYOUT = 12;
/** struct tldh_thread_rec: tid, tgid, flags, data_len (u32), start (u64), comm[16], key_cnt, used, page_size, layout (u32). */
export const THREAD_REC = 56;
export const THREAD_TID = 0;
export const THREAD_TGID = 4;
export const THREAD_FLAGS = 8;
export const THREAD_DATA_LEN = 12;
export const THREAD_START = 16;
export const THREAD_COMM = 24;
export const THREAD_KEY_CNT = 40;
export const THREAD_USED = 44;
export const THREAD_PAGE_SIZE = 48;
export const THREAD_LAYOUT = 52;
export const COMM_LEN = 16;

export const THREAD_HAS_ENTRY = 1;
export const THREAD_HAS_DATA = 2;
export const THREAD_HAS_META = 4;
/** The thread's process is exiting: its threads leave one by one (tldh_records.h). */
export const THREAD_EXITING = 8;

export interface MetaRecord {
  readonly kind: 'meta';
  readonly tgid: number;
  /** The map's page size and layout revision (enum tld_layout_rev). */
  readonly pageSize: number;
  readonly layout: number;
  /** The metadata page's bytes, as the kernel read them. */
  readonly page: Uint8Array;
}

export interface ThreadRecord {
  readonly kind: 'thread' | 'written';
  readonly tid: number;
  readonly tgid: number;
  readonly flags: number;
  /** Where the data area starts in the page: the page's own `start`, or the map value's (by layout). */
  readonly start: bigint;
  readonly comm: string;
  readonly keyCount: number;
  readonly used: number;
  readonly pageSize: number;
  readonly layout: number;
  /** The data page's first data_len bytes. */
  readonly data: Uint8Array;
}

/** TLDH_SCHED_HAS_*: which fields of a sched record the kernel has. */
export const SCHED_HAS_INFO = 1;
export const SCHED_HAS_SCX = 2;
export const SCHED_HAS_DSQ = 4;

/** struct tldh_sched_rec: its size and where each field sits. */
export const SCHED_REC = 120;
export const SCHED_FIELDS = {
  tid: 0, has: 4, now: 8, cpu: 16, state: 20, exitState: 24, policy: 28, onCpu: 32, onRq: 36, prio: 40, weight: 44,
  runtime: 48, runDelay: 56, pcount: 64, nvcsw: 72, nivcsw: 80, dsqId: 88, slice: 96, dsqVtime: 104, scxFlags: 112,
} as const;

/**
 * A thread as the scheduler holds it (struct tldh_sched_rec). Times are ns; `now` is
 * CLOCK_BOOTTIME at the read. Fields the kernel lacks are undefined.
 */
export interface SchedRecord {
  readonly tid: number;
  readonly now: bigint;
  readonly cpu: number;
  readonly state: number;
  readonly exitState: number;
  readonly policy: number;
  readonly onCpu: boolean;
  readonly onRq: boolean;
  readonly prio: number;
  readonly runtime: bigint;
  readonly nvcsw: bigint;
  readonly nivcsw: bigint;
  /** CONFIG_SCHED_INFO */
  readonly runDelay?: bigint;
  readonly pcount?: bigint;
  /** sched_ext kernels */
  readonly scx?: { readonly weight: number; readonly slice: bigint; readonly dsqVtime: bigint; readonly flags: number; readonly dsqId?: bigint };
}

/** The sched record at @at of @view (SCHED_REC bytes there, checked by the caller). */
export function readSched(view: DataView, at: number): SchedRecord {
  const has = view.getUint32(at + SCHED_FIELDS.has, true);
  const u64 = (o: number) => view.getBigUint64(at + o, true);
  return {
    tid: view.getUint32(at + SCHED_FIELDS.tid, true),
    now: u64(SCHED_FIELDS.now),
    cpu: view.getUint32(at + SCHED_FIELDS.cpu, true),
    state: view.getUint32(at + SCHED_FIELDS.state, true),
    exitState: view.getUint32(at + SCHED_FIELDS.exitState, true),
    policy: view.getUint32(at + SCHED_FIELDS.policy, true),
    onCpu: view.getUint32(at + SCHED_FIELDS.onCpu, true) !== 0,
    onRq: view.getUint32(at + SCHED_FIELDS.onRq, true) !== 0,
    prio: view.getInt32(at + SCHED_FIELDS.prio, true),
    runtime: u64(SCHED_FIELDS.runtime),
    nvcsw: u64(SCHED_FIELDS.nvcsw),
    nivcsw: u64(SCHED_FIELDS.nivcsw),
    ...(has & SCHED_HAS_INFO ? { runDelay: u64(SCHED_FIELDS.runDelay), pcount: u64(SCHED_FIELDS.pcount) } : {}),
    ...(has & SCHED_HAS_SCX
      ? {
          scx: {
            weight: view.getUint32(at + SCHED_FIELDS.weight, true),
            slice: u64(SCHED_FIELDS.slice),
            dsqVtime: u64(SCHED_FIELDS.dsqVtime),
            flags: view.getUint32(at + SCHED_FIELDS.scxFlags, true),
            ...(has & SCHED_HAS_DSQ ? { dsqId: u64(SCHED_FIELDS.dsqId) } : {}),
          },
        }
      : {}),
  };
}

/** enum tldh_trace_kind */
export const TRACE_OFF_CPU = 1;
export const TRACE_ON_CPU = 2;
export const TRACE_WAKEUP = 3;
export const TRACE_HAS_DSQ = 1;
/** struct tldh_trace_rec: ts u64, kind, tid, cpu, waker, flags, arg (u32), dsq_id u64. */
export const TRACE_REC = 40;
export const TRACE_FIELDS = { ts: 0, kind: 8, tid: 12, cpu: 16, waker: 20, flags: 24, arg: 28, dsqId: 32 } as const;

export type TraceEvent =
  | { readonly kind: 'off-cpu'; readonly ts: bigint; readonly tid: number; readonly cpu: number; readonly state: number }
  | { readonly kind: 'on-cpu'; readonly ts: bigint; readonly tid: number; readonly cpu: number }
  | { readonly kind: 'wakeup'; readonly ts: bigint; readonly tid: number; readonly cpu: number; readonly waker: number; readonly dsqId?: bigint };

/** The trace record at @at of @view (TRACE_REC bytes there, checked by the caller). */
export function readTrace(view: DataView, at: number): TraceEvent {
  const F = TRACE_FIELDS;
  const ts = view.getBigUint64(at + F.ts, true);
  const kind = view.getUint32(at + F.kind, true);
  const tid = view.getUint32(at + F.tid, true);
  const cpu = view.getUint32(at + F.cpu, true);
  switch (kind) {
    case TRACE_OFF_CPU:
      return { kind: 'off-cpu', ts, tid, cpu, state: view.getUint32(at + F.arg, true) };
    case TRACE_ON_CPU:
      return { kind: 'on-cpu', ts, tid, cpu };
    case TRACE_WAKEUP: {
      const hasDsq = (view.getUint32(at + F.flags, true) & TRACE_HAS_DSQ) !== 0;
      return { kind: 'wakeup', ts, tid, cpu, waker: view.getUint32(at + F.waker, true), ...(hasDsq ? { dsqId: view.getBigUint64(at + F.dsqId, true) } : {}) };
    }
    default:
      throw malformed(`unknown trace event kind ${kind}`);
  }
}

/** Every event of a TRACE record stream. */
export function decodeTrace(buf: Uint8Array): TraceEvent[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: TraceEvent[] = [];
  for (const r = new RecordCursor(buf, view); r.next(); ) {
    if (r.type !== REC_TRACE) throw malformed(`unexpected record type ${r.type} in a trace`);
    if (r.size < TRACE_REC) throw malformed('short trace record');
    out.push(readTrace(view, r.body));
  }
  return out;
}

export type HelperRecord = MetaRecord | ThreadRecord | ({ readonly kind: 'sched' } & SchedRecord);

export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('utf8');
}

/**
 * Reads a stream record by record: next() moves to the following record, having checked that
 * its header and payload lie within the stream, and says false at the end. The one reader of
 * the framing: decodeRecords, decodeTrace and the snapshot parser all read with it. Throws
 * TldError('EHELPER') on a malformed stream. A cursor rather than a callback per record, so
 * that the snapshot parser's loop keeps its state in locals, not in a closure's context.
 */
export class RecordCursor {
  /** The current record: its type, where its payload begins, its size, and where it begins. */
  type = 0;
  body = 0;
  size = 0;
  at = 0;
  private following = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly view: DataView,
  ) {}

  next(): boolean {
    const off = this.following;
    const len = this.buf.length;
    if (off >= len) return false;
    if (off + REC_HEADER > len) throw truncatedHeader(off);
    const size = this.view.getUint32(off + REC_SIZE, true);
    const body = off + REC_HEADER;
    if (body + size > len) throw pastTheStream(off);
    this.type = this.view.getUint32(off + REC_TYPE, true);
    this.body = body;
    this.size = size;
    this.at = off;
    this.following = body + size;
    return true;
  }
}

/** The metadata page a META record at @body carries, checked to lie within its payload. */
export function metaPageOf(buf: Uint8Array, view: DataView, body: number, size: number): Uint8Array {
  if (size < META_REC) throw malformed('short metadata record');
  const len = view.getUint32(body + META_LEN, true);
  if (META_REC + len > size) throw malformed('metadata record longer than its payload');
  return buf.subarray(body + META_REC, body + META_REC + len);
}

/** The data_len of a THREAD or WRITTEN record at @body, checked to lie within its payload. */
export function threadDataLen(view: DataView, body: number, size: number): number {
  if (size < THREAD_REC) throw malformed('short thread record');
  const dataLen = view.getUint32(body + THREAD_DATA_LEN, true);
  if (THREAD_REC + dataLen > size) throw malformed('thread record longer than its payload');
  return dataLen;
}

/** Decodes a stream; throws TldError('EHELPER') on a malformed one (never returns a partial view). */
export function decodeRecords(buf: Uint8Array): HelperRecord[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: HelperRecord[] = [];
  for (const r = new RecordCursor(buf, view); r.next(); ) {
    const { type, body, size, at } = r;
    switch (type) {
      case REC_META:
        out.push({
          kind: 'meta',
          tgid: view.getUint32(body + META_TGID, true),
          pageSize: view.getUint32(body + META_PAGE_SIZE, true),
          layout: view.getUint32(body + META_LAYOUT, true),
          page: metaPageOf(buf, view, body, size),
        });
        break;
      case REC_THREAD:
      case REC_WRITTEN: {
        const dataLen = threadDataLen(view, body, size);
        out.push({
          kind: type === REC_THREAD ? 'thread' : 'written',
          tid: view.getUint32(body + THREAD_TID, true),
          tgid: view.getUint32(body + THREAD_TGID, true),
          flags: view.getUint32(body + THREAD_FLAGS, true),
          start: view.getBigUint64(body + THREAD_START, true),
          comm: cString(buf.subarray(body + THREAD_COMM, body + THREAD_COMM + COMM_LEN)),
          keyCount: view.getUint32(body + THREAD_KEY_CNT, true),
          used: view.getUint32(body + THREAD_USED, true),
          pageSize: view.getUint32(body + THREAD_PAGE_SIZE, true),
          layout: view.getUint32(body + THREAD_LAYOUT, true),
          data: buf.subarray(body + THREAD_REC, body + THREAD_REC + dataLen),
        });
        break;
      }
      case REC_SCHED:
        if (size < SCHED_REC) throw malformed('short sched record');
        out.push({ kind: 'sched', ...readSched(view, body) });
        break;
      default:
        throw malformed(`unknown record type ${type} at ${at}`);
    }
  }
  return out;
}

export function malformed(what: string): TldError {
  return new TldError('EHELPER', `the helper returned a malformed record stream: ${what}`);
}

/*
 * The errors of a loop over every record get their messages from functions of their own, called
 * in the branch that throws. Two template literals of one number in a loop's cold branches are
 * one conversion to TurboFan, which then places it where both branches start: on the hot path,
 * every record (a quarter of a snapshot's parse went to turning offsets and tids into strings).
 */
function truncatedHeader(off: number): TldError {
  return malformed(`truncated record header at ${off}`);
}

function pastTheStream(off: number): TldError {
  return malformed(`record at ${off} runs past the stream`);
}
