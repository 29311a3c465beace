// The helper's interface, one definition for every transport: in-process (koffi), the
// privileged helper host (frames over stdio: a JSON header line, then raw bytes when it
// announces some) and a VM guest's helper host (the same frames over virtio-serial, through
// vm/guestRelay.ts). Mirrors native/include/tldhelper.h.
import { TldError } from './errors';
import { DATA_MAX_ANY, MAX_KEYS_ANY, NAME_MAX } from './layout';

/**
 * The helper library's ABI (tldh_abi_version()), which the helper host also announces in its
 * hello. Here rather than in nativeHelper.ts so that the host's clients need no koffi.
 */
export const ABI_VERSION = 5;

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
  /** Gives back the bytes of a result its caller is done with, for the next result to reuse (in process only). */
  recycle?(bytes: Uint8Array): void;
  dispose(): void;
}

export interface TraceChunk {
  readonly bytes: Uint8Array;
  readonly lost: number;
}

/**
 * Requests of the helper host. On the wire each is one frame (encodeRequest): the JSON header
 * without `bytes`, which follow it as the frame's payload.
 */
export type HostRequest =
  | { readonly id: number; readonly method: 'list' }
  | { readonly id: number; readonly method: 'snapshot'; readonly pid: number }
  | { readonly id: number; readonly method: 'write'; readonly pid: number; readonly tid: number; readonly offset: number; readonly bytes: Uint8Array }
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

/** Results; a result's `bytes` travel as its frame's payload (encodeReply). */
export interface HostResults {
  list: { readonly bytes: Uint8Array };
  snapshot: { readonly bytes: Uint8Array };
  write: { readonly bytes: Uint8Array };
  attach: Record<string, never>;
  detach: Record<string, never>;
  hostReport: HostReport;
  objectCheck: { readonly findings: Finding[] };
  objectLoad: LoadResult;
  progList: { readonly programs: LoadedProgram[] };
  progUnload: Record<string, never>;
  traceStart: Record<string, never>;
  traceRead: { readonly bytes: Uint8Array; readonly lost: number };
  traceStop: Record<string, never>;
}

export type HostReply =
  | { readonly id: number; readonly ok: true; readonly result: HostResults[HostMethod] }
  | { readonly id: number; readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

/**
 * The version of this protocol, in both hellos. 1: JSON lines with bytes as base64 (no
 * `protocol` field); 2: frames with raw byte payloads. The host and its clients ship together:
 * a peer of another version is refused with a message saying so, never half understood.
 */
export const PROTOCOL_VERSION = 2;

/** The first frame the host writes once it is ready: its ABI, its protocol and whether it could open the helper. */
export interface HostHello {
  readonly hello: 'tld-helper-host';
  readonly abi: number;
  /** Absent from hosts of protocol 1. */
  readonly protocol?: number;
  readonly error?: { readonly code: string; readonly message: string };
}

/** The first frame a client writes, before any request. */
export interface ClientHello {
  readonly hello: 'tld-helper-client';
  readonly protocol: number;
}

export const CLIENT_HELLO: ClientHello = { hello: 'tld-helper-client', protocol: PROTOCOL_VERSION };

/** Why a host and a client of different protocol versions cannot talk: both versions, and @fix. */
export function protocolMismatch(host: number | undefined, client: number | undefined, fix: string): string {
  return `the helper host speaks helper protocol ${host ?? 1} and its client ${client ?? 1}: TLD Studio's extension, tldctl and the helper host must come from one version (${fix})`;
}

// Framing. A frame is a header, one JSON object on one line ending in \n, then, when the header
// has a `payload` member N, exactly N raw bytes. Headers stay readable (a hello is a line) and
// bytes cross without base64. Lengths come from the peer, so both are bounded before anything
// is buffered: FrameReader refuses a longer header line or a larger announced payload.

/** How large a peer's frames may be. */
export interface FrameLimits {
  /** Bytes of a header line, without its newline. */
  readonly headerMax: number;
  readonly payloadMax: number;
}

/**
 * What the host accepts from a client: headers hold paths (PATH_MAX) or up to MAX_KEYS_ANY
 * key names, payloads one write within the largest data page.
 */
export const REQUEST_LIMITS: FrameLimits = { headerMax: 1 << 20, payloadMax: DATA_MAX_ANY };
/** What a client accepts from the host: headers hold verifier logs (up to 16 MiB), payloads record streams. */
export const REPLY_LIMITS: FrameLimits = { headerMax: 64 << 20, payloadMax: 1 << 30 };

/** One frame as read: its header (undefined when the line is not a JSON object), the line, its payload. */
export interface Frame {
  readonly header: Record<string, unknown> | undefined;
  readonly text: string;
  readonly payload?: Uint8Array;
}

const NEWLINE = 0x0a;

/** The chunks of one frame: @header's line (with `payload` set from @payload) and the payload. */
export function encodeFrame(header: object, payload?: Uint8Array): Uint8Array[] {
  if (!payload) return [Buffer.from(JSON.stringify(header) + '\n')];
  return [Buffer.from(JSON.stringify({ ...header, payload: payload.length }) + '\n'), payload];
}

/**
 * Splits a byte stream into frames, whatever its chunks. A header line longer than
 * limits.headerMax, a payload length that is not a whole number within limits.payloadMax, or
 * a stream that ends inside a frame is an error: onError gets it once, and nothing after it is
 * read (where the next frame starts is unknown). A header line that is not a JSON object is a
 * frame without header, for the reader to refuse as it sees fit.
 */
export class FrameReader {
  /** Header bytes before the newline not found yet; payload parts while one is being read. */
  private parts: Uint8Array[] = [];
  private have = 0;
  /** The header whose payload is being read, and how long that payload is. */
  private header: Record<string, unknown> | undefined;
  private text = '';
  private want = -1;
  private failed = false;

  constructor(
    private readonly limits: FrameLimits,
    private readonly onFrame: (frame: Frame) => void,
    private readonly onError: (e: TldError) => void,
    /** Who sends the stream, in errors ("the helper host"). */
    private readonly peer: string,
  ) {}

  push(chunk: Uint8Array): void {
    let at = 0;
    while (!this.failed && at < chunk.length) {
      if (this.want < 0) {
        const nl = chunk.indexOf(NEWLINE, at);
        const end = nl < 0 ? chunk.length : nl;
        if (this.have + end - at > this.limits.headerMax) {
          return this.fail(`a header line longer than ${this.limits.headerMax} bytes`);
        }
        if (nl < 0) {
          this.keep(chunk.subarray(at));
          return;
        }
        const line = this.parts.length === 0 ? chunk.subarray(at, nl) : Buffer.concat([...this.parts, chunk.subarray(at, nl)]);
        this.parts = [];
        this.have = 0;
        at = nl + 1;
        this.startFrame(Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString('utf8'));
      } else {
        const take = Math.min(this.want - this.have, chunk.length - at);
        this.keep(chunk.subarray(at, at + take));
        at += take;
        if (this.have === this.want) this.endPayload();
      }
    }
  }

  /** The stream ended: an error when it ended inside a frame. */
  end(): void {
    if (this.failed) return;
    if (this.want >= 0) this.fail(`the stream ended ${this.have} bytes into a payload of ${this.want}`);
    else if (this.have > 0) this.fail('the stream ended inside a header line');
  }

  private keep(part: Uint8Array): void {
    this.parts.push(part);
    this.have += part.length;
  }

  private startFrame(text: string): void {
    let header: Record<string, unknown> | undefined;
    try {
      const v: unknown = JSON.parse(text);
      header = isObj(v) && !Array.isArray(v) ? v : undefined;
    } catch {
      header = undefined;
    }
    const n = header?.payload;
    if (n === undefined) {
      this.onFrame({ header, text });
      return;
    }
    if (!isInt(n) || n < 0) return this.fail(`a payload length that is not a whole number (${JSON.stringify(n)?.slice(0, 40)})`);
    if (n > this.limits.payloadMax) return this.fail(`a payload of ${n} bytes, more than the ${this.limits.payloadMax} allowed`);
    this.header = header;
    this.text = text;
    this.want = n;
    if (n === 0) this.endPayload();
  }

  private endPayload(): void {
    const payload = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.have);
    const frame: Frame = { header: this.header, text: this.text, payload };
    this.parts = [];
    this.have = 0;
    this.want = -1;
    this.header = undefined;
    this.text = '';
    this.onFrame(frame);
  }

  private fail(what: string): void {
    this.failed = true;
    this.parts = [];
    this.onError(new TldError('EHELPER', `${this.peer} sent a malformed frame: ${what}`));
  }
}

/** The frame of @req: its bytes (a write's) as the payload. */
export function encodeRequest(req: HostRequest): Uint8Array[] {
  if (req.method === 'write') {
    const { bytes, ...header } = req;
    return encodeFrame(header, bytes);
  }
  return encodeFrame(req);
}

/** The frame of @msg: a result's bytes as the payload. */
export function encodeReply(msg: HostReply | HostHello): Uint8Array[] {
  if ('hello' in msg || !msg.ok || !('bytes' in msg.result)) return encodeFrame(msg);
  const { bytes, ...result } = msg.result as { readonly bytes: Uint8Array };
  return encodeFrame({ ...msg, result }, bytes);
}

/** The largest pid or tid the kernel can give (PID_MAX_LIMIT on 64-bit): larger ids name no task. */
export const PID_MAX_LIMIT = 4 * 1024 * 1024;
/** Program ids are u32: a larger number must not wrap to another program. */
export const PROG_ID_MAX = 0xffff_ffff;
/** A request's strings (paths) stay small: nothing in the protocol needs more. */
const PATH_MAX = 4096;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const inRange = (v: unknown, lo: number, hi: number): v is number => isInt(v) && v >= lo && v <= hi;
const isPid = (v: unknown): v is number => inRange(v, 1, PID_MAX_LIMIT);
const isPath = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= PATH_MAX && !v.includes('\0');
const isKey = (k: unknown): k is KeySpec =>
  isObj(k) && typeof k.name === 'string' && k.name.length > 0 && Buffer.byteLength(k.name) <= NAME_MAX &&
  !/[\0\n:]/.test(k.name) && inRange(k.size, 1, DATA_MAX_ANY);

/**
 * Validates one request frame from the client; null when malformed or out of range: pids and
 * tids within PID_MAX_LIMIT and program ids within u32 (nothing wraps to another id), offsets
 * within the largest data page (the helper checks the map's own), paths without NUL, a payload
 * on writes alone.
 */
export function parseHostRequest(frame: Frame): HostRequest | null {
  const v = frame.header;
  if (!v || !inRange(v.id, 0, Number.MAX_SAFE_INTEGER) || typeof v.method !== 'string') return null;
  if (frame.payload && v.method !== 'write') return null;
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
      return isPid(v.pid) && (v.tid === 0 || isPid(v.tid)) && inRange(v.offset, 0, DATA_MAX_ANY - 1) && frame.payload
        ? { id, method: 'write', pid: v.pid, tid: v.tid as number, offset: v.offset, bytes: frame.payload }
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

/** The id of a request frame that parseHostRequest refused, to answer it with an error; undefined without one. */
export function requestIdOf(frame: Frame): number | undefined {
  const v = frame.header;
  return v && inRange(v.id, 0, Number.MAX_SAFE_INTEGER) ? v.id : undefined;
}

/** A client's hello frame, or undefined when the frame is something else (an older client's request). */
export function parseClientHello(frame: Frame): ClientHello | undefined {
  const v = frame.header;
  return v && v.hello === 'tld-helper-client' && isInt(v.protocol) && !frame.payload ? { hello: 'tld-helper-client', protocol: v.protocol } : undefined;
}

/** Validates one reply frame from the host (a payload becomes its result's `bytes`); null when malformed. */
export function parseHostReply(frame: Frame): HostReply | HostHello | null {
  const v = frame.header;
  if (!v) return null;
  if (v.hello === 'tld-helper-host' && isInt(v.abi) && (v.protocol === undefined || isInt(v.protocol))) {
    const error = v.error === undefined ? undefined : isError(v.error) ? v.error : null;
    if (error === null) return null;
    return { hello: 'tld-helper-host', abi: v.abi, ...(v.protocol !== undefined ? { protocol: v.protocol } : {}), ...(error ? { error } : {}) };
  }
  if (!isInt(v.id) || typeof v.ok !== 'boolean') return null;
  if (!v.ok) return isError(v.error) && !frame.payload ? { id: v.id, ok: false, error: v.error } : null;
  if (!isObj(v.result)) return null;
  const result = frame.payload ? { ...v.result, bytes: frame.payload } : v.result;
  return { id: v.id, ok: true, result } as unknown as HostReply;
}

const isError = (e: unknown): e is { code: string; message: string } => isObj(e) && typeof e.code === 'string' && typeof e.message === 'string';
