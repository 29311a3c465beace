// The helper library in this process through koffi. Mirrors native/include/tldhelper.h.
// Calls that read or change the kernel run on koffi's worker threads, one at a time, so that
// the event loop (the extension host, every other extension) goes on while they work.
import * as fs from 'node:fs';

import koffi from 'koffi';

import { TldError } from './errors';
import { helperStructs } from './helperStructs';
import { loadLibrary } from './koffiLibrary';
import { helperLibraryPath } from './paths';
import { ABI_VERSION, Finding, HostReport, KeySpec, LoadResult, LoadedProgram, RawHelper, TraceChunk } from './protocol';

export { ABI_VERSION };

/** Where the built library is (paths.ts). */
export function defaultLibraryPath(): string {
  return helperLibraryPath();
}

interface ErrorOut {
  code: number;
  message: string;
}

interface HostOut {
  kernel: string;
  btf: number;
  bpffs: number;
  cap_bpf: number;
  cap_perfmon: number;
  uptr: number;
  sched_ext: number;
  pin_exists: number;
  pin_ok: number;
  pin_map_id: number;
  other_maps: number;
  pin_users: number;
  other_users: number;
  pin_path: string;
  pin_problem: string;
  pin_tasks: number;
  pin_advice: string;
}

/** A bound C function: called in this thread, or on a koffi worker through `async`. */
interface Fn {
  (...args: unknown[]): number;
  async(...args: unknown[]): void;
}

interface Abi {
  abiVersion: () => number;
  open: Fn;
  close: () => void;
  list: Fn;
  snapshot: Fn;
  write: Fn;
  attach: Fn;
  detach: Fn;
  hostReport: Fn;
  objectCheck: Fn;
  objectLoad: Fn;
  progList: Fn;
  progUnload: Fn;
  readAs: Fn;
  limitLoadCaps: Fn;
  bindProcess: Fn;
  traceStart: Fn;
  traceRead: Fn;
  traceStop: () => void;
}

const MAX_FINDINGS = 64;
const MAX_PROGS = 1024;
const LOG_CAP = 16 << 20;

interface FindingOut {
  severity: number;
  code: string;
  subject: string;
  message: string;
}

interface LoadOut {
  object: string;
  failed_program: string;
  log_grown: number;
  log_len: number;
  n_ids: number;
  prog_ids: number[];
  attached: number;
}

interface ProgOut {
  id: number;
  type: number;
  name: string;
  type_name: string;
  insns: number;
  verified_insns: number;
  jited_len: number;
  nr_map_ids: number;
  map_ids: number[];
  run_cnt: number | bigint;
  run_time_ns: number | bigint;
  ours: number;
  pin: string;
}

let abi: Abi | undefined;

function bind(libraryPath: string): Abi {
  if (abi) return abi;
  if (!fs.existsSync(libraryPath)) {
    throw new TldError('EHELPER', `the helper library is missing at ${libraryPath}: run npm run build`);
  }
  const lib = loadLibrary(libraryPath);
  helperStructs();
  abi = {
    abiVersion: lib.func('int32_t tldh_abi_version(void)') as () => number,
    open: lib.func('int32_t tldh_open(const char *pin_path, _Out_ tldh_error *err)') as Fn,
    close: lib.func('void tldh_close(void)') as () => void,
    list: lib.func('int32_t tldh_list(_Out_ uint8_t *buf, size_t cap, _Out_ size_t *len, _Out_ tldh_error *err)') as Fn,
    snapshot: lib.func('int32_t tldh_snapshot(int32_t pid, _Out_ uint8_t *buf, size_t cap, _Out_ size_t *len, _Out_ tldh_error *err)') as Fn,
    write: lib.func('int32_t tldh_write(int32_t pid, int32_t tid, uint32_t offset, const uint8_t *bytes, uint32_t n, _Out_ uint8_t *buf, size_t cap, _Out_ size_t *len, _Out_ tldh_error *err)') as Fn,
    attach: lib.func('int32_t tldh_attach(int32_t pid, const char *keys, _Out_ tldh_error *err)') as Fn,
    detach: lib.func('int32_t tldh_detach(int32_t pid, _Out_ tldh_error *err)') as Fn,
    hostReport: lib.func('int32_t tldh_host_report(const char *pin_path, _Out_ tldh_host *host, _Out_ tldh_error *err)') as Fn,
    objectCheck: lib.func('int32_t tldh_object_check(const char *path, _Out_ uint8_t *out, uint32_t cap, _Out_ uint32_t *n, _Out_ tldh_error *err)') as Fn,
    objectLoad: lib.func('int32_t tldh_object_load(const char *path, const char *map_pin_path, const char *pin_root, int32_t attach, _Out_ uint8_t *log, size_t log_cap, _Out_ tldh_load_result *res, _Out_ tldh_error *err)') as Fn,
    progList: lib.func('int32_t tldh_prog_list(const char *pin_root, _Out_ uint8_t *out, uint32_t cap, _Out_ uint32_t *n, _Out_ tldh_error *err)') as Fn,
    progUnload: lib.func('int32_t tldh_prog_unload(const char *pin_root, uint32_t id, _Out_ tldh_error *err)') as Fn,
    bindProcess: lib.func('int32_t tldh_bind_process(int32_t pid, uint64_t start_time, _Out_ tldh_error *err)') as Fn,
    limitLoadCaps: lib.func('int32_t tldh_limit_load_caps(uint64_t caps, _Out_ tldh_error *err)') as Fn,
    traceStart: lib.func('int32_t tldh_trace_start(int32_t pid, _Out_ tldh_error *err)') as Fn,
    traceRead: lib.func('int32_t tldh_trace_read(_Out_ uint8_t *buf, size_t cap, _Out_ size_t *len, _Out_ uint64_t *lost, _Out_ tldh_error *err)') as Fn,
    traceStop: lib.func('void tldh_trace_stop(void)') as () => void,
    readAs: lib.func('int32_t tldh_read_as(const char *path, uint32_t uid, uint32_t gid, _Out_ uint8_t *buf, size_t cap, _Out_ size_t *len, _Out_ tldh_error *err)') as Fn,
  };
  const version = abi.abiVersion();
  if (version !== ABI_VERSION) {
    abi = undefined;
    throw new TldError('EHELPER', `the helper library speaks ABI ${version}, this client ${ABI_VERSION}: rebuild it`);
  }
  return abi;
}

/** A host report without opening the helper (works without privileges). */
export function nativeHostReport(pinPath: string, libraryPath = defaultLibraryPath()): HostReport {
  const host = {} as HostOut;
  bind(libraryPath).hostReport(pinPath, host, {} as ErrorOut);
  return hostReportOf(host);
}

function hostReportOf(host: HostOut): HostReport {
  return {
    kernel: host.kernel,
    btf: !!host.btf,
    bpffs: !!host.bpffs,
    capBpf: !!host.cap_bpf,
    capPerfmon: !!host.cap_perfmon,
    uptr: !!host.uptr,
    schedExt: !!host.sched_ext,
    pinExists: !!host.pin_exists,
    pinOk: !!host.pin_ok,
    pinMapId: host.pin_map_id,
    otherMaps: host.other_maps,
    pinUsers: host.pin_users,
    otherUsers: host.other_users,
    pinPath: host.pin_path,
    pinProblem: host.pin_problem,
    pinTasks: host.pin_tasks,
    pinAdvice: host.pin_advice,
  };
}

/** The check before loading; needs no privileges and no open helper. */
export function nativeObjectCheck(objectPath: string, libraryPath = defaultLibraryPath()): Finding[] {
  const a = bind(libraryPath);
  const buf = Buffer.alloc(MAX_FINDINGS * koffi.sizeof('tldh_finding'));
  const n = [0];
  const err = {} as ErrorOut;
  const rc = a.objectCheck(objectPath, buf, MAX_FINDINGS, n, err);
  return findingsOf(rc, buf, n, err);
}

function findingsOf(rc: number, buf: Buffer, n: number[], err: ErrorOut): Finding[] {
  if (rc < 0) throw TldError.fromErrno(rc, err.message);
  const count = Math.min(n[0] ?? 0, MAX_FINDINGS);
  const out = (count ? koffi.decode(buf, 'tldh_finding', count) : []) as FindingOut[];
  return out.map((f) => ({ severity: f.severity >= 2 ? 'error' : 'warning', code: f.code, subject: f.subject, message: f.message }));
}

/**
 * The file at @path as user @uid (group @gid, and that user's supplementary groups) reads it:
 * in a child with exactly those credentials, so the caller's path is never opened with ours.
 * Throws the error that user gets (ENOENT, EPERM for EACCES...), EINVAL for what is not a
 * regular file, EIO for one larger than @cap.
 */
export function nativeReadAs(path: string, uid: number, gid: number, cap: number, libraryPath = defaultLibraryPath()): Buffer {
  const a = bind(libraryPath);
  // Only the bytes read are returned, so the buffer need not be cleared first.
  const buf = Buffer.allocUnsafeSlow(cap);
  const len = [0];
  const err = {} as ErrorOut;
  const rc = a.readAs(path, uid, gid, buf, cap, len, err);
  if (rc < 0) throw TldError.fromErrno(rc, err.message);
  return buf.subarray(0, len[0] ?? 0);
}


/*
 * The helper library keeps one state per process (the open map, the bound process, its
 * buffers) and is not made for two threads at once: every call from here waits for the one
 * before it, whichever NativeHelper made it.
 */
let queue: Promise<unknown> = Promise.resolve();

function serial<T>(job: () => Promise<T>): Promise<T> {
  const run = queue.then(job, job);
  queue = run.catch(() => undefined);
  return run;
}

/** @fn on a koffi worker thread; resolves with its return value. */
function onWorker(fn: Fn, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    fn.async(...args, (e: unknown, rc: number) => (e ? reject(e instanceof Error ? e : new Error(String(e))) : resolve(rc)));
  });
}

/*
 * The helper library keeps one open map per process: clients in one process share it.
 * Count them, so that disposing one leaves the others working, and refuse a second pin.
 */
let openPin: string | undefined;
let openCount = 0;
/** Buffers a helper keeps for its next results: a watch holds two results at a time. */
const MAX_SPARES = 2;

export class NativeHelper implements RawHelper {
  readonly transport = 'in-process' as const;
  readonly closed = false;
  /** Output buffer size for the next call, from the last result. */
  private capacity = 1 << 20;
  /** The buffers of results not given back yet (weakly: a result nobody recycles is collected). */
  private readonly lent = new WeakMap<ArrayBufferLike, Buffer>();
  /** Buffers given back by recycle(), for the next calls. */
  private spares: Buffer[] = [];
  private readonly abi: Abi;
  private disposed = false;
  /** Whether this helper started the library's trace, which dispose() then stops. */
  private tracing = false;

  /**
   * @inThread: make the calls in this thread, blocking it, instead of on a worker. For the
   * helper host, whose event loop serves its one client in order: a hand-off to a worker and
   * back costs it time and buys nothing.
   */
  constructor(
    private readonly pinPath: string,
    libraryPath = defaultLibraryPath(),
    private readonly inThread = false,
  ) {
    this.abi = bind(libraryPath);
  }

  /** @fn with @args, on a worker unless this helper calls in its own thread. */
  private invoke(fn: Fn, ...args: unknown[]): Promise<number> {
    return this.inThread ? Promise.resolve(fn(...args)) : onWorker(fn, ...args);
  }

  /**
   * Opens the helper's iterators on first use: loading, listing and unloading
   * programs do without them, and start faster.
   */
  private opened = false;

  /**
   * Opens the iterators now, in this thread (the helper host does at its start, to refuse to
   * start without privileges, before any other call).
   */
  open(): void {
    if (this.opened) return;
    this.checkPin();
    if (openCount === 0) {
      const err = {} as ErrorOut;
      this.check(this.abi.open(this.pinPath, err), err);
    }
    this.countOpen();
  }

  /** Opens the iterators on a worker (loading them takes a while); inside a serial job. */
  private async ensureOpen(): Promise<void> {
    if (this.opened) return;
    this.checkPin();
    if (openCount === 0) {
      const err = {} as ErrorOut;
      this.check(await this.invoke(this.abi.open, this.pinPath, err), err);
    }
    this.countOpen();
  }

  private checkPin(): void {
    if (openCount > 0 && openPin !== this.pinPath) {
      throw new TldError('EALREADY', `this process already uses the map pinned at ${openPin}; one process reads one pin`);
    }
  }

  private countOpen(): void {
    openPin = this.pinPath;
    openCount++;
    this.opened = true;
  }

  /**
   * Calls @fn (on a worker) with an output buffer sized from the last result (a recycled one,
   * else a fresh one), growing it when the helper asks for more. The result is a view of that
   * buffer, not a copy.
   */
  private stream(fn: Fn, args: (buf: Buffer, len: number[], err: ErrorOut) => unknown[]): Promise<Uint8Array> {
    return serial(async () => {
      await this.ensureOpen();
      for (let attempt = 0; attempt < 3; attempt++) {
        const i = this.spares.findIndex((b) => b.length >= this.capacity);
        const buf = i >= 0 ? this.spares.splice(i, 1)[0]! : Buffer.allocUnsafe(this.capacity);
        const len = [0];
        const err = {} as ErrorOut;
        const rc = await this.invoke(fn, ...args(buf, len, err));
        const needed = len[0] ?? 0;
        if (rc === -28 /* ENOSPC */ && needed > buf.length) {
          this.capacity = Math.max(needed + (needed >> 2), buf.length * 2);
          continue;
        }
        this.check(rc, err);
        this.capacity = Math.max(64 * 1024, needed + (needed >> 2));
        this.lent.set(buf.buffer, buf);
        return new Uint8Array(buf.buffer, buf.byteOffset, needed);
      }
      throw new TldError('EHELPER', 'the helper result kept growing');
    });
  }

  /**
   * Gives back the bytes of a result of this helper once its caller is done with them (the
   * helper host once they are written, a watch once the next refresh no longer needs them):
   * a later call writes into the same buffer instead of a fresh one, whose pages the kernel
   * would fault in again (50-100 µs of a 700 µs snapshot of 1,000 threads here). Bytes of any
   * other buffer, or given back twice, are ignored; nothing read from them may be used after.
   */
  recycle(bytes: Uint8Array): void {
    const buf = this.lent.get(bytes.buffer);
    if (!buf) return;
    this.lent.delete(bytes.buffer);
    this.spares.push(buf);
    if (this.spares.length > MAX_SPARES) this.spares.shift();
  }

  /** @fn with @args on a worker after the calls before it; its errno result thrown. */
  private call(fn: Fn, args: (err: ErrorOut) => unknown[], needsOpen = true): Promise<void> {
    return serial(async () => {
      if (needsOpen) await this.ensureOpen();
      const err = {} as ErrorOut;
      this.check(await this.invoke(fn, ...args(err)), err);
    });
  }

  private check(rc: number, err: ErrorOut): void {
    if (rc < 0) throw TldError.fromErrno(rc, err.message);
  }

  list(): Promise<Uint8Array> {
    return this.stream(this.abi.list, (buf, len, err) => [buf, buf.length, len, err]);
  }

  snapshot(pid: number): Promise<Uint8Array> {
    return this.stream(this.abi.snapshot, (buf, len, err) => [pid, buf, buf.length, len, err]);
  }

  write(pid: number, tid: number, offset: number, bytes: Uint8Array): Promise<Uint8Array> {
    return this.stream(this.abi.write, (buf, len, err) => [pid, tid, offset, bytes, bytes.length, buf, buf.length, len, err]);
  }

  attach(pid: number, keys: readonly KeySpec[]): Promise<void> {
    return this.call(this.abi.attach, (err) => [pid, keys.map((k) => `${k.name}:${k.size}`).join('\n'), err]);
  }

  detach(pid: number): Promise<void> {
    return this.call(this.abi.detach, (err) => [pid, err]);
  }

  hostReport(): Promise<HostReport> {
    return serial(async () => {
      const host = {} as HostOut;
      await this.invoke(this.abi.hostReport, this.pinPath, host, {} as ErrorOut);
      return hostReportOf(host);
    });
  }

  /** Starts the library's trace of @pid's scheduling (its own programs: the map need not be open). */
  async traceStart(pid: number): Promise<void> {
    await this.call(this.abi.traceStart, (err) => [pid, err], false);
    this.tracing = true;
  }

  async traceRead(): Promise<TraceChunk> {
    const lost = [0];
    const bytes = await this.stream(this.abi.traceRead, (buf, len, err) => [buf, buf.length, len, lost, err]);
    return { bytes, lost: Number(lost[0] ?? 0) };
  }

  traceStop(): Promise<void> {
    return serial(async () => {
      this.abi.traceStop();
      this.tracing = false;
    });
  }

  objectCheck(path: string): Promise<Finding[]> {
    return serial(async () => {
      const buf = Buffer.alloc(MAX_FINDINGS * koffi.sizeof('tldh_finding'));
      const n = [0];
      const err = {} as ErrorOut;
      return findingsOf(await this.invoke(this.abi.objectCheck, path, buf, MAX_FINDINGS, n, err), buf, n, err);
    });
  }

  objectLoad(path: string, pinRoot: string, attach: boolean): Promise<LoadResult> {
    return serial(async () => {
      const log = Buffer.alloc(LOG_CAP);
      const res = {} as LoadOut;
      const err = {} as ErrorOut;
      const rc = await this.invoke(this.abi.objectLoad, path, this.pinPath, pinRoot, attach ? 1 : 0, log, log.length, res, err);
      return {
        ok: rc === 0,
        object: res.object ?? '',
        progIds: (res.prog_ids ?? []).slice(0, res.n_ids ?? 0),
        attached: res.attached ?? 0,
        failedProgram: res.failed_program ?? '',
        log: log.toString('utf8', 0, res.log_len ?? 0),
        logGrown: !!res.log_grown,
        ...(rc === 0 ? {} : { error: { code: TldError.fromErrno(rc, err.message).code, message: err.message } }),
      };
    });
  }

  progList(pinRoot: string): Promise<LoadedProgram[]> {
    return serial(async () => {
      const buf = Buffer.alloc(MAX_PROGS * koffi.sizeof('tldh_prog'));
      const n = [0];
      const err = {} as ErrorOut;
      this.check(await this.invoke(this.abi.progList, pinRoot, buf, MAX_PROGS, n, err), err);
      const count = Math.min(n[0] ?? 0, MAX_PROGS);
      const out = (count ? koffi.decode(buf, 'tldh_prog', count) : []) as ProgOut[];
      return out.map((p) => ({
        id: p.id,
        type: p.type_name,
        name: p.name,
        insns: p.insns,
        verifiedInsns: p.verified_insns,
        jitedBytes: p.jited_len,
        mapIds: p.map_ids.slice(0, p.nr_map_ids),
        runCount: Number(p.run_cnt),
        runTimeNs: Number(p.run_time_ns),
        ours: !!p.ours,
        pin: p.pin,
      }));
    });
  }

  /**
   * Snapshots and writes of @pid reach only threads of the process that has it now and
   * started at @startTime (/proc/PID/stat's clock ticks), until the next call: a process that
   * takes the pid meanwhile is skipped by the kernel side. Pid 0 releases it. ESRCH when @pid
   * names another process already.
   */
  bindProcess(pid: number, startTime: bigint): Promise<void> {
    return this.call(this.abi.bindProcess, (err) => [pid, startTime, err]);
  }

  /** Loads from now on run with only @caps (1n << CAP_* bits) effective; 0n lifts the limit. */
  limitLoadCaps(caps: bigint): void {
    const err = {} as ErrorOut;
    this.check(this.abi.limitLoadCaps(caps, err), err);
  }

  progUnload(pinRoot: string, id: number): Promise<void> {
    return this.call(this.abi.progUnload, (err) => [pinRoot, id, err], false);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    // After the calls under way: closing under a running snapshot would pull the map away.
    void serial(async () => {
      if (this.tracing) this.abi.traceStop();
      if (this.opened && --openCount === 0) {
        openPin = undefined;
        this.abi.close();
      }
    });
  }
}
