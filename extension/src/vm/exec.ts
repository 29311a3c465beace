// Running the host tools the VM runner needs (apt-get, dpkg-deb, zstd, bpftool, ldd, cpio,
// gzip, qemu) and finding them, with failures turned into TldErrors that say how to fix them.
//
//   const tool = findTool('bpftool');            // PATH, then /usr/sbin and /sbin
//   const r = await run(tool, ['btf', 'dump', ...], { stdoutFile: 'vmlinux.h' });
//   if (r.code !== 0) throw failure('bpftool btf dump', r);
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

import { TldError } from '../client/errors';
import { lookupTool } from '../client/hostTool';

/** How the VM runner's host packages are installed (scripts/vm/setup-vm.sh does it). */
export const SETUP_HINT = 'run: sudo bash scripts/vm/setup-vm.sh';

/** Which Debian package provides each tool, for error messages. */
const PACKAGE_OF: Readonly<Record<string, string>> = {
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'dpkg-deb': 'dpkg',
  zstd: 'zstd',
  xz: 'xz-utils',
  bpftool: 'bpftool',
  ldd: 'libc-bin',
  cpio: 'cpio',
  gzip: 'gzip',
  busybox: 'busybox-static',
  'qemu-system-x86_64': 'qemu-system-x86',
};

/** Like lookupTool, but a missing tool is an ENOENT TldError naming its Debian package. */
export function findTool(name: string, why: string): string {
  const found = lookupTool(name);
  if (found) return found;
  const pkg = PACKAGE_OF[name] ?? name;
  throw new TldError('ENOENT', `${name} is not installed (needed to ${why}); install Debian's ${pkg} package: ${SETUP_HINT}`);
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Written to the child's standard input, then closed. */
  readonly input?: Buffer | string;
  /** Send standard output to this file (created or truncated) instead of capturing it. */
  readonly stdoutFile?: string;
  /** Kill the child after this many milliseconds (it then reports code -1). */
  readonly timeoutMs?: number;
  /** Called with each chunk of standard output (when captured), as it comes. */
  readonly onStdout?: (chunk: string) => void;
  /** Called with each chunk of standard error, as it comes. */
  readonly onStderr?: (chunk: string) => void;
  /** Kills the child (SIGTERM, then SIGKILL after 5 s) when aborted; it then reports code -1. */
  readonly signal?: AbortSignal;
}

export interface RunResult {
  /** The exit status; -1 when killed by a signal or the time limit. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly command: string;
  readonly timedOut: boolean;
}

const MAX_CAPTURE = 8 * 1024 * 1024;

/** Runs a command to completion; never throws for a non-zero status (look at code). */
export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const command = [file, ...args].map(shellQuote).join(' ');
  return new Promise<RunResult>((resolve, reject) => {
    let outFd: number | null = null;
    if (opts.stdoutFile !== undefined) {
      try {
        outFd = fs.openSync(opts.stdoutFile, 'w');
      } catch (e) {
        reject(new TldError('EIO', `cannot write ${opts.stdoutFile}: ${(e as Error).message}`));
        return;
      }
    }
    const child = spawn(file, [...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', outFd ?? 'pipe', 'pipe'],
    });
    if (outFd !== null) fs.closeSync(outFd);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout?.on('data', (b: Buffer) => {
      if (outLen < MAX_CAPTURE) out.push(b);
      outLen += b.length;
      opts.onStdout?.(b.toString('utf8'));
    });
    child.stderr?.on('data', (b: Buffer) => {
      if (errLen < MAX_CAPTURE) err.push(b);
      errLen += b.length;
      opts.onStderr?.(b.toString('utf8'));
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // the child may exit before reading it all
      child.stdin.end(opts.input);
    }
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? null
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs);
    let killer: NodeJS.Timeout | null = null;
    const onAbort = (): void => {
      child.kill('SIGTERM');
      killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    };
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = (): void => {
      if (timer) clearTimeout(timer);
      if (killer) clearTimeout(killer);
      opts.signal?.removeEventListener('abort', onAbort);
    };
    child.on('error', (e: NodeJS.ErrnoException) => {
      settle();
      reject(new TldError(e.code === 'ENOENT' ? 'ENOENT' : 'EIO', `cannot run ${file}: ${e.message}`));
    });
    child.on('close', (code) => {
      settle();
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        command,
        timedOut,
      });
    });
  });
}

/** The last lines of a command's standard error (or output), for an error message. */
export function tail(text: string, lines = 6): string {
  const all = text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '');
  return all.slice(-lines).join('\n');
}

/** An EIO TldError for a command that failed: what was run, its status and last words. */
export function failure(what: string, r: RunResult, fix?: string): TldError {
  const said = tail(r.stderr) || tail(r.stdout);
  const status = r.timedOut ? 'timed out' : `exited with ${r.code}`;
  return new TldError(
    'EIO',
    `${what} failed (${status}): ${r.command}${said ? `\n${said}` : ''}${fix ? `\n${fix}` : ''}`,
  );
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
