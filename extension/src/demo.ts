// tld-demo started from the extension (Start Demo Process): the workload shipped in
// native/build, publishing hints on the extension's pinned map until VS Code closes or it ends.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { TldError } from './client/errors';
import { defaultLauncher, hostInstalled } from './client/hostHelper';
import { studioRoot } from './client/paths';
import { hasBpfPrivileges } from './client/privileges';
import { Ctx } from './ctx';
import { procStatFields } from './client/procStat';

const READY_TIMEOUT_MS = 15_000;
const POLL_MS = 200;

export class DemoProcess implements vscode.Disposable {
  private child: ChildProcess | undefined;
  private ready: number | undefined;

  constructor(private readonly ctx: Ctx) {}

  /** The demo's pid while it runs with its hints published. */
  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? this.ready : undefined;
  }

  /**
   * Starts tld-demo and resolves with its pid once the helper lists it with its keys; rejects
   * with the demo's own words when it ends or does not publish in time.
   */
  async start(): Promise<number> {
    const binary = path.join(studioRoot(), 'native', 'build', 'tld-demo');
    if (!fs.existsSync(binary)) throw new TldError('ENOENT', `${binary} is missing: build it with \`make -C native\` (or npm run build)`);
    const pinDir = path.dirname(this.ctx.settings.pinPath);
    const args = ['--threads', '4'];
    // Creating or using the pinned map needs CAP_BPF: the same way in as the helper host. The
    // installed host's sudoers rule allows that host alone, not the demo.
    if (!hasBpfPrivileges() && hostInstalled()) {
      throw new TldError(
        'EPERM',
        `tld-demo needs CAP_BPF and CAP_PERFMON to publish hints, and the installed helper host lends them to nothing else: start it in a terminal with ` +
          `sudo setpriv --reuid=$USER --regid=$(id -g) --init-groups --inh-caps=+bpf,+perfmon --ambient-caps=+bpf,+perfmon -- env TLD_PIN_DIR=${pinDir} ${binary}`,
      );
    }
    const launcher = hasBpfPrivileges() ? [] : defaultLauncher();
    const argv = launcher.length ? [...launcher, 'env', `TLD_PIN_DIR=${pinDir}`, binary, ...args] : [binary, ...args];
    const [cmd, ...rest] = argv as [string, ...string[]];
    const child = spawn(cmd, rest, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TLD_PIN_DIR: pinDir } });
    this.child = child;
    this.ready = undefined;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const ended = new Promise<string>((resolve) => {
      child.on('error', (e) => resolve(`cannot run ${cmd}: ${e.message}`));
      child.on('exit', (code, signal) => resolve(`tld-demo ended (${signal ?? `exit code ${code}`}) before publishing hints${stderr.trim() ? `: ${stderr.trim()}` : ''}`));
    });
    child.on('exit', (code, signal) => {
      this.ctx.log.info(`tld-demo ${child.pid} ended (${signal ?? `exit code ${code}`})${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
      if (this.child === child) this.child = undefined;
    });
    const pid = child.pid;
    const client = await this.ctx.getClient();
    let endedWith: string | undefined;
    void ended.then((m) => (endedWith = m));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    // Under sudo the demo is the launcher's child: it is the newest tld-demo that was not listed before.
    while (Date.now() < deadline) {
      if (endedWith !== undefined) throw new TldError('ESRCH', endedWith);
      const found = (await client.processes()).find((p) => p.keys > 0 && (p.pid === pid || (launcher.length > 0 && p.comm === 'tld-demo' && isDescendant(p.pid, pid))));
      if (found) {
        this.ready = found.pid;
        this.ctx.log.info(`tld-demo runs: pid ${found.pid}, ${found.threads} threads with hints, pinned map ${this.ctx.settings.pinPath}`);
        return found.pid;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    child.kill();
    throw new TldError('EIO', `tld-demo published no hints within ${READY_TIMEOUT_MS / 1000} s${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
  }

  dispose(): void {
    this.child?.kill();
    this.child = undefined;
  }
}

/** Whether @pid is @ancestor or below it (through /proc's parent links). */
function isDescendant(pid: number, ancestor: number | undefined): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 8; hops++) {
    if (p === ancestor) return true;
    try {
      p = Number(procStatFields(p)[1]);
    } catch {
      return false;
    }
  }
  return false;
}
