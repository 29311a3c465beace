// Host folders shared into the guest over virtiofs: one virtiofsd (Debian 12's, from qemu
// 7.2) per folder, listening on a vhost-user socket that qemu.ts hands to a vhost-user-fs-pci
// device. The guest mounts it with `mount -t virtiofs TAG PATH`.
//
//   const d = await startVirtiofsd({ source: '/home/me/scx', socket: `${work}/share.sock`, ... });
//   try { await bootGuest({ ..., shares: [{ tag: d.tag, socket: d.socket }] }); } finally { d.stop(); }
//
// Who virtiofsd runs as is what protects the host from the guest (whose root runs the
// developer's code): a read-write share runs as the caller (root as root; an ordinary user in
// a user namespace of its own, where virtiofsd's sandbox works without privileges, though only
// for a process without supplementary groups: virtiofsd drops them at its start, which the
// namespace does not allow; run.ts copies the folder instead for such users); a read-only
// share always runs as an unprivileged user (nobody when the caller is root), so the guest
// cannot write there even if it remounts the share read-write. The C virtiofsd has no
// read-only option of its own.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TldError } from '../client/errors';
import { lookupTool } from '../client/hostTool';
import { SETUP_HINT } from './exec';

/** Where Debian 12's qemu-system-common puts virtiofsd. */
export const VIRTIOFSD = '/usr/lib/qemu/virtiofsd';
const NOBODY = 65534;
const READY_TIMEOUT_MS = 15_000;

export interface VirtiofsdOptions {
  /** The host folder to share. */
  readonly source: string;
  /** The guest's name for it (mount -t virtiofs TAG ...). */
  readonly tag: string;
  /** The vhost-user socket to create; its folder must exist. */
  readonly socket: string;
  readonly readOnly: boolean;
}

export interface Virtiofsd {
  readonly tag: string;
  readonly socket: string;
  /** Stops virtiofsd if it still runs (it exits by itself when qemu disconnects). */
  stop(): void;
}

/** Starts virtiofsd for @opts.source; resolves once its socket is there. */
export async function startVirtiofsd(opts: VirtiofsdOptions): Promise<Virtiofsd> {
  if (!fs.existsSync(VIRTIOFSD)) {
    throw new TldError('ENOENT', `${VIRTIOFSD} is missing (needed to share folders with the guest); install Debian's qemu-system-common package: ${SETUP_HINT}`);
  }
  const unshare = lookupTool('unshare');
  const setpriv = lookupTool('setpriv');
  const root = process.getuid?.() === 0;
  const asNobody = opts.readOnly && root;
  if ((!root || asNobody) && (!unshare || (asNobody && !setpriv))) {
    throw new TldError('ENOENT', `unshare and setpriv (Debian's util-linux) are needed to run virtiofsd without privileges`);
  }
  const daemon = [
    VIRTIOFSD,
    `--socket-path=${opts.socket}`,
    '-o', `source=${opts.source}`,
    // A read-only tree never changes during the run: let the guest cache all of it.
    '-o', `cache=${opts.readOnly ? 'always' : 'auto'}`,
    '--rlimit-nofile=0',
  ];
  let argv: string[];
  if (root && !asNobody) {
    argv = daemon;
  } else {
    // virtiofsd writes a pid file under /run/virtiofsd: give it a /run of its own.
    const inner = ['sh', '-c', 'mount -t tmpfs tmpfs /run && exec "$@"', 'virtiofsd', ...daemon];
    argv = [unshare!, '--map-root-user', '--mount', ...inner];
    if (asNobody) {
      const dir = path.dirname(opts.socket);
      fs.chownSync(dir, NOBODY, NOBODY);
      argv = [setpriv!, `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv];
    }
  }
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => {
    if (stderr.length < 16_384) stderr += b.toString('utf8');
  });
  const d: Virtiofsd = { tag: opts.tag, socket: opts.socket, stop: () => stopChild(child) };
  try {
    await waitForSocket(child, opts.socket, () => stderr);
  } catch (e) {
    d.stop();
    throw e;
  }
  return d;
}

function stopChild(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

function waitForSocket(child: ChildProcess, socket: string, stderr: () => string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const started = Date.now();
    let done = false;
    const finish = (e?: Error): void => {
      if (done) return;
      done = true;
      clearInterval(timer);
      if (e) reject(e);
      else resolve();
    };
    const said = (): string => (stderr().trim() ? `: ${stderr().trim().split('\n').slice(-3).join(' / ')}` : '');
    child.on('error', (e) => finish(new TldError('EIO', `cannot run ${VIRTIOFSD}: ${e.message}`)));
    child.on('exit', (code, signal) => finish(new TldError('EIO',
      `virtiofsd for the share ${socket} exited at its start (${signal ?? `status ${code}`})${said()}; TLD_VM_SHARE=copy copies the folder into the guest instead`)));
    const timer = setInterval(() => {
      let isSocket = false;
      try {
        isSocket = fs.statSync(socket).isSocket();
      } catch {
        // not yet
      }
      if (isSocket) finish();
      else if (Date.now() - started > READY_TIMEOUT_MS) finish(new TldError('EIO', `virtiofsd made no socket ${socket} in ${READY_TIMEOUT_MS / 1000} s${said()}`));
    }, 10);
  });
}
