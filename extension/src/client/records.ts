// Decodes the helper's record streams. Mirrors native/include/tldh_records.h.
import { TldError } from './errors';

export const REC_META = 1;
export const REC_THREAD = 2;
export const REC_WRITTEN = 3;
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

export type HelperRecord = MetaRecord | ThreadRecord;

export function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.subarray(0, end < 0 ? bytes.length : end)).toString('utf8');
}

/**
 * Walks a stream: calls @visit with each record's type and where its payload lies in @buf,
 * having checked that the header and the payload lie within the stream. The one reader of
 * the framing: decodeRecords and the snapshot parser both walk with it. Throws
 * TldError('EHELPER') on a malformed stream.
 */
export function walkRecords(buf: Uint8Array, view: DataView, visit: (type: number, body: number, size: number, at: number) => void): void {
  let off = 0;
  while (off < buf.length) {
    if (off + REC_HEADER > buf.length) throw malformed(`truncated record header at ${off}`);
    const type = view.getUint32(off + REC_TYPE, true);
    const size = view.getUint32(off + REC_SIZE, true);
    const body = off + REC_HEADER;
    if (body + size > buf.length) throw malformed(`record at ${off} runs past the stream`);
    visit(type, body, size, off);
    off = body + size;
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
  walkRecords(buf, view, (type, body, size, at) => {
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
      default:
        throw malformed(`unknown record type ${type} at ${at}`);
    }
  });
  return out;
}

export function malformed(what: string): TldError {
  return new TldError('EHELPER', `the helper returned a malformed record stream: ${what}`);
}
