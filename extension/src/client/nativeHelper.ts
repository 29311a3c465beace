// The helper library in this process through koffi. Mirrors native/include/tldhelper.h.
import * as fs from 'node:fs';
import * as path from 'node:path';

import koffi from 'koffi';

import { TldError } from './errors';
import { HostReport, KeySpec, RawHelper } from './protocol';

export const ABI_VERSION = 1;
const MESSAGE_LEN = 512;

/** Where the built library is: beside the repository's native build, or $TLD_HELPER_LIB. */
export function defaultLibraryPath(): string {
  if (process.env.TLD_HELPER_LIB) return process.env.TLD_HELPER_LIB;
  // out/extension/src/client -> repository root
  return path.resolve(__dirname, '..', '..', '..', '..', 'native', 'build', 'libtldhelper.so');
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
}

type Fn = (...args: unknown[]) => number;

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
}

let abi: Abi | undefined;

function bind(libraryPath: string): Abi {
  if (abi) return abi;
  if (!fs.existsSync(libraryPath)) {
    throw new TldError('EHELPER', `the helper library is missing at ${libraryPath}: run npm run build`);
  }
  const lib = koffi.load(libraryPath);
  koffi.struct('tldh_error', { code: 'int32_t', message: koffi.array('char', MESSAGE_LEN, 'String') });
  koffi.struct('tldh_host', {
    kernel: koffi.array('char', 64, 'String'),
    btf: 'int32_t',
    bpffs: 'int32_t',
    cap_bpf: 'int32_t',
    cap_perfmon: 'int32_t',
    uptr: 'int32_t',
    sched_ext: 'int32_t',
    pin_exists: 'int32_t',
    pin_ok: 'int32_t',
    pin_map_id: 'uint32_t',
    other_maps: 'uint32_t',
    pin_users: 'uint32_t',
    other_users: 'uint32_t',
    pin_path: koffi.array('char', 256, 'String'),
    pin_problem: koffi.array('char', 256, 'String'),
  });
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
  const a = bind(libraryPath);
  const host = {} as HostOut;
  const err = {} as ErrorOut;
  a.hostReport(pinPath, host, err);
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
  };
}

export class NativeHelper implements RawHelper {
  readonly transport = 'in-process' as const;
  /** Output buffer size for the next call, from the last result. */
  private capacity = 1 << 20;
  private readonly abi: Abi;

  constructor(
    private readonly pinPath: string,
    libraryPath = defaultLibraryPath(),
  ) {
    this.abi = bind(libraryPath);
    const err = {} as ErrorOut;
    const rc = this.abi.open(pinPath, err);
    if (rc < 0) throw TldError.fromErrno(rc, err.message);
  }

  /**
   * Calls @fn with a fresh output buffer sized from the last result, growing it
   * when the helper asks for more. The result is a view of that buffer, not a copy.
   */
  private stream(fn: (buf: Buffer, len: number[], err: ErrorOut) => number): Uint8Array {
    for (let attempt = 0; attempt < 3; attempt++) {
      const buf = Buffer.allocUnsafe(this.capacity);
      const len = [0];
      const err = {} as ErrorOut;
      const rc = fn(buf, len, err);
      const needed = len[0] ?? 0;
      if (rc === -28 /* ENOSPC */ && needed > buf.length) {
        this.capacity = Math.max(needed + (needed >> 2), buf.length * 2);
        continue;
      }
      if (rc < 0) throw TldError.fromErrno(rc, err.message);
      this.capacity = Math.max(64 * 1024, needed + (needed >> 2));
      return new Uint8Array(buf.buffer, buf.byteOffset, needed);
    }
    throw new TldError('EHELPER', 'the helper result kept growing');
  }

  private check(rc: number, err: ErrorOut): void {
    if (rc < 0) throw TldError.fromErrno(rc, err.message);
  }

  async list(): Promise<Uint8Array> {
    return this.listSync();
  }

  listSync(): Uint8Array {
    return this.stream((buf, len, err) => this.abi.list(buf, buf.length, len, err));
  }

  async snapshot(pid: number): Promise<Uint8Array> {
    return this.snapshotSync(pid);
  }

  /** The synchronous call, for the benchmark and the host. */
  snapshotSync(pid: number): Uint8Array {
    return this.stream((buf, len, err) => this.abi.snapshot(pid, buf, buf.length, len, err));
  }

  async write(pid: number, tid: number, offset: number, bytes: Uint8Array): Promise<Uint8Array> {
    return this.stream((buf, len, err) =>
      this.abi.write(pid, tid, offset, bytes, bytes.length, buf, buf.length, len, err),
    );
  }

  async attach(pid: number, keys: readonly KeySpec[]): Promise<void> {
    const err = {} as ErrorOut;
    this.check(this.abi.attach(pid, keys.map((k) => `${k.name}:${k.size}`).join('\n'), err), err);
  }

  async detach(pid: number): Promise<void> {
    const err = {} as ErrorOut;
    this.check(this.abi.detach(pid, err), err);
  }

  async hostReport(): Promise<HostReport> {
    return nativeHostReport(this.pinPath);
  }

  dispose(): void {
    this.abi.close();
  }
}
