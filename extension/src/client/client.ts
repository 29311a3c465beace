// The typed client every TLD Studio view and tldctl use: picks the transport, decodes
// records into snapshots, and turns user input into checked helper calls.
import { TldError } from './errors';
import { printable } from './printable';
import type { Launcher } from './hostHelper';
import { hasBpfPrivileges } from './privileges';
import type { CompileOptions, CompileResult } from './compiler';
import type { BuildOutcome } from './loader';
import { defaultPinPath, programPinRoot } from './paths';
import { HostReport, KeySpec, LoadedProgram, RawHelper } from './protocol';
import { TraceEvent, decodeRecords, decodeTrace } from './records';
import { KeyInfo, ProcComm, ProcessSnapshot, ProcessSummary, checkedSnapshot, localComm, toProcessList } from './snapshot';
import { ValueType, defaultType, encodeValue } from './values';

export interface ClientOptions {
  readonly pinPath?: string;
  /** 'auto': in-process with privileges, else the helper host. */
  readonly transport?: 'auto' | 'in-process' | 'host';
  readonly libraryPath?: string;
  /**
   * In process, make the helper's calls in this thread, blocking it, rather than on a koffi
   * worker: for a command-line tool, whose event loop has nothing else to do meanwhile and
   * would only pay for the hand-off (tldctl watch: every refresh).
   */
  readonly inThread?: boolean;
  readonly launcher?: Launcher;
  /**
   * The socket of a running VM's relay (vm/guestRelay.ts): the guest's own helper host, serving
   * the guest's processes through the same protocol. @guestName names that VM in errors.
   */
  readonly guestSocket?: string;
  readonly guestName?: string;
  /** Told after every write that reached a thread: the process and the threads written. */
  readonly onWritten?: (pid: number, tids: readonly number[]) => void;
}

export class TldClient {
  private constructor(
    private readonly raw: RawHelper,
    readonly pinPath: string,
    private readonly onWritten?: (pid: number, tids: readonly number[]) => void,
  ) {}

  static async create(opts: ClientOptions = {}): Promise<TldClient> {
    const pinPath = opts.pinPath ?? defaultPinPath();
    const transport = opts.transport ?? 'auto';
    const inProcess = transport === 'in-process' || (transport === 'auto' && hasBpfPrivileges());
    // Each transport's module is loaded when it is chosen: the helper host's clients need no
    // koffi, and a short-lived tldctl starts faster without the modules it does not use.
    const raw = opts.guestSocket !== undefined
      ? await (await import('./hostHelper')).HostHelper.connect(opts.guestSocket, opts.guestName ?? 'the guest')
      : inProcess
      ? new (await import('./nativeHelper')).NativeHelper(pinPath, opts.libraryPath, opts.inThread)
      : await (await import('./hostHelper')).HostHelper.start(pinPath, opts.launcher, opts.libraryPath);
    return new TldClient(raw, pinPath, opts.onWritten);
  }

  /** Names from this machine's /proc, except for a guest's processes (its pids name others here). */
  private get procComm(): ProcComm {
    return this.raw.transport === 'guest' ? null : localComm;
  }

  get transport(): RawHelper['transport'] {
    return this.raw.transport;
  }

  /** Whether the helper behind it is gone: a guest's client ends with its VM. */
  get closed(): boolean {
    return this.raw.closed;
  }

  async processes(): Promise<ProcessSummary[]> {
    return toProcessList(decodeRecords(await this.raw.list()), this.procComm);
  }

  async snapshot(pid: number): Promise<ProcessSnapshot> {
    return checkedSnapshot(pid, await this.snapshotRecords(pid), this.raw.transport === 'guest');
  }

  /**
   * The helper's records of @pid's snapshot, undecoded: for a reader that decodes them
   * elsewhere (the Hint Inspector, on its worker) with checkedSnapshot().
   */
  async snapshotRecords(pid: number): Promise<Uint8Array> {
    checkId(pid, 'process');
    return this.raw.snapshot(pid);
  }

  /**
   * Gives back @records (snapshotRecords' result, or a snapshot's raw) once nothing reads them
   * any more, nor the snapshot made of them: the next snapshot may be written into them.
   */
  recycle(records: Uint8Array): void {
    this.raw.recycle?.(records);
  }

  /** The key named @name in @snap; ENOENT listing the keys there are. */
  static findKey(snap: ProcessSnapshot, name: string): KeyInfo {
    const key = snap.keys.find((k) => k.name === name);
    if (!key) {
      const names = snap.keys.map((k) => printable(k.name)).join(', ') || 'none';
      throw new TldError('ENOENT', `process ${snap.pid} has no key '${printable(name)}'; its keys: ${names}`);
    }
    return key;
  }

  /**
   * Sets @keyName to @text in thread @tid of @pid (all threads when tid is 0).
   * Returns the threads written.
   */
  async set(pid: number, tid: number, keyName: string, text: string, type?: ValueType): Promise<number[]> {
    if (tid !== 0) checkId(tid, 'thread');
    const snap = await this.snapshot(pid);
    const key = TldClient.findKey(snap, keyName);
    if (tid && !snap.threads.some((t) => t.tid === tid)) {
      throw new TldError('ESRCH', `process ${pid} has no thread ${tid}`);
    }
    const t = type && type.size === key.size ? type : defaultType(key.size);
    const bytes = encodeValue(text, t, keyName);
    const out = decodeRecords(await this.raw.write(pid, tid, key.offset, bytes));
    const written = out.filter((r) => r.kind === 'written').map((r) => (r.kind === 'written' ? r.tid : 0));
    if (written.length > 0) this.onWritten?.(pid, written);
    return written;
  }

  async attach(pid: number, keys: readonly KeySpec[]): Promise<void> {
    checkId(pid, 'process');
    return this.raw.attach(pid, keys);
  }

  async detach(pid: number): Promise<void> {
    checkId(pid, 'process');
    return this.raw.detach(pid);
  }

  hostReport(): Promise<HostReport> {
    return this.raw.hostReport();
  }

  /** Starts tracing @pid's scheduling (one trace at a time per helper). */
  async traceStart(pid: number): Promise<void> {
    checkId(pid, 'process');
    return this.raw.traceStart(pid);
  }

  /** The scheduling events since the last read, and how many were lost to a full buffer so far. */
  async traceRead(): Promise<{ events: TraceEvent[]; lost: number }> {
    const chunk = await this.raw.traceRead();
    return { events: decodeTrace(chunk.bytes), lost: chunk.lost };
  }

  traceStop(): Promise<void> {
    return this.raw.traceStop();
  }

  /** Compiles, checks and loads @file; its programs stay loaded (pinned) until unload. */
  async load(file: string, attach: boolean, opts: CompileOptions = {}, pinRoot = programPinRoot()): Promise<BuildOutcome> {
    const { compileCheckLoad } = await import('./loader');
    return compileCheckLoad(this.raw, file, pinRoot, attach, opts);
  }

  /** load, for @file already compiled (@compiled: compiler.compile's result). */
  async loadCompiled(file: string, compiled: CompileResult, attach: boolean, pinRoot = programPinRoot()): Promise<BuildOutcome> {
    const { loadCompiled } = await import('./loader');
    return loadCompiled(this.raw, file, compiled, pinRoot, attach);
  }

  programs(pinRoot = programPinRoot()): Promise<LoadedProgram[]> {
    return this.raw.progList(pinRoot);
  }

  /** Unloads the object that program @id belongs to (ENOENT when TLD Studio did not load it). */
  unload(id: number, pinRoot = programPinRoot()): Promise<void> {
    return this.raw.progUnload(pinRoot, id);
  }

  dispose(): void {
    this.raw.dispose();
  }
}

/** The kernel's largest pid (PID_MAX_LIMIT on 64-bit); no process or thread has a larger id. */
const PID_MAX_LIMIT = 4 * 1024 * 1024;

/**
 * Refuses an id the helper cannot take as is: it takes int32 pids, so 2^32 + N would name
 * process N. EINVAL for what is not an id, ESRCH for an id no process or thread can have.
 */
function checkId(id: number, what: 'process' | 'thread'): void {
  if (!Number.isSafeInteger(id) || id <= 0) throw new TldError('EINVAL', `${id} is not a ${what} id`);
  if (id > PID_MAX_LIMIT) throw new TldError('ESRCH', `${what} ${id} does not exist`);
}

