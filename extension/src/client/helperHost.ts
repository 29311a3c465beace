// The privileged helper host: loads the same helper library and answers request frames on
// stdin (protocol.ts) for its caller, within what hostPolicy.ts lets that caller touch.
// Started by HostHelper through sudo or pkexec; ends with its stdin.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TldError } from './errors';
import { establishSharedPin, isInstalledHost } from './helperInstall';
import { HOST_CONFIG_PATH, parseHostArgs, readHostConfig } from './hostConfig';
import { CALLER_CAPS, Caller, callerOf, checkPinRoot, checkProcess, isRoot, isThreadOf, verifyProcess } from './hostPolicy';
import { ABI_VERSION, NativeHelper, nativeReadAs } from './nativeHelper';
import { defaultPinPath, helperLibraryPath, programPinRoot } from './paths';
import {
  Finding,
  FrameReader,
  HostHello,
  HostReply,
  HostRequest,
  LoadResult,
  LoadedProgram,
  PROTOCOL_VERSION,
  REQUEST_LIMITS,
  encodeReply,
  parseClientHello,
  parseHostRequest,
  protocolMismatch,
  requestIdOf,
} from './protocol';
import { REC_HEADER, REC_THREAD, THREAD_TGID } from './records';
import { parseSnapshot } from './snapshot';
import { growSendBuffer } from './socketBuffer';

/** What the host serves by: decided once at start, from its caller. */
interface Setup {
  readonly caller: Caller;
  readonly pinPath: string;
  readonly programPinRoot: string;
  readonly libraryPath: string;
}

/** The largest BPF object the host reads for a caller. */
const OBJECT_MAX = 64 << 20;
/** The send buffer asked for the host's replies (the kernel's limit for an ordinary process is lower). */
const REPLY_BUFFER = 4 << 20;

/**
 * Writes one frame, its header and payload in one system call (corked: the client wakes once).
 * A payload larger than the socket's buffer stays queued until the client reads: @written is
 * called once all of it has been handed to the kernel, and only then may its bytes change.
 */
function send(msg: HostReply | HostHello, written?: () => void): void {
  const chunks = encodeReply(msg);
  process.stdout.cork();
  chunks.forEach((chunk, i) => process.stdout.write(chunk, i === chunks.length - 1 ? written : undefined));
  process.stdout.uncork();
}

function errorOf(e: unknown): { code: string; message: string } {
  return e instanceof TldError ? { code: e.code, message: e.message } : { code: 'EHELPER', message: String(e) };
}

/**
 * Options (`--pin PATH`, `--lib PATH`) from root only: any other caller gets the configured
 * pin and program pin root (root-owned, readHostConfig) and the helper library beside this
 * file, so that nothing it names is loaded or opened as root. A caller who passes options
 * anyway is refused rather than served something else than they asked for.
 */
function setupOf(argv: readonly string[], env: NodeJS.ProcessEnv): Setup {
  const caller = callerOf(env);
  const own = helperLibraryPath({});
  // The installed host (INSTALL_DIR) serves its configuration to everyone, root too.
  const installed = isInstalledHost();
  if (isRoot(caller) && !installed) {
    const opts = parseHostArgs(argv);
    return {
      caller,
      pinPath: opts.pin ?? defaultPinPath(env),
      programPinRoot: programPinRoot(env),
      libraryPath: opts.lib ?? helperLibraryPath(env),
    };
  }
  if (argv.length > 0) {
    const from = isRoot(caller) ? 'when installed' : `from user ${caller.uid}`;
    throw new TldError('EPERM', `the helper host takes no options ${from} (${argv.join(' ').slice(0, 200)}): it serves the pin configured by root`);
  }
  // What root reads or loads for a user is root's alone: no one else may have changed it.
  rootsOnly(HOST_CONFIG_PATH);
  rootsOnly(own);
  const config = readHostConfig();
  return { caller, pinPath: config.pinPath, programPinRoot: config.programPinRoot, libraryPath: own };
}

/** EPERM unless @file (when it exists) and its folder are root's and writable by root alone. */
function rootsOnly(file: string): void {
  for (const p of [file, path.dirname(file)]) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      continue; // a missing configuration means the defaults; a missing library fails to load
    }
    if (st.uid !== 0 || (st.mode & 0o022) !== 0) {
      throw new TldError('EPERM', `${p} is not root's alone (owner ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}): the helper host will not use it`);
    }
  }
}

/** @bytes with only the records of processes @keep accepts (a list stream: THREAD records). */
function filterList(bytes: Uint8Array, keep: (tgid: number) => boolean): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: Uint8Array[] = [];
  for (let off = 0; off + REC_HEADER <= bytes.length; ) {
    const size = view.getUint32(off + 4, true);
    const end = Math.min(bytes.length, off + REC_HEADER + size);
    if (view.getUint32(off, true) === REC_THREAD && keep(view.getUint32(off + REC_HEADER + THREAD_TGID, true))) {
      parts.push(bytes.subarray(off, end));
    }
    off = end;
  }
  return Buffer.concat(parts);
}

/** @text with the private copy's path replaced by the caller's file. */
const named = (text: string, copy: string, file: string) => text.split(copy).join(file);

/**
 * A caller's object file, read with the caller's rights into a root-private folder under
 * the same name (the name is the object's): @fn gets that copy's path.
 */
async function withCallersFile<T>(caller: Caller, file: string, fn: (copy: string) => Promise<T>): Promise<T> {
  if (!path.isAbsolute(file)) throw new TldError('EINVAL', `${file} is not an absolute path`);
  const bytes = nativeReadAs(file, caller.uid, caller.gid, OBJECT_MAX);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-host-'));
  try {
    const copy = path.join(dir, path.basename(file));
    fs.writeFileSync(copy, bytes, { mode: 0o600, flag: 'wx' });
    try {
      return await fn(copy);
    } catch (e) {
      throw e instanceof TldError ? new TldError(e.code, named(e.message, copy, file)) : e;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

class HostServer {
  constructor(
    private readonly helper: NativeHelper,
    private readonly setup: Setup,
  ) {}

  private get caller(): Caller {
    return this.setup.caller;
  }

  /** Runs @fn on @pid when the caller may inspect it, and checks it is still the same process after. */
  private async onProcess<T>(pid: number, fn: () => Promise<T> | T): Promise<T> {
    const checked = checkProcess(this.caller, pid);
    // Snapshots and writes reach the process checked and no other, even if its pid is reused.
    await this.helper.bindProcess(pid, BigInt(checked.startTime));
    try {
      const out = await fn();
      verifyProcess(this.caller, checked);
      return out;
    } finally {
      await this.helper.bindProcess(0, 0n);
    }
  }

  /** Whether the caller may inspect a process, remembered per process for one list. */
  private mayInspect(): (tgid: number) => boolean {
    const seen = new Map<number, boolean>();
    return (tgid) => {
      let ok = seen.get(tgid);
      if (ok === undefined) {
        try {
          checkProcess(this.caller, tgid);
          ok = true;
        } catch {
          ok = false;
        }
        seen.set(tgid, ok);
      }
      return ok;
    };
  }

  /** The write only when it lies inside one key's bytes, as a fresh snapshot's metadata says. */
  private async write(pid: number, tid: number, offset: number, bytes: Uint8Array): Promise<Uint8Array> {
    if (tid !== 0 && !isThreadOf(pid, tid)) throw new TldError('ESRCH', `process ${pid} has no thread ${tid}`);
    if (isRoot(this.caller)) return this.helper.write(pid, tid, offset, bytes);
    return this.onProcess(pid, async () => {
      const snap = parseSnapshot(pid, await this.helper.snapshot(pid));
      const key = snap.keys.find((k) => offset >= k.offset && bytes.length > 0 && offset + bytes.length <= k.offset + k.size);
      if (!key) {
        const keys = snap.keys.map((k) => `${JSON.stringify(k.name)} at ${k.offset}..${k.offset + k.size}`).join(', ') || 'none';
        throw new TldError('EINVAL', `${bytes.length} bytes at offset ${offset} are not inside one key of process ${pid} (its keys: ${keys})`);
      }
      return this.helper.write(pid, tid, offset, bytes);
    });
  }

  private async objectCheck(file: string): Promise<Finding[]> {
    if (isRoot(this.caller)) return this.helper.objectCheck(file);
    return withCallersFile(this.caller, file, async (copy) =>
      (await this.helper.objectCheck(copy)).map((f) => ({ ...f, message: named(f.message, copy, file) })),
    );
  }

  private async objectLoad(file: string, pinRoot: string, attach: boolean): Promise<LoadResult> {
    const root = checkPinRoot(this.caller, pinRoot, this.setup.programPinRoot);
    if (isRoot(this.caller)) return this.helper.objectLoad(file, root, attach);
    return withCallersFile(this.caller, file, async (copy) => {
      const r = await this.helper.objectLoad(copy, root, attach);
      if (r.error) return { ...r, error: { ...r.error, message: named(r.error.message, copy, file) } };
      // The object's folder is its loader's: `ls -l` says who, and unload lets only them (and root).
      fs.lchownSync(path.join(root, r.object), this.caller.uid, this.caller.gid);
      return r;
    });
  }

  /** Unloads program @id when the caller loaded it (its object's folder is theirs), or is root. */
  /**
   * Root sees every loaded program. An ordinary caller sees only the objects they loaded: the
   * kernel lists programs to CAP_SYS_ADMIN alone, and other programs' names, maps and run
   * counts are not theirs to read.
   */
  private async progList(pinRoot: string): Promise<LoadedProgram[]> {
    const all = await this.helper.progList(checkPinRoot(this.caller, pinRoot, this.setup.programPinRoot));
    if (isRoot(this.caller)) return all;
    const ownerOf = (folder: string): number | undefined => {
      try {
        return fs.lstatSync(folder).uid;
      } catch {
        return undefined; // unloaded meanwhile
      }
    };
    return all.filter((p) => p.ours && ownerOf(path.dirname(p.pin)) === this.caller.uid);
  }

  private async progUnload(pinRoot: string, id: number): Promise<void> {
    const root = checkPinRoot(this.caller, pinRoot, this.setup.programPinRoot);
    if (!isRoot(this.caller)) {
      const prog = (await this.helper.progList(root)).find((p) => p.id === id && p.ours);
      const owner = prog ? fs.lstatSync(path.dirname(prog.pin)).uid : undefined;
      if (owner !== undefined && owner !== this.caller.uid) {
        throw new TldError('EPERM', `program ${id} was loaded by user ${owner}: only they or root may unload it`);
      }
    }
    await this.helper.progUnload(root, id);
  }

  async answer(req: HostRequest): Promise<HostReply> {
    const helper = this.helper;
    const root = isRoot(this.caller);
    try {
      switch (req.method) {
        case 'list': {
          const all = await helper.list();
          return { id: req.id, ok: true, result: { bytes: root ? all : filterList(all, this.mayInspect()) } };
        }
        case 'snapshot':
          return { id: req.id, ok: true, result: { bytes: await this.onProcess(req.pid, () => helper.snapshot(req.pid)) } };
        case 'write': {
          return { id: req.id, ok: true, result: { bytes: await this.write(req.pid, req.tid, req.offset, req.bytes) } };
        }
        case 'attach':
          await this.onProcess(req.pid, () => helper.attach(req.pid, req.keys));
          return { id: req.id, ok: true, result: {} };
        case 'detach':
          await this.onProcess(req.pid, () => helper.detach(req.pid));
          return { id: req.id, ok: true, result: {} };
        case 'hostReport':
          return { id: req.id, ok: true, result: await helper.hostReport() };
        case 'objectCheck':
          return { id: req.id, ok: true, result: { findings: await this.objectCheck(req.path) } };
        case 'objectLoad':
          return { id: req.id, ok: true, result: await this.objectLoad(req.path, req.pinRoot, req.attach) };
        case 'progList':
          return { id: req.id, ok: true, result: { programs: await this.progList(req.pinRoot) } };
        case 'progUnload':
          await this.progUnload(req.pinRoot, req.progId);
          return { id: req.id, ok: true, result: {} };
        case 'traceStart':
          // Only a process the caller may inspect: its scheduling is as private as its hints.
          await this.onProcess(req.pid, () => helper.traceStart(req.pid));
          return { id: req.id, ok: true, result: {} };
        case 'traceRead': {
          const chunk = await helper.traceRead();
          return { id: req.id, ok: true, result: { bytes: chunk.bytes, lost: chunk.lost } };
        }
        case 'traceStop':
          await helper.traceStop();
          return { id: req.id, ok: true, result: {} };
        default: {
          const never: never = req;
          throw new TldError('EINVAL', `unknown request ${JSON.stringify(never)}`);
        }
      }
    } catch (e) {
      return { id: req.id, ok: false, error: errorOf(e) };
    }
  }
}

function main(): void {
  let server: HostServer;
  let helper: NativeHelper;
  try {
    const setup = setupOf(process.argv.slice(2), process.env);
    // Blocking calls: this process serves one client, one request at a time.
    helper = new NativeHelper(setup.pinPath, setup.libraryPath, true);
    // The installed host sets the shared pin folder up (group, modes) around opening the map.
    establishSharedPin({ pinPath: setup.pinPath, programPinRoot: setup.programPinRoot }, () => helper.open());
    // An ordinary user's objects load with what the host gives that user, nothing more.
    if (!isRoot(setup.caller)) helper.limitLoadCaps(CALLER_CAPS);
    server = new HostServer(helper, setup);
  } catch (e) {
    send({ hello: 'tld-helper-host', abi: ABI_VERSION, protocol: PROTOCOL_VERSION, error: errorOf(e) });
    process.exitCode = 1;
    return;
  }
  // Its replies go out in one write each, up to this size: a 1,000-thread snapshot (330 KB) no
  // longer waits, part written, for the client to read (the socket holds 208 KB by default).
  growSendBuffer(1, REPLY_BUFFER);
  send({ hello: 'tld-helper-host', abi: ABI_VERSION, protocol: PROTOCOL_VERSION });
  let queue = Promise.resolve();
  let greeted = false;
  let stopped = false;
  const stop = (why: string) => {
    if (stopped) return;
    stopped = true;
    process.stderr.write(`tld-helper-host: ${why}\n`);
    process.exitCode = 1;
    process.stdin.destroy();
    void queue.then(() => helper.dispose());
  };
  const frames = new FrameReader(
    REQUEST_LIMITS,
    (frame) => {
      if (stopped) return;
      if (!greeted) {
        // The client's hello comes first. An older client starts with a request instead: its
        // answer is an error line it can read, and nothing after it is served.
        const hello = parseClientHello(frame);
        if (hello?.protocol === PROTOCOL_VERSION) {
          greeted = true;
          return;
        }
        const message = protocolMismatch(PROTOCOL_VERSION, hello?.protocol, 'update the one that is older');
        const id = requestIdOf(frame);
        if (id !== undefined) send({ id, ok: false, error: { code: 'EHELPER', message } });
        stop(message);
        return;
      }
      const req = parseHostRequest(frame);
      if (!req) {
        // Answered when it has an id, so the client is not left waiting; never acted on.
        const id = requestIdOf(frame);
        if (id !== undefined) {
          queue = queue.then(() => send({ id, ok: false, error: { code: 'EINVAL', message: 'malformed request, or an id, pid or value out of range' } }));
        } else {
          process.stderr.write(`tld-helper-host: dropped a malformed request: ${JSON.stringify(frame.text.slice(0, 200))}\n`);
        }
        return;
      }
      queue = queue.then(async () => {
        const reply = await server.answer(req);
        // Once written, a result's buffer serves the next request (a fresh one until then).
        const bytes = reply.ok && 'bytes' in reply.result ? reply.result.bytes : undefined;
        send(reply, bytes && (() => helper.recycle(bytes)));
      });
    },
    (e) => stop(e.message),
    'the client',
  );
  process.stdin.on('data', (chunk: Buffer) => frames.push(chunk));
  process.stdin.on('end', () => {
    frames.end();
    if (!stopped) void queue.then(() => helper.dispose());
  });
}

main();
