// Benchmark: `tldctl vm run` to the scheduler enabled (warm kernel cache), beside its floor:
// the same kernel booted by bare qemu, with the runner's qemu command line (accelerator, memory,
// CPUs), on an initramfs of the same contents (loader, workloads, libraries, the scheduler's
// object) whose /init only says it started. Runs alternate, in the same bench run; the ratio is
// the runner's overhead (building the scheduler, packing, starting qemu, loading and enabling in
// the guest). Debian's cloud kernel and, when built, the minimal kernel are measured in one run.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { cacheDir } from '../extension/src/client/paths';
import { INIT_STARTED, buildInitramfs, guestInit } from '../extension/src/vm/initramfs';
import { DEFAULT_SERIES } from '../extension/src/vm/debianApt';
import { ensureKernel } from '../extension/src/vm/kernel';
import { newestBuiltEntry } from '../extension/src/vm/kernelCache';
import { Accel, kernelAppend, qemuArgs } from '../extension/src/vm/qemu';
import { KernelInfo } from '../extension/src/vm/kernelInfo';
import { guestWorkload } from '../extension/src/vm/run';
import { buildScheduler, guestObjectBytes } from '../extension/src/vm/scheduler';
import { nativeBuild, repoRoot } from '../test/support/repo';
import { onceMoreIfGuestCrashed } from '../test/support/vm';
import { Figure, boundFigure, ratioFigure } from './figure';
import { median } from './stats';
import { vmRun } from './vm';

/** One kernel's runs: the runner to "enabled", and bare qemu to /init, alternating. */
export interface KernelStart {
  /** TLD_VM_KERNEL of the runs: Debian's cloud kernel, or the minimal one (vm kernel --build). */
  readonly kernel: 'debian' | 'minimal';
  readonly version: string;
  /** From the spawn of tldctl vm run to the loader's "enabled" line (medians, ms). */
  readonly to_enabled_ms: number;
  /** The same runs' /init line: what came before the guest's own work. */
  readonly runner_to_init_ms: number;
  /** From the spawn of bare qemu (the runner's own qemu command line) to the same /init line. */
  readonly bare_to_init_ms: number;
  readonly enabled_samples_ms: readonly number[];
  readonly bare_samples_ms: readonly number[];
  readonly initramfs_bytes: number;
  /** The file qemu boots: vmlinux (through its PVH entry) or bzImage. */
  readonly image: string;
  readonly image_bytes: number;
}

export interface VmStartFigures {
  readonly accel: string;
  readonly runs: number;
  readonly kernels: readonly KernelStart[];
}

const scxHints = path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c');
const TIMEOUT_MS = 300_000;

/**
 * bareBoot, run once more when its guest kernel crashed on its way to /init (an emulator fault
 * under TCG, seen in a kworker's interrupt at boot), as the runner's own runs are.
 */
async function bareBootOnceMoreIfCrashed(k: KernelInfo, initrd: string, accel: Accel): Promise<number> {
  let ms = 0;
  await onceMoreIfGuestCrashed('bench: bare qemu', async (seen) => {
    ms = await bareBoot(k, initrd, accel, seen);
  });
  return ms;
}

/**
 * Boots @bzImage on @initrd with the runner's qemu command line; ms from the spawn to the /init
 * line. @seen.text: the end of what qemu printed, as it arrives.
 */
function bareBoot(k: KernelInfo, initrd: string, accel: Accel, seen: { text: string }): Promise<number> {
  const append = kernelAppend(k);
  const args = qemuArgs({ bzImage: k.bzImage, initramfs: initrd, accel, cpus: Math.min(2, os.cpus().length), memoryMb: 1024, ...(append ? { append } : {}) });
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let at: number | undefined;
    const timer = setTimeout(() => qemu.kill('SIGKILL'), TIMEOUT_MS);
    qemu.stdout.on('data', (d: Buffer) => {
      seen.text = (seen.text + d.toString()).slice(-4096);
      if (at === undefined && seen.text.includes(INIT_STARTED)) at = performance.now() - t0;
    });
    qemu.stderr.on('data', (d: Buffer) => (seen.text = (seen.text + d.toString()).slice(-4096)));
    qemu.on('error', reject);
    qemu.on('close', (code) => {
      clearTimeout(timer);
      if (at === undefined) reject(new Error(`bare qemu did not reach /init (exit ${code}): ${seen.text.slice(-500)}`));
      else resolve(Math.round(at));
    });
  });
}

/** The runs of one kernel; @accel is the runner's choice, learnt from the first run. */
async function measureKernel(kernel: KernelStart['kernel'], runs: number, work: string, accelSeen: { value: Accel | undefined }): Promise<KernelStart> {
  const env = { ...process.env, TLD_VM_KERNEL: kernel };
  const k = await ensureKernel({ cacheDir: cacheDir(), choice: kernel, onProgress: () => undefined });
  const dir = path.join(work, kernel);
  fs.mkdirSync(dir);
  const built = await buildScheduler(scxHints, path.dirname(k.vmlinuxH), dir);
  if (!built.ok) throw new Error(`scx_hints did not build for ${k.version}: ${built.diagnostics.map((d) => d.message).join('; ')}`);
  const base = guestWorkload(nativeBuild, 1);
  // The object as the runner sends it to its guest.
  const guestObject = path.join(dir, 'guest.bpf.o');
  fs.writeFileSync(guestObject, await guestObjectBytes(built.object));
  const initrd = path.join(dir, 'initrd.cpio');
  await buildInitramfs({
    out: initrd,
    binaries: [path.join(nativeBuild, 'tld-scx-run'), ...base.binaries],
    files: [...base.files, { src: guestObject, dest: `/etc/${path.basename(built.object)}` }],
    init: guestInit(['true']),
  });
  const enabled: number[] = [];
  const inits: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`bench: ${k.version}: tldctl vm run to scheduler enabled, and bare qemu to /init (${i + 1}/${runs}) ...\n`);
    const r = await vmRun(['--scheduler', scxHints, '--seconds', '1'], [
      ['init', new RegExp(`\\| ${INIT_STARTED}`)],
      ['enabled', /\| tld-scx-run: \S+ enabled \(sched_ext state: enabled\)/],
    ], undefined, env);
    const at = r.marks.get('enabled');
    const init = r.marks.get('init');
    if (r.code !== 0 || at === undefined || init === undefined) {
      throw new Error(`tldctl vm run on ${k.version} did not enable scx_hints (exit ${r.code}):\n${r.console.slice(-20).join('\n')}`);
    }
    // The floor boots with the accelerator the runner chose.
    accelSeen.value ??= ((JSON.parse(r.stdout) as { accel?: string }).accel === 'kvm' ? 'kvm' : 'tcg');
    enabled.push(Math.round(at));
    inits.push(Math.round(init));
    bare.push(await bareBootOnceMoreIfCrashed(k, initrd, accelSeen.value));
  }
  return {
    kernel,
    version: k.version,
    to_enabled_ms: median(enabled),
    runner_to_init_ms: median(inits),
    bare_to_init_ms: median(bare),
    enabled_samples_ms: enabled,
    bare_samples_ms: bare,
    initramfs_bytes: fs.statSync(initrd).size,
    image: path.basename(k.bzImage),
    image_bytes: fs.statSync(k.bzImage).size,
  };
}

/**
 * `withMinimal`: the minimal kernel too, beside the cloud kernel in the same run; it fails, saying
 * how to build one, when none is built.
 */
export async function runVmStartBench(quick: boolean, withMinimal = false): Promise<VmStartFigures> {
  const runs = quick ? 1 : 3;
  if (withMinimal && !newestBuiltEntry(path.join(cacheDir(), 'kernel'), DEFAULT_SERIES)) {
    throw new Error(`no minimal kernel is built in ${cacheDir()}/kernel: run \`tldctl vm kernel --build\` once (tens of minutes), then this section`);
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-bench-vmstart-'));
  try {
    const accel: { value: Accel | undefined } = { value: undefined };
    const kernels: KernelStart[] = [];
    if (withMinimal) kernels.push(await measureKernel('minimal', runs, work, accel));
    kernels.push(await measureKernel('debian', runs, work, accel));
    return { accel: accel.value ?? 'tcg', runs, kernels };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export function vmStartFigures(v: VmStartFigures): Figure[] {
  const out: Figure[] = [];
  for (const k of v.kernels) {
    const what = `tldctl vm run to scx_hints enabled, ${k.kernel === 'minimal' ? 'minimal kernel' : "Debian's cloud kernel"} ${k.version} (${v.accel}, median of ${v.runs}; the runner's guest reaches /init at ${k.runner_to_init_ms} ms)`;
    const floor = 'the same kernel and initramfs contents booted by bare qemu (the runner\'s qemu command line) to /init, runs alternating';
    if (k.kernel === 'debian' && v.kernels.length > 1) continue; // the vm_start section's figure; here its value is the context
    if (k.kernel === 'minimal') {
      out.push(ratioFigure(what, k.to_enabled_ms, 'ms', floor, k.bare_to_init_ms, 1.1));
      out.push(boundFigure(what, k.to_enabled_ms / 1000, 's', 'under 2 s', k.to_enabled_ms < 2000, { note: `boots ${k.image} (${(k.image_bytes / 1048576).toFixed(1)} MiB)` }));
      const cloud = v.kernels.find((c) => c.kernel === 'debian');
      if (cloud) {
        out.push(boundFigure(`${what}, beside Debian's cloud kernel in the same run`, k.to_enabled_ms, 'ms', 'sooner than the cloud kernel', k.to_enabled_ms < cloud.to_enabled_ms,
          { context: { name: `Debian's cloud kernel ${cloud.version} to enabled`, value: cloud.to_enabled_ms } }));
      }
    } else {
      out.push(ratioFigure(what, k.to_enabled_ms, 'ms', floor, k.bare_to_init_ms, 1.5));
      out.push(boundFigure(what, k.to_enabled_ms / 1000, 's', 'under 10 s', k.to_enabled_ms < 10_000));
    }
  }
  return out;
}
