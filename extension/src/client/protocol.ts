// The helper's interface, one definition for every transport: in-process (koffi), the
// privileged helper host (JSON lines over stdio) and a VM guest's helper host (the same lines
// over virtio-serial, through vm/guestRelay.ts). Mirrors native/include/tldhelper.h.
import { TldError } from './errors';
import { DATA_MAX_ANY, MAX_KEYS_ANY, NAME_MAX } from './layout';

/** What the host can do (struct tldh_host). */
export interface HostReport {
  readonly kernel: string;
  readonly btf: boolean;
  readonly bpffs: boolean;
  readonly capBpf: boolean;
  readonly capPerfmon: boolean;
  readonly uptr: boolean;
  readonly schedExt: boolean;
  readonly pinExists: boolean;
  readonly pinOk: boolean;
  readonly pinMapId: number;
  readonly otherMaps: number;
  readonly pinUsers: number;
  readonly otherUsers: number;
  readonly pinPath: string;
  readonly pinProblem: string;
  /** Tasks with an entry in the pinned map. */
  readonly pinTasks: number;
  /** What to do about pinProblem; never removes a pin in use. */
  readonly pinAdvice: string;
}

export interface KeySpec {
  readonly name: string;
  readonly size: number;
}

/** NAME:SIZE (the last colon splits, so names may hold colons); EINVAL says what is wrong. */
export function parseKeySpec(text: string): KeySpec {
  const i = text.lastIndexOf(':');
  if (i <= 0) throw new TldError('EINVAL', `'${text}' is not KEY:SIZE`);
  const name = text.slice(0, i);
  const size = text.slice(i + 1);
  if (!/^\d+$/.test(size) || Number(size) <= 0 || !Number.isSafeInteger(Number(size))) {
    throw new TldError('EINVAL', `the size of '${name}' must be a positive whole number, not '${size}'`);
  }
  return { name, size: Number(size) };
}

/** A finding of the check before loading (struct tldh_finding). */
export interface Finding {
  readonly severity: 'error' | 'warning';
  readonly code: string;
  readonly subject: string;
  readonly message: string;
}

/** What a load did (struct tldh_load_result), or why it failed. */
export interface LoadResult {
  readonly ok: boolean;
  readonly object: string;
  readonly progIds: readonly number[];
  readonly attached: number;
  /** When the verifier rejected a program: which, and its whole log. */
  readonly failedProgram: string;
  readonly log: string;
  readonly logGrown: boolean;
  /** When not ok: the helper's error. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** A loaded program (struct tldh_prog). */
export interface LoadedProgram {
  readonly id: number;
  readonly type: string;
  readonly name: string;
  readonly insns: number;
  readonly verifiedInsns: number;
  readonly jitedBytes: number;
  readonly mapIds: readonly number[];
  readonly runCount: number;
  readonly runTimeNs: number;
  /** Pinned under the pin root: loaded by TLD Studio, and unloadable by it. */
  readonly ours: boolean;
  readonly pin: string;
}

/** The raw helper: record streams as bytes, decoded by the client (records.ts). */
export interface RawHelper {
  /** 'guest': the helper host inside a running VM, reached through its relay. */
  readonly transport: 'in-process' | 'host' | 'guest';
  /** Whether it can no longer answer (its host exited, its guest stopped). */
  readonly closed: boolean;
  list(): Promise<Uint8Array>;
  snapshot(pid: number): Promise<Uint8Array>;
  write(pid: number, tid: number, offset: number, bytes: Uint8Array): Promise<Uint8Array>;
  attach(pid: number, keys: readonly KeySpec[]): Promise<void>;
  detach(pid: number): Promise<void>;
  hostReport(): Promise<HostReport>;
  objectCheck(path: string): Promise<Finding[]>;
  objectLoad(path: string, pinRoot: string, attach: boolean): Promise<LoadResult>;
  progList(pinRoot: string): Promise<LoadedProgram[]>;
  progUnload(pinRoot: string, id: number): Promise<void>;
  /** Starts tracing @pid's scheduling (one trace at a time). */
  traceStart(pid: number): Promise<void>;
  /** The TRACE records gathered since the last read, and how many events were lost so far. */
  traceRead(): Promise<TraceChunk>;
  traceStop(): Promise<void>;
  dispose(): void;
}

export interface TraceChunk {
  readonly bytes: Uint8Array;
  readonly lost: number;
}

/** Requests of the helper host, one JSON object a line. Bytes travel as base64. */
export type HostRequest =
  | { readonly id: number; readonly method: 'list' }
  | { readonly id: number; readonly method: 'snapshot'; readonly pid: number }
  | { readonly id: number; readonly method: 'write'; readonly pid: number; readonly tid: number; readonly offset: number; readonly bytes: string }
  | { readonly id: number; readonly method: 'attach'; readonly pid: number; readonly keys: readonly KeySpec[] }
  | { readonly id: number; readonly method: 'detach'; readonly pid: number }
  | { readonly id: number; readonly method: 'hostReport' }
  | { readonly id: number; readonly method: 'objectCheck'; readonly path: string }
  | { readonly id: number; readonly method: 'objectLoad'; readonly path: string; readonly pinRoot: string; readonly attach: boolean }
  | { readonly id: number; readonly method: 'progList'; readonly pinRoot: string }
  | { readonly id: number; readonly method: 'progUnload'; readonly pinRoot: string; readonly progId: number }
  | { readonly id: number; readonly method: 'traceStart'; readonly pid: number }
  | { readonly id: number; readonly method: 'traceRead' }
  | { readonly id: number; readonly method: 'traceStop' };

export type HostMethod = HostRequest['method'];

export interface HostResults {
  list: { readonly bytes: string };
  snapshot: { readonly bytes: string };
  write: { readonly bytes: string };
  attach: Record<string, never>;
  detach: Record<string, never>;
  hostReport: HostReport;
  objectCheck: { readonly findings: Finding[] };
  objectLoad: LoadResult;
  progList: { readonly programs: LoadedProgram[] };
  progUnload: Record<string, never>;
  traceStart: Record<string, never>;
  traceRead: { readonly bytes: string; readonly lost: number };
  traceStop: Record<string, never>;
}

export type HostReply =
  | { readonly id: number; readonly ok: true; readonly result: HostResults[HostMethod] }
  | { readonly id: number; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/** The first line the host writes once it is ready: its ABI and whether it could open the helper. */
export interface HostHello {
  readonly hello: 'tld-helper-host';
  readonly abi: number;
  readonly error?: { readonly code: string; readonly message: string };
}

/** The largest pid or tid the kernel can give (PID_MAX_LIMIT on 64-bit): larger ids name no task. */
export const PID_MAX_LIMIT = 4 * 1024 * 1024;
/** Program ids are u32: a larger number must not wrap to another program. */
export const PROG_ID_MAX = 0xffff_ffff;
/** A request line's strings (paths) and its bytes stay small: nothing in the protocol needs more. */
const PATH_MAX = 4096;
const BYTES_MAX = 8192;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const inRange = (v: unknown, lo: number, hi: number): v is number => isInt(v) && v >= lo && v <= hi;
const isPid = (v: unknown): v is number => inRange(v, 1, PID_MAX_LIMIT);
const isPath = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= PATH_MAX && !v.includes('\0');
const isBase64 = (v: unknown): v is string => typeof v === 'string' && v.length <= BYTES_MAX && /^[A-Za-z0-9+/]*={0,2}$/.test(v);
const isKey = (k: unknown): k is KeySpec =>
  isObj(k) && typeof k.name === 'string' && k.name.length > 0 && Buffer.byteLength(k.name) <= NAME_MAX &&
  !/[\0\n:]/.test(k.name) && inRange(k.size, 1, DATA_MAX_ANY);

/**
 * Validates one request line from the client; null when malformed or out of range: pids and
 * tids within PID_MAX_LIMIT and program ids within u32 (nothing wraps to another id), offsets
 * within the largest data page (the helper checks the map's own), paths without NUL.
 */
export function parseHostRequest(line: string): HostRequest | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObj(v) || !inRange(v.id, 0, Number.MAX_SAFE_INTEGER) || typeof v.method !== 'string') return null;
  const id = v.id;
  switch (v.method) {
    case 'list':
    case 'hostReport':
    case 'traceRead':
    case 'traceStop':
      return { id, method: v.method };
    case 'snapshot':
    case 'detach':
    case 'traceStart':
      return isPid(v.pid) ? { id, method: v.method, pid: v.pid } : null;
    case 'write':
      return isPid(v.pid) && (v.tid === 0 || isPid(v.tid)) && inRange(v.offset, 0, DATA_MAX_ANY - 1) && isBase64(v.bytes)
        ? { id, method: 'write', pid: v.pid, tid: v.tid as number, offset: v.offset, bytes: v.bytes }
        : null;
    case 'objectCheck':
      return isPath(v.path) ? { id, method: 'objectCheck', path: v.path } : null;
    case 'objectLoad':
      return isPath(v.path) && isPath(v.pinRoot) && typeof v.attach === 'boolean'
        ? { id, method: 'objectLoad', path: v.path, pinRoot: v.pinRoot, attach: v.attach }
        : null;
    case 'progList':
      return isPath(v.pinRoot) ? { id, method: 'progList', pinRoot: v.pinRoot } : null;
    case 'progUnload':
      return isPath(v.pinRoot) && inRange(v.progId, 1, PROG_ID_MAX)
        ? { id, method: 'progUnload', pinRoot: v.pinRoot, progId: v.progId }
        : null;
    case 'attach':
      if (!isPid(v.pid) || !Array.isArray(v.keys) || v.keys.length === 0 || v.keys.length > MAX_KEYS_ANY) return null;
      if (!v.keys.every(isKey)) return null;
      return { id, method: 'attach', pid: v.pid, keys: v.keys.map((k: KeySpec) => ({ name: k.name, size: k.size })) };
    default:
      return null;
  }
}

/** The id of a request line that parseHostRequest refused, to answer it with an error; undefined without one. */
export function requestIdOf(line: string): number | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return isObj(v) && inRange(v.id, 0, Number.MAX_SAFE_INTEGER) ? v.id : undefined;
  } catch {
    return undefined;
  }
}

/** Validates one reply line from the host; null when malformed. */
export function parseHostReply(line: string): HostReply | HostHello | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObj(v)) return null;
  if (v.hello === 'tld-helper-host' && isInt(v.abi)) return v as unknown as HostHello;
  if (!isInt(v.id) || typeof v.ok !== 'boolean') return null;
  if (v.ok) return isObj(v.result) ? (v as unknown as HostReply) : null;
  return isObj(v.error) && typeof v.error.code === 'string' && typeof v.error.message === 'string'
    ? (v as unknown as HostReply)
    : null;
}
