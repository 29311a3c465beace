// Typed views of the helper's records: the process list and one process's snapshot.
// Metadata from the target process is validated here and never trusted.
import * as fs from 'node:fs';

import { TldError } from './errors';
import { DATA_MAX, ENTRY_SIZE, MAX_KEYS, META_HEADER, NAME_LEN, PAGE_SIZE, roundUp } from './layout';
import { HelperRecord, THREAD_HAS_DATA, THREAD_HAS_ENTRY, ThreadRecord } from './records';

export interface KeyInfo {
  readonly name: string;
  readonly size: number;
  /** Offset of the value in a thread's data area (from `start`). */
  readonly offset: number;
}

export interface ThreadSnapshot {
  readonly tid: number;
  readonly comm: string;
  /** Whether the thread has a map entry with a data page. */
  readonly hasData: boolean;
  /** Raw bytes of each key's value; absent where the thread has no page. */
  readonly values: ReadonlyMap<string, Uint8Array>;
}

export interface ProcessSnapshot {
  readonly pid: number;
  readonly comm: string;
  readonly keys: readonly KeyInfo[];
  /** Bytes the keys' values take in each thread's data area, and its capacity. */
  readonly used: number;
  readonly capacity: number;
  readonly threads: readonly ThreadSnapshot[];
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
  const cnt = view.getUint16(0, true);
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
    if (seen.has(name)) throw corrupt(pid, `key '${name}' appears twice`);
    if (offset + size > DATA_MAX) {
      throw corrupt(pid, `key '${name}' (${size} bytes at offset ${offset}) runs past the page`);
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

function threadValues(pid: number, t: ThreadRecord, keys: readonly KeyInfo[]): Map<string, Uint8Array> {
  const values = new Map<string, Uint8Array>();
  if (!(t.flags & THREAD_HAS_DATA)) return values;
  const start = Number(t.start);
  if (t.start < 8n || t.start >= BigInt(PAGE_SIZE)) {
    throw corrupt(pid, `thread ${t.tid} says its data starts at ${t.start}, outside its page`);
  }
  for (const k of keys) {
    const from = start + k.offset;
    // A page shorter than the layout says is cut by the page's end: report it, do not guess.
    if (from + k.size > t.data.length) {
      throw corrupt(pid, `thread ${t.tid}'s value of '${k.name}' lies past its page`);
    }
    values.set(k.name, t.data.subarray(from, from + k.size));
  }
  return values;
}

/** One process from a dump_process stream. */
export function toSnapshot(pid: number, records: readonly HelperRecord[]): ProcessSnapshot {
  const meta = records.find((r) => r.kind === 'meta');
  const keys = meta && meta.kind === 'meta' ? parseMetadata(pid, meta.page) : [];
  const threads: ThreadSnapshot[] = [];
  let comm = '';
  for (const r of records) {
    if (r.kind !== 'thread') continue;
    if (r.tid === pid) comm = r.comm;
    threads.push({
      tid: r.tid,
      comm: r.comm,
      hasData: (r.flags & THREAD_HAS_DATA) !== 0,
      values: threadValues(pid, r, keys),
    });
  }
  const last = keys[keys.length - 1];
  return {
    pid,
    comm: comm || readComm(pid),
    keys,
    used: last ? last.offset + roundUp(last.size) : 0,
    capacity: DATA_MAX,
    threads,
  };
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
