// The helper in a privileged child process (the helper host), spoken to in JSON lines.
// Used where this process lacks CAP_BPF: VS Code normally runs as an ordinary user.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';

import { TldError, TldErrorCode } from './errors';
import { ABI_VERSION } from './nativeHelper';
import { PRIVILEGE_HELP } from './privileges';
import {
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
  RawHelper,
  parseHostReply,
} from './protocol';

/** How to start the host: a command that runs `node helperHost.js ARGS` with privilege. */
export type Launcher = readonly string[];

export function defaultLauncher(env: NodeJS.ProcessEnv = process.env): Launcher {
  if (process.geteuid?.() === 0) return [];
  const desktop = !!(env.DISPLAY || env.WAYLAND_DISPLAY);
  if (desktop && fs.existsSync('/usr/bin/pkexec')) return ['/usr/bin/pkexec'];
  return ['sudo', '-n'];
}

const hostScript = path.join(__dirname, 'helperHost.js');
const START_TIMEOUT_MS = 15_000;

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

type Params<M extends HostMethod> = Omit<Extract<HostRequest, { method: M }>, 'id' | 'method'>;

export class HostHelper implements RawHelper {
  readonly transport = 'host' as const;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited: TldError | undefined;

  private constructor(private readonly child: ChildProcess) {}

  static async start(pinPath: string, launcher: Launcher = defaultLauncher(), libraryPath?: string): Promise<HostHelper> {
    const args = [...launcher, process.execPath, hostScript, '--pin', pinPath];
    if (libraryPath) args.push('--lib', libraryPath);
    const [cmd, ...rest] = args as [string, ...string[]];
    const child = spawn(cmd, rest, { stdio: ['pipe', 'pipe', 'pipe'] });
    const host = new HostHelper(child);
    await host.handshake(launcher);
    return host;
  }

  private handshake(launcher: Launcher): Promise<void> {
    return new Promise((resolve, reject) => {
      let stderr = '';
      let done = false;
      const finish = (e?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (e) {
          this.child.kill();
          reject(e);
        } else resolve();
      };
      const timer = setTimeout(() => finish(new TldError('EHELPER', 'the helper host did not start in time')), START_TIMEOUT_MS);
      this.child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      this.child.on('error', (e: NodeJS.ErrnoException) =>
        finish(new TldError('EPERM', e.code === 'ENOENT' ? `${launcher[0]} is not installed; ${PRIVILEGE_HELP}` : `${PRIVILEGE_HELP} (${e.message})`)),
      );
      this.child.on('exit', (code) => {
        const e = /password|not allowed|not in the sudoers|authentication|dismissed/i.test(stderr)
          ? new TldError('EPERM', `${PRIVILEGE_HELP} (${launcher.join(' ')}: ${stderr.trim().split('\n')[0] ?? ''})`)
          : new TldError('EHELPER', `the helper host exited (${code}): ${stderr.trim()}`);
        this.exited = e;
        finish(e);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
      const lines = readline.createInterface({ input: this.child.stdout! });
      lines.on('line', (line) => {
        const msg = parseHostReply(line);
        if (!msg) return; // a malformed line is dropped, never acted on
        if ('hello' in msg) {
          const hello: HostHello = msg;
          if (hello.error) finish(new TldError(hello.error.code as TldErrorCode, hello.error.message));
          else if (hello.abi !== ABI_VERSION) finish(new TldError('EHELPER', `the helper host speaks ABI ${hello.abi}, this client ${ABI_VERSION}`));
          else finish();
          return;
        }
        this.settle(msg);
      });
    });
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
      this.child.stdin!.write(JSON.stringify(req) + '\n');
    });
  }

  private static bytes(b64: string): Uint8Array {
    return new Uint8Array(Buffer.from(b64, 'base64'));
  }

  async list(): Promise<Uint8Array> {
    return HostHelper.bytes((await this.call('list', {})).bytes);
  }

  async snapshot(pid: number): Promise<Uint8Array> {
    return HostHelper.bytes((await this.call('snapshot', { pid })).bytes);
  }

  async write(pid: number, tid: number, offset: number, bytes: Uint8Array): Promise<Uint8Array> {
    const r = await this.call('write', { pid, tid, offset, bytes: Buffer.from(bytes).toString('base64') });
    return HostHelper.bytes(r.bytes);
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

  dispose(): void {
    // Closing stdin ends the host, which detaches what it attached; a dead host is fine.
    this.child.stdin?.end();
  }
}
