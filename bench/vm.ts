// The VM runner's benchmarks, through tldctl as a user runs it (warm kernel cache):
// - (time to the scheduler enabled beside bare qemu: vmStart.ts, which uses vmRun from here)
// - (the effect of hints, tld-latency under scx_hints and the default scheduler: latency.ts)
// - a developer's own loader (test/vm/ownloader's own_fifo, built here) through --share/--cmd
//   to enabled, beside the generic loader on the same scheduler, runs interleaved; and what
//   the share costs over virtiofs beside copying the folder into the initramfs.
//   `node out/bench/vm.js [--quick]` prints only these figures.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { buildOwnFifo } from '../test/vm/ownLoader';
import { guestKernelCrashed, sayRunningOnceMore } from '../test/support/vm';
import { repoRoot } from '../test/support/repo';
import { cacheDir } from '../extension/src/client/paths';
import { buildInitramfs, guestInit } from '../extension/src/vm/initramfs';
import { ensureKernel } from '../extension/src/vm/kernel';
import { guestWorkload } from '../extension/src/vm/run';
import { startVirtiofsd } from '../extension/src/vm/virtiofs';
import { SchedulerOutcome } from '../extension/src/vm/schedulerStats';
import { median } from './stats';

/** What users run (package.json's bin): the one-file bundle. */
const tldctl = path.join(repoRoot, 'dist', 'tldctl.js');

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly console: string[];
  /** When each console line matching a mark first appeared, in ms since the spawn. */
  readonly marks: Map<string, number>;
}

/**
 * Runs tldctl vm run with @args and --json; the console arrives on stderr as "| line". A run
 * whose guest kernel crashed (guestKernelCrashed: an emulator fault) is run once more.
 */
export async function vmRun(args: readonly string[], marks: readonly [string, RegExp][], cwd?: string, env?: NodeJS.ProcessEnv): Promise<Run> {
  const r = await vmRunOnce(args, marks, cwd, env);
  if (!guestKernelCrashed(r.console.join('\n'))) return r;
  sayRunningOnceMore('bench: vm run');
  return vmRunOnce(args, marks, cwd, env);
}

function vmRunOnce(args: readonly string[], marks: readonly [string, RegExp][], cwd?: string, env?: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [tldctl, 'vm', 'run', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}), ...(env ? { env } : {}) });
    let stdout = '';
    let pending = '';
    const console: string[] = [];
    const seen = new Map<string, number>();
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      const now = performance.now() - started;
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) {
        console.push(l);
        for (const [name, re] of marks) if (!seen.has(name) && re.test(l)) seen.set(name, now);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, console, marks: seen }));
  });
}

function outcome(r: Run, what: string): SchedulerOutcome & { accel?: string } {
  try {
    return JSON.parse(r.stdout) as SchedulerOutcome & { accel?: string };
  } catch {
    throw new Error(`${what}: tldctl vm run printed no outcome (exit ${r.code}):\n${r.console.slice(-20).join('\n')}`);
  }
}

export interface OwnLoaderFigures {
  readonly accel: string;
  readonly runs: number;
  /** tldctl vm run --scheduler own_fifo.bpf.c (build, pack, boot, tld-scx-run) to enabled. */
  readonly generic_to_enabled_ms: number;
  /** tldctl vm run --share DIR --cmd ./own_fifo (pack, virtiofsd, boot, mount, the loader) to enabled. */
  readonly own_to_enabled_ms: number;
  readonly generic_samples_ms: readonly number[];
  readonly own_samples_ms: readonly number[];
  /** The share's cost: virtiofsd for the folder and /usr, beside the folder copied into the initramfs. */
  readonly share: {
    readonly virtiofsd_start_ms: number;
    readonly initramfs_ms: number;
    readonly initramfs_with_folder_ms: number;
    readonly folder: string;
    readonly folder_mb: number;
  };
}

function sizeMb(dir: string): number {
  let bytes = 0;
  const visit = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) bytes += fs.statSync(p).size;
    }
  };
  visit(dir);
  return Math.round(bytes / 2 ** 20 * 10) / 10;
}

async function shareCost(project: string): Promise<OwnLoaderFigures['share']> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-bench-share-'));
  try {
    return await measureShare(work, project);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function measureShare(work: string, project: string): Promise<OwnLoaderFigures['share']> {
  // A built C project as the folder a developer shares: this repository's native/ (sources and build).
  const folder = path.join(repoRoot, 'native');
  const base = guestWorkload(path.join(repoRoot, 'native', 'build'), 1);
  const pack = async (files: { src: string; dest: string }[]): Promise<number> => {
    const t0 = performance.now();
    await buildInitramfs({ out: path.join(work, 'bench-initrd.cpio'), binaries: base.binaries, files: [...base.files, ...files], init: guestInit(['true']) });
    return performance.now() - t0;
  };
  const initramfs = await pack([]);
  const withFolder = await pack([{ src: folder, dest: folder }]);
  fs.chmodSync(work, 0o711);
  const sockets = [path.join(work, 'usr-vfs'), path.join(work, 'share-vfs')];
  for (const d of sockets) fs.mkdirSync(d, { recursive: true, mode: 0o711 });
  const t0 = performance.now();
  const usr = await startVirtiofsd({ source: '/usr', tag: 'u', socket: path.join(sockets[0]!, 's.sock'), readOnly: true });
  const share = await startVirtiofsd({ source: project, tag: 's', socket: path.join(sockets[1]!, 's.sock'), readOnly: false });
  const virtiofsd = performance.now() - t0;
  usr.stop();
  share.stop();
  return { virtiofsd_start_ms: Math.round(virtiofsd), initramfs_ms: Math.round(initramfs), initramfs_with_folder_ms: Math.round(withFolder), folder, folder_mb: sizeMb(folder) };
}

export async function runOwnLoaderBench(quick: boolean): Promise<OwnLoaderFigures> {
  // Boots on a shared 2-core machine vary by seconds: five interleaved pairs for a median.
  const runs = quick ? 1 : 5;
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-bench-own-'));
  try {
    const k = await ensureKernel({ cacheDir: cacheDir(), onProgress: () => undefined });
    buildOwnFifo(path.join(project, 'build'), k.vmlinuxH);
    const scheduler = path.join(repoRoot, 'test', 'vm', 'ownloader', 'own_fifo.bpf.c');
    const generic: number[] = [];
    const own: number[] = [];
    let accel = 'unknown';
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`bench: vm run to enabled, generic loader and own loader (${i + 1}/${runs}) ...\n`);
      const g = await vmRun(['--scheduler', scheduler, '--seconds', '1'], [['enabled', /\| tld-scx-run: \S+ enabled \(sched_ext state: enabled\)/]]);
      const o = await vmRun(['--share', project, '--cmd', './build/own_fifo', '--seconds', '1'], [['enabled', /\| tld-vm: scheduler "own_fifo" enabled/]], project);
      for (const [r, into, what] of [[g, generic, 'the generic loader'], [o, own, 'the own loader']] as const) {
        const at = r.marks.get('enabled');
        if (r.code !== 0 || at === undefined) throw new Error(`vm run with ${what} did not enable own_fifo (exit ${r.code}):\n${r.console.slice(-20).join('\n')}`);
        into.push(Math.round(at));
      }
      accel = outcome(o, 'vm run --cmd').accel ?? accel;
    }
    return {
      accel,
      runs,
      generic_to_enabled_ms: median(generic),
      own_to_enabled_ms: median(own),
      generic_samples_ms: generic,
      own_samples_ms: own,
      share: await shareCost(project),
    };
  } finally {
    fs.rmSync(project, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runOwnLoaderBench(process.argv.includes('--quick')).then(
    (f) => process.stdout.write(JSON.stringify({ own_loader: f, ratio: Number((f.own_to_enabled_ms / f.generic_to_enabled_ms).toFixed(3)), goal: 1.2 }, null, 2) + '\n'),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
