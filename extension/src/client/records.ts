// Decodes the helper's record streams. Mirrors native/include/tldh_records.h.
import { TldError } from './errors';

export const REC_META = 1;
export const REC_THREAD = 2;
export const REC_WRITTEN = 3;
export const REC_HEADER = 8;
export const META_REC = 8;
/** struct tldh_thread_rec: tid, tgid, flags, data_len (u32), start (u64), comm[16], key_cnt, used (u32). */
export const THREAD_REC = 48;
export const THREAD_TID = 0;
export const THREAD_TGID = 4;
export const THREAD_FLAGS = 8;
export const THREAD_DATA_LEN = 12;
export const THREAD_START = 16;
export const THREAD_COMM = 24;
export const COMM_LEN = 16;

export const THREAD_HAS_ENTRY = 1;
export const THREAD_HAS_DATA = 2;
export const THREAD_HAS_META = 4;

export interface MetaRecord {
  readonly kind: 'meta';
  readonly tgid: number;
  /** The metadata page's bytes, as the kernel read them. */
  readonly page: Uint8Array;
}

export interface ThreadRecord {
  readonly kind: 'thread' | 'written';
  readonly tid: number;
  readonly tgid: number;
  readonly flags: number;
  readonly start: bigint;
  readonly comm: string;
  readonly keyCount: number;
  readonly used: number;
  /** The data page's first data_len bytes. */
  readonly data: Uint8Array;
}

export type HelperRecord = MetaRecord | ThreadRecord;

export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('utf8');
}

/** Decodes a stream; throws TldError('EHELPER') on a malformed one (never returns a partial view). */
export function decodeRecords(buf: Uint8Array): HelperRecord[] {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: HelperRecord[] = [];
  let off = 0;
  while (off < buf.length) {
    if (off + REC_HEADER > buf.length) throw malformed(`truncated record header at ${off}`);
    const type = view.getUint32(off, true);
    const size = view.getUint32(off + 4, true);
    const body = off + REC_HEADER;
    if (body + size > buf.length) throw malformed(`record at ${off} runs past the stream`);
    switch (type) {
      case REC_META: {
        if (size < META_REC) throw malformed('short metadata record');
        const len = view.getUint32(body + 4, true);
        if (META_REC + len > size) throw malformed('metadata record longer than its payload');
        out.push({
          kind: 'meta',
          tgid: view.getUint32(body, true),
          page: buf.subarray(body + META_REC, body + META_REC + len),
        });
        break;
      }
      case REC_THREAD:
      case REC_WRITTEN: {
        if (size < THREAD_REC) throw malformed('short thread record');
        const dataLen = view.getUint32(body + THREAD_DATA_LEN, true);
        if (THREAD_REC + dataLen > size) throw malformed('thread record longer than its payload');
        out.push({
          kind: type === REC_THREAD ? 'thread' : 'written',
          tid: view.getUint32(body + THREAD_TID, true),
          tgid: view.getUint32(body + THREAD_TGID, true),
          flags: view.getUint32(body + THREAD_FLAGS, true),
          start: view.getBigUint64(body + THREAD_START, true),
          comm: cString(buf.subarray(body + THREAD_COMM, body + THREAD_COMM + COMM_LEN)),
          keyCount: view.getUint32(body + 40, true),
          used: view.getUint32(body + 44, true),
          data: buf.subarray(body + THREAD_REC, body + THREAD_REC + dataLen),
        });
        break;
      }
      default:
        throw malformed(`unknown record type ${type} at ${off}`);
    }
    off = body + size;
  }
  return out;
}

export function malformed(what: string): TldError {
  return new TldError('EHELPER', `the helper returned a malformed record stream: ${what}`);
}
