// Trying a scheduler in the sched_ext guest: build it for the guest kernel, boot, enable it
// while a workload runs, stream the console, and say how it went.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Diagnostic } from '../client/compiler';
import { TldError } from '../client/errors';
import { buildInitramfs, guestInit } from './initramfs';
import { KernelInfo } from './kernel';
import { BootResult, bootGuest } from './qemu';
import { buildScheduler } from './scheduler';

export interface RunOptions {
  readonly kernel: KernelInfo;
  /** NAME.bpf.c; its loader NAME.c lies beside it (it takes the run's seconds as argument). */
  readonly scheduler: string;
  /** Host binaries for the guest's /bin (tld-demo and its libraries by default). */
  readonly binaries: readonly string[];
  readonly files: readonly { src: string; dest: string }[];
  /** The guest shell command run in the background while the scheduler is enabled. */
  readonly workload: string;
  readonly seconds: number;
  readonly timeoutMs: number;
  readonly onConsole: (line: string) => void;
}

/**
 * The default workload: tld-demo publishing hints for @seconds + 3 s, with its library and
 * plugin beside it in the guest's /bin (its rpath is $ORIGIN).
 */
export function demoWorkload(nativeBuild: string, seconds: number): Pick<RunOptions, 'binaries' | 'files' | 'workload'> {
  return {
    binaries: [path.join(nativeBuild, 'tld-demo')],
    files: [
      { src: path.join(nativeBuild, 'libtld.so'), dest: '/bin/libtld.so' },
      { src: path.join(nativeBuild, 'libtld-demo-plugin.so'), dest: '/bin/libtld-demo-plugin.so' },
    ],
    workload: `tld-demo --threads 4 --seconds ${seconds + 3}`,
  };
}

export interface RunResult {
  readonly diagnostics: readonly Diagnostic[];
  readonly boot?: BootResult;
  /** 0: the scheduler stayed enabled; 1: it did not load or enable; 2: the kernel disabled it. */
  readonly exitCode: number;
}

export async function runScheduler(opts: RunOptions): Promise<RunResult> {
  if (!opts.kernel.hasSchedExt) throw new TldError('EINVAL', `kernel ${opts.kernel.version} has no sched_ext`);
  const bpf = path.resolve(opts.scheduler);
  if (!/\.bpf\.c$/.test(bpf)) throw new TldError('EINVAL', `${opts.scheduler} is not a scheduler source (NAME.bpf.c)`);
  if (!fs.existsSync(bpf)) throw new TldError('ENOENT', `${opts.scheduler} does not exist`);
  const loaderSource = bpf.replace(/\.bpf\.c$/, '.c');
  if (!fs.existsSync(loaderSource)) throw new TldError('ENOENT', `the scheduler's loader ${loaderSource} does not exist`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-vm-run-'));
  try {
    const build = await buildScheduler(bpf, loaderSource, path.dirname(opts.kernel.vmlinuxH), work);
    if (!build.ok) return { diagnostics: build.diagnostics, exitCode: 1 };
    const initrd = path.join(work, 'initrd.gz');
    const loader = path.basename(build.loader);
    await buildInitramfs({
      out: initrd,
      binaries: [build.loader, ...opts.binaries],
      files: opts.files,
      init: guestInit([`(${opts.workload} </dev/null >/tmp/workload.log 2>&1 &)`, 'sleep 1', `${loader} ${opts.seconds}`]),
    });
    const boot = await bootGuest({ bzImage: opts.kernel.bzImage, initramfs: initrd, timeoutMs: opts.timeoutMs, onConsole: opts.onConsole });
    return { diagnostics: build.diagnostics, boot, exitCode: boot.timedOut ? 1 : boot.exitCode };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
