// Benchmark: `tldctl vm run` to the scheduler enabled (warm kernel cache), beside its floor:
// the same kernel booted by bare qemu, with the same accelerator, memory and CPUs, on an
// initramfs of the same contents (loader, workloads, libraries, the scheduler's object) whose
// /init only says it started. Runs alternate, in the same bench run; the ratio is the runner's
// overhead (building the scheduler, packing, starting qemu, loading and enabling in the guest).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { cacheDir } from '../extension/src/client/paths';
import { INIT_STARTED, buildInitramfs, guestInit } from '../extension/src/vm/initramfs';
import { ensureKernel } from '../extension/src/vm/kernel';
import { guestWorkload } from '../extension/src/vm/run';
import { buildScheduler } from '../extension/src/vm/scheduler';
import { nativeBuild, repoRoot } from '../test/support/repo';
import { Figure, boundFigure, ratioFigure } from './figure';
import { median } from './stats';
import { vmRun } from './vm';

export interface VmStartFigures {
  readonly accel: string;
  readonly runs: number;
  /** From the spawn of tldctl vm run to the loader's "enabled" line (medians, ms). */
  readonly to_enabled_ms: number;
  /** The same runs' /init line: what came before the guest's own work. */
  readonly runner_to_init_ms: number;
  /** From the spawn of bare qemu to the same /init line. */
  readonly bare_to_init_ms: number;
  readonly enabled_samples_ms: readonly number[];
  readonly bare_samples_ms: readonly number[];
  readonly initramfs_bytes: number;
}

const scxHints = path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c');
const TIMEOUT_MS = 300_000;

/** Boots @bzImage on @initrd as qemu.ts does for @accel; ms from the spawn to the /init line. */
function bareBoot(bzImage: string, initrd: string, accel: string): Promise<number> {
  const accelArgs = accel === 'kvm' ? ['-enable-kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max'];
  const args = ['-nographic', '-nodefaults', '-no-user-config', '-serial', 'stdio', '-no-reboot', '-m', '1024', '-smp', String(Math.min(2, os.cpus().length)),
    ...accelArgs, '-kernel', bzImage, '-initrd', initrd, '-append', 'console=ttyS0 panic=-1 quiet'];
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let at: number | undefined;
    let text = '';
    const timer = setTimeout(() => qemu.kill('SIGKILL'), TIMEOUT_MS);
    qemu.stdout.on('data', (d: Buffer) => {
      text = (text + d.toString()).slice(-4096);
      if (at === undefined && text.includes(INIT_STARTED)) at = performance.now() - t0;
    });
    qemu.stderr.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-4096)));
    qemu.on('error', reject);
    qemu.on('close', (code) => {
      clearTimeout(timer);
      if (at === undefined) reject(new Error(`bare qemu did not reach /init (exit ${code}): ${text.slice(-500)}`));
      else resolve(Math.round(at));
    });
  });
}

export async function runVmStartBench(quick: boolean): Promise<VmStartFigures> {
  const runs = quick ? 1 : 3;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-bench-vmstart-'));
  try {
    const k = await ensureKernel({ cacheDir: cacheDir(), onProgress: () => undefined });
    const built = await buildScheduler(scxHints, path.dirname(k.vmlinuxH), work);
    if (!built.ok) throw new Error(`scx_hints did not build: ${built.diagnostics.map((d) => d.message).join('; ')}`);
    const base = guestWorkload(nativeBuild, 1);
    const initrd = path.join(work, 'initrd.gz');
    await buildInitramfs({
      out: initrd,
      binaries: [path.join(nativeBuild, 'tld-scx-run'), ...base.binaries],
      files: [...base.files, { src: built.object, dest: `/etc/${path.basename(built.object)}` }],
      init: guestInit(['true']),
    });
    const enabled: number[] = [];
    const inits: number[] = [];
    const bare: number[] = [];
    let accel = '';
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`bench: tldctl vm run to scheduler enabled, and bare qemu to /init (${i + 1}/${runs}) ...\n`);
      const r = await vmRun(['--scheduler', scxHints, '--seconds', '1'], [
        ['init', new RegExp(`\\| ${INIT_STARTED}`)],
        ['enabled', /\| tld-scx-run: \S+ enabled \(sched_ext state: enabled\)/],
      ]);
      const at = r.marks.get('enabled');
      const init = r.marks.get('init');
      if (r.code !== 0 || at === undefined || init === undefined) {
        throw new Error(`tldctl vm run did not enable scx_hints (exit ${r.code}):\n${r.console.slice(-20).join('\n')}`);
      }
      // The floor boots with the accelerator the runner chose.
      accel ||= (JSON.parse(r.stdout) as { accel?: string }).accel ?? 'tcg';
      enabled.push(Math.round(at));
      inits.push(Math.round(init));
      bare.push(await bareBoot(k.bzImage, initrd, accel));
    }
    return {
      accel,
      runs,
      to_enabled_ms: median(enabled),
      runner_to_init_ms: median(inits),
      bare_to_init_ms: median(bare),
      enabled_samples_ms: enabled,
      bare_samples_ms: bare,
      initramfs_bytes: fs.statSync(initrd).size,
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export function vmStartFigures(v: VmStartFigures): Figure[] {
  const what = `tldctl vm run to scx_hints enabled, warm cache (${v.accel}, median of ${v.runs}; the runner's guest reaches /init at ${v.runner_to_init_ms} ms)`;
  return [
    ratioFigure(what, v.to_enabled_ms, 'ms', 'the same kernel and initramfs contents booted by bare qemu to /init, runs alternating', v.bare_to_init_ms, 1.5),
    boundFigure(what, v.to_enabled_ms / 1000, 's', 'under 10 s', v.to_enabled_ms < 10_000),
  ];
}
