// The helper in a privileged child process (the helper host), spoken to in frames (protocol.ts).
// Used where this process lacks CAP_BPF: VS Code normally runs as an ordinary user.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';

import { TldError, TldErrorCode } from './errors';
import { ABI_VERSION } from './protocol';
import { HOST_COMMAND, HOST_CONFIG_PATH, readHostConfig } from './hostConfig';
import { PRIVILEGE_HELP } from './privileges';
import {
  CLIENT_HELLO,
  FrameReader,
  HostHello,
  HostMethod,
  HostReply,
  HostReport,
  HostRequest,
  HostResults,
  Finding,
  KeySpec,
  LoadResult,
  LoadedProgram,
  PROTOCOL_VERSION,
  REPLY_LIMITS,
  RawHelper,
  encodeFrame,
  encodeRequest,
  parseHostReply,
  protocolMismatch,
  TraceChunk,
} from './protocol';

/** The privilege boundary the host is started through: `sudo -n`, `pkexec`, or nothing (root). */
export type Launcher = readonly string[];

/**
 * The boundary for this process: none as root; for the installed host sudo -n (its sudoers rule
 * needs no password, no polkit agent and no session), pkexec when sudo is absent; otherwise
 * pkexec on a desktop and sudo -n elsewhere.
 */
export function defaultLauncher(env: NodeJS.ProcessEnv = process.env, installed = false): Launcher {
  if (process.geteuid?.() === 0) return [];
  if (installed) return fs.existsSync('/usr/bin/sudo') ? ['sudo', '-n'] : ['/usr/bin/pkexec'];
  const desktop = !!(env.DISPLAY || env.WAYLAND_DISPLAY);
  if (desktop && fs.existsSync('/usr/bin/pkexec')) return ['/usr/bin/pkexec'];
  return ['sudo', '-n'];
}

const hostScript = path.join(__dirname, 'helperHost.js');
const START_TIMEOUT_MS = 15_000;

/** What decides how the host is started; process-wide facts passed in so that it can be tested. */
export interface LaunchContext {
  /** process.execPath: Node, or Electron in desktop VS Code. */
  readonly execPath: string;
  /** process.versions: has `electron` under Electron. */
  readonly versions: NodeJS.ProcessVersions;
  readonly env: NodeJS.ProcessEnv;
  /** Whether HOST_COMMAND is installed (tldctl helper install). */
  readonly installed: boolean;
  /** The host script of the development path. */
  readonly hostScript: string;
}

export interface HostLaunch {
  readonly argv: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** Whether it is the installed host (which serves only its configured pin). */
  readonly installed: boolean;
}

/**
 * How to start the host through @launcher. The installed host is its own command, with its own
 * Node and no arguments. The development path runs this process's executable on the host
 * script; under Electron that needs ELECTRON_RUN_AS_NODE=1, which sudo and pkexec drop, so it
 * is set after the privilege boundary with env(1).
 */
export function planHostLaunch(pinPath: string, launcher: Launcher, ctx: LaunchContext, libraryPath?: string): HostLaunch {
  if (ctx.installed) return { argv: [...launcher, HOST_COMMAND], env: ctx.env, installed: true };
  const electron = ctx.versions.electron !== undefined;
  const node = electron ? ['/usr/bin/env', 'ELECTRON_RUN_AS_NODE=1', ctx.execPath] : [ctx.execPath];
  const argv = [...launcher, ...node, ctx.hostScript, '--pin', pinPath, ...(libraryPath ? ['--lib', libraryPath] : [])];
  const env: NodeJS.ProcessEnv = electron ? { ...ctx.env, ELECTRON_RUN_AS_NODE: '1' } : { ...ctx.env };
  // Without a boundary the host is this process's own child: a SUDO_UID left in a root shell
  // reached through sudo would make it serve that user instead of the root that started it.
  if (launcher.length === 0) for (const v of ['SUDO_UID', 'SUDO_GID', 'SUDO_USER', 'PKEXEC_UID']) delete env[v];
  return { argv, env, installed: false };
}

/** Whether `tldctl helper install` put the host in place. */
export function hostInstalled(): boolean {
  try {
    fs.accessSync(HOST_COMMAND, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

type Params<M extends HostMethod> = Omit<Extract<HostRequest, { method: M }>, 'id' | 'method'>;

/** The two ends of a host's line stream, and how to end it: a child's stdio, or a socket. */
interface HostChannel {
  readonly input: Readable;
  readonly output: Writable;
  end(): void;
}

export class HostHelper implements RawHelper {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited: TldError | undefined;

  private constructor(
    private readonly channel: HostChannel,
    readonly transport: 'host' | 'guest',
    /** What to do when the host speaks another protocol version. */
    private readonly upgrade: string,
  ) {}

  /**
   * Starts the host. With no @launcher given: the installed host when there is one (through
   * sudo -n or pkexec unless root), else the development path through defaultLauncher().
   * An explicit @launcher always takes the development path (tests, and a sudoers rule of the
   * user's own).
   */
  static async start(pinPath: string, launcher?: Launcher, libraryPath?: string): Promise<HostHelper> {
    const installed = launcher === undefined && hostInstalled();
    const boundary = launcher ?? defaultLauncher(process.env, installed);
    if (installed) {
      const served = readHostConfig().pinPath;
      if (served !== pinPath) {
        throw new TldError(
          'EINVAL',
          `the installed helper host serves only the pin configured in ${HOST_CONFIG_PATH}, ${served}, not ${pinPath}: ` +
            `use --pin ${served} (or the setting tldStudio.pinPath), or reinstall with sudo tldctl helper install --user $USER --pin-dir ${path.dirname(pinPath)}`,
        );
      }
    }
    const plan = planHostLaunch(pinPath, boundary, { execPath: process.execPath, versions: process.versions, env: process.env, installed, hostScript }, libraryPath);
    const [cmd, ...rest] = plan.argv as [string, ...string[]];
    const child = spawn(cmd, rest, { stdio: ['pipe', 'pipe', 'pipe'], env: plan.env });
    const launcherUsed = installed ? [...boundary, HOST_COMMAND] : boundary;
    const upgrade = installed ? 'reinstall the host: sudo tldctl helper install --user $USER' : 'rebuild: npm run build';
    const host = new HostHelper({ input: child.stdout!, output: child.stdin!, end: () => child.stdin?.end() }, 'host', upgrade);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    // A host that has stopped reading (sudo that refused, a host that exited) fails the next
    // write with EPIPE; its exit follows and says why, with its stderr, so the write's error
    // only must not go unhandled.
    child.stdin?.on('error', () => undefined);
    await host.handshake((finish) => {
      child.on('error', (e: NodeJS.ErrnoException) =>
        finish(new TldError('EPERM', e.code === 'ENOENT' ? `${launcherUsed[0]} is not installed; ${PRIVILEGE_HELP}` : `${PRIVILEGE_HELP} (${e.message})`)),
      );
      child.on('exit', (code) => {
        const e = /Error getting authority/.test(stderr)
          ? new TldError('EPERM', `${launcherUsed.join(' ')}: polkit is not running or not reachable (${stderr.trim().split('\n')[0] ?? ''}); ${PRIVILEGE_HELP}`)
          : /password|not allowed|not in the sudoers|authentication|dismissed/i.test(stderr)
          ? new TldError('EPERM', `${PRIVILEGE_HELP} (${launcherUsed.join(' ')}: ${stderr.trim().split('\n')[0] ?? ''})`)
          : new TldError('EHELPER', `the helper host exited (${code}): ${stderr.trim()}`);
        host.ended(e);
        finish(e);
      });
    }, () => child.kill(), 'the helper host did not start in time');
    return host;
  }

  /**
   * Connects to a helper host that speaks the same protocol over a Unix socket: the one a
   * running VM's guest serves through its relay (vm/guestRelay.ts). @what names it in errors.
   */
  static async connect(socketPath: string, what: string): Promise<HostHelper> {
    const sock = net.connect(socketPath);
    const host = new HostHelper({ input: sock, output: sock, end: () => sock.end() }, 'guest', 'restart the VM with this TLD Studio');
    await host.handshake((finish) => {
      sock.on('error', (e: NodeJS.ErrnoException) => {
        const err = new TldError(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'ESRCH' : 'EHELPER', `${what} is not reachable (${e.code ?? e.message}): is its vm run still running?`);
        host.ended(err);
        finish(err);
      });
      sock.on('close', () => {
        const err = new TldError('ESRCH', `${what} went away (its vm run ended)`);
        host.ended(err);
        finish(err);
      });
    }, () => sock.destroy(), `${what} did not answer in time`);
    return host;
  }

  get closed(): boolean {
    return this.exited !== undefined;
  }

  /** Fails every request in flight and every later one with @e. */
  private ended(e: TldError): void {
    this.exited ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Waits for the host's hello; @watch reports the channel's failures through finish. */
  private handshake(watch: (finish: (e?: Error) => void) => void, kill: () => void, late: string): Promise<void> {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (e?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (e) {
          kill();
          reject(e);
        } else resolve();
      };
      const timer = setTimeout(() => finish(new TldError('EHELPER', late)), START_TIMEOUT_MS);
      watch(finish);
      const frames = new FrameReader(
        REPLY_LIMITS,
        (frame) => {
          const msg = parseHostReply(frame);
          if (!msg) return; // a malformed frame is dropped, never acted on
          if ('hello' in msg) {
            const hello: HostHello = msg;
            if (hello.error) finish(new TldError(hello.error.code as TldErrorCode, hello.error.message));
            else if (hello.protocol !== PROTOCOL_VERSION) finish(new TldError('EHELPER', protocolMismatch(hello.protocol, PROTOCOL_VERSION, this.upgrade)));
            else if (hello.abi !== ABI_VERSION) finish(new TldError('EHELPER', `the helper host speaks ABI ${hello.abi}, this client ${ABI_VERSION}`));
            else finish();
            return;
          }
          this.settle(msg);
        },
        (e) => {
          // Where the next frame starts is unknown: nothing more can be read from this host.
          this.ended(e);
          finish(e);
          this.channel.end();
        },
        this.transport === 'guest' ? "the guest's helper host" : 'the helper host',
      );
      // A stream that ends inside a frame is the host's exit or the socket's close, which
      // watch reports with more to say (the host's stderr), so end() is not called.
      this.channel.input.on('data', (chunk: Buffer) => frames.push(chunk));
      this.send(encodeFrame(CLIENT_HELLO));
    });
  }

  /** Writes one frame's chunks, in one system call (corked). */
  private send(chunks: readonly Uint8Array[]): void {
    this.channel.output.cork();
    for (const c of chunks) this.channel.output.write(c);
    this.channel.output.uncork();
  }

  private settle(reply: HostReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new TldError(reply.error.code as TldErrorCode, reply.error.message));
  }

  private call<M extends HostMethod>(method: M, params: Params<M>): Promise<HostResults[M]> {
    if (this.exited) return Promise.reject(this.exited);
    const id = this.nextId++;
    const req = { id, method, ...params } as HostRequest;
    return new Promise<HostResults[M]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.send(encodeRequest(req));
    });
  }

  /** A result's bytes: its frame's payload, which a byte result must have. */
  private static bytes(r: { readonly bytes: Uint8Array }): Uint8Array {
    if (!(r.bytes instanceof Uint8Array)) throw new TldError('EHELPER', 'the helper host answered without the bytes of its result');
    return r.bytes;
  }

  async list(): Promise<Uint8Array> {
    return HostHelper.bytes(await this.call('list', {}));
  }

  async snapshot(pid: number): Promise<Uint8Array> {
    return HostHelper.bytes(await this.call('snapshot', { pid }));
  }

  async write(pid: number, tid: number, offset: number, bytes: Uint8Array): Promise<Uint8Array> {
    return HostHelper.bytes(await this.call('write', { pid, tid, offset, bytes }));
  }

  async attach(pid: number, keys: readonly KeySpec[]): Promise<void> {
    await this.call('attach', { pid, keys });
  }

  async detach(pid: number): Promise<void> {
    await this.call('detach', { pid });
  }

  hostReport(): Promise<HostReport> {
    return this.call('hostReport', {});
  }

  async objectCheck(path: string): Promise<Finding[]> {
    return (await this.call('objectCheck', { path })).findings;
  }

  objectLoad(path: string, pinRoot: string, attach: boolean): Promise<LoadResult> {
    return this.call('objectLoad', { path, pinRoot, attach });
  }

  async progList(pinRoot: string): Promise<LoadedProgram[]> {
    return (await this.call('progList', { pinRoot })).programs;
  }

  async progUnload(pinRoot: string, progId: number): Promise<void> {
    await this.call('progUnload', { pinRoot, progId });
  }

  async traceStart(pid: number): Promise<void> {
    await this.call('traceStart', { pid });
  }

  async traceRead(): Promise<TraceChunk> {
    const r = await this.call('traceRead', {});
    return { bytes: HostHelper.bytes(r), lost: r.lost };
  }

  async traceStop(): Promise<void> {
    await this.call('traceStop', {});
  }

  dispose(): void {
    // Closing stdin ends the host, which detaches what it attached; a dead host is fine.
    // A guest's host stays: only this connection to its relay ends.
    this.channel.end();
  }
}
