// Trying a scheduler in the sched_ext guest: build it for the guest kernel, boot, enable it
// with tld-scx-run while a workload runs, stream the console, and say how it went. The same
// workload can run under the kernel's default scheduler, for comparison.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Diagnostic } from '../client/compiler';
import { TldError } from '../client/errors';
import { verifierDiagnostic } from '../client/loader';
import { parseVerifierLog } from '../client/verifierLog';
import { buildInitramfs, guestInit } from './initramfs';
import { KernelInfo } from './kernel';
import { BootResult, NO_EXIT_LINE, bootGuest } from './qemu';
import { SchedulerBuildOptions, buildScheduler } from './scheduler';
import { SchedulerOutcome, schedulerOutcome } from './schedulerStats';

export { NO_EXIT_LINE };

/** A workload and the run around it. */
export interface WorkloadOptions {
  readonly kernel: KernelInfo;
  /** Host binaries for the guest's /bin (tld-demo and its libraries by default). */
  readonly binaries: readonly string[];
  readonly files: readonly { src: string; dest: string }[];
  /** A guest shell command; its output goes to the console. */
  readonly workload: string;
  readonly seconds: number;
  readonly timeoutMs: number;
  readonly onConsole: (line: string) => void;
  /** Each step of the run as it starts: building, the initramfs, booting. */
  readonly onStep?: (message: string) => void;
  /** Ends the run early: the guest is stopped, or never started. */
  readonly signal?: AbortSignal;
}

export interface RunOptions extends WorkloadOptions {
  /** The scheduler's source, NAME.bpf.c. */
  readonly scheduler: string;
  /** Its include folders and flags. */
  readonly build?: SchedulerBuildOptions;
  /** The folder of tld-scx-run (native/build). */
  readonly nativeBuild: string;
  /** Settings for the scheduler's globals, "NAME=VALUE" each (tld-scx-run --set). */
  readonly sets?: readonly string[];
}

export interface RunResult {
  readonly diagnostics: readonly Diagnostic[];
  readonly boot?: BootResult;
  /**
   * Under a scheduler: 0 when it stayed enabled, 1 when it did not load or enable, 2 when the
   * kernel disabled it. Under the default scheduler: the workload's status.
   */
  readonly exitCode: number;
  readonly outcome: SchedulerOutcome;
}

/** How a scheduler's run ended, by its exit code (see RunResult). */
export type RunVerdict = 'enabled' | 'disabled' | 'failed';

export function verdictOf(r: Pick<RunResult, 'exitCode'>): RunVerdict {
  return r.exitCode === 0 ? 'enabled' : r.exitCode === 2 ? 'disabled' : 'failed';
}

/** The guest's copy of the workload: a script, so that any shell command survives quoting. */
const WORKLOAD_SCRIPT = '/etc/tld-workload.sh';
const LOADER = 'tld-scx-run';

/** The default workload: tld-demo publishing hints for longer than the run, which stops it. */
export const demoCommand = (seconds: number): string => `tld-demo --threads 4 --seconds ${seconds + 3}`;

/** tld-latency (native/workloads/tld_latency.c): hinted and unhinted periodic threads among CPU hogs. */
export const latencyCommand = (seconds: number, hogs = 4): string => `tld-latency --hogs ${hogs} --sleepers 2 --seconds ${seconds}`;

/**
 * What every guest gets: tld-demo and tld-latency, with libtld and the demo's plugin beside
 * them in /bin (their rpath is $ORIGIN), and @workload to run (default: the demo).
 */
export function guestWorkload(nativeBuild: string, seconds: number, workload?: string): Pick<WorkloadOptions, 'binaries' | 'files' | 'workload'> {
  return {
    binaries: [path.join(nativeBuild, 'tld-demo'), path.join(nativeBuild, 'tld-latency')],
    files: [
      { src: path.join(nativeBuild, 'libtld.so'), dest: '/bin/libtld.so' },
      { src: path.join(nativeBuild, 'libtld-demo-plugin.so'), dest: '/bin/libtld-demo-plugin.so' },
    ],
    workload: workload ?? demoCommand(seconds),
  };
}

/** The verifier's error in the guest's console, at its line of @source. */
export function guestVerifierDiagnostics(lines: readonly string[], source: string, object?: string): Diagnostic[] {
  const begin = lines.findIndex((l) => /-- BEGIN PROG LOAD LOG --/.test(l));
  if (begin < 0) return [];
  const end = lines.findIndex((l, i) => i > begin && /-- END PROG LOAD LOG --/.test(l));
  const program = /prog '([^']+)'/.exec(lines[begin] as string)?.[1] ?? path.basename(source);
  const v = parseVerifierLog(lines.slice(begin, end < 0 ? undefined : end + 1).join('\n'), program);
  return v ? [verifierDiagnostic(source, v, object)] : [];
}

export async function runScheduler(opts: RunOptions): Promise<RunResult> {
  if (!opts.kernel.hasSchedExt) throw new TldError('EINVAL', `kernel ${opts.kernel.version} has no sched_ext`);
  const bpf = path.resolve(opts.scheduler);
  if (!/\.bpf\.c$/.test(bpf)) throw new TldError('EINVAL', `${opts.scheduler} is not a scheduler source (NAME.bpf.c)`);
  if (!fs.existsSync(bpf)) throw new TldError('ENOENT', `${opts.scheduler} does not exist`);
  const loader = path.join(opts.nativeBuild, LOADER);
  if (!fs.existsSync(loader)) throw new TldError('ENOENT', `${loader} is missing: build it with \`make -C native\` (or npm run build)`);
  return inWorkDir(async (work) => {
    opts.onStep?.(`building ${path.basename(bpf)} for ${opts.kernel.version}`);
    const build = await buildScheduler(bpf, path.dirname(opts.kernel.vmlinuxH), work, opts.build);
    if (!build.ok) return { diagnostics: build.diagnostics, exitCode: 1, outcome: {} };
    const guestObject = `/etc/${path.basename(build.object)}`;
    const run = await boot(opts, work, [loader, ...opts.binaries], [{ src: build.object, dest: guestObject }],
      `${LOADER} --seconds ${opts.seconds}${loaderSets(opts.sets ?? [])} ${guestObject} -- sh ${WORKLOAD_SCRIPT}`);
    const diagnostics = run.boot.exitCode === 1 ? guestVerifierDiagnostics(run.lines, bpf, build.object) : [];
    return { diagnostics: [...build.diagnostics, ...diagnostics], boot: run.boot, exitCode: run.exitCode, outcome: schedulerOutcome(run.lines) };
  });
}

/** A setting for tld-scx-run's --set: NAME=VALUE, a C identifier and a value without spaces or quotes. */
export const SET_ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=[A-Za-z0-9_+\-.]+$/;

/** " --set 'NAME=VALUE'" for each setting, checked against SET_ASSIGNMENT (they reach a guest shell). */
function loaderSets(sets: readonly string[]): string {
  return sets
    .map((s) => {
      if (!SET_ASSIGNMENT.test(s)) throw new TldError('EINVAL', `--set ${s}: give NAME=VALUE, where VALUE is a number, true/false or an enumerator`);
      return ` --set '${s}'`;
    })
    .join('');
}

/** Runs the workload under the kernel's default scheduler (no sched_ext scheduler loaded). */
export async function runWorkload(opts: WorkloadOptions): Promise<RunResult> {
  return inWorkDir(async (work) => {
    const run = await boot(opts, work, opts.binaries, [], `sh ${WORKLOAD_SCRIPT}`);
    return { diagnostics: [], boot: run.boot, exitCode: run.exitCode, outcome: {} };
  });
}

async function inWorkDir<T>(f: (work: string) => Promise<T>): Promise<T> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-vm-run-'));
  try {
    return await f(work);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function boot(opts: WorkloadOptions, work: string, binaries: readonly string[], files: readonly { src: string; dest: string }[], command: string):
  Promise<{ boot: BootResult; lines: string[]; exitCode: number }> {
  const script = path.join(work, 'workload.sh');
  fs.writeFileSync(script, `${opts.workload}\n`);
  const initrd = path.join(work, 'initrd.gz');
  opts.onStep?.('packing the guest\'s initramfs');
  await buildInitramfs({
    out: initrd,
    binaries,
    files: [...opts.files, ...files, { src: script, dest: WORKLOAD_SCRIPT }],
    init: guestInit([command]),
  });
  const lines: string[] = [];
  opts.onStep?.(`booting ${opts.kernel.version} (the console follows)`);
  const b = await bootGuest({
    bzImage: opts.kernel.bzImage,
    initramfs: initrd,
    timeoutMs: opts.timeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    onConsole: (line) => {
      lines.push(line);
      opts.onConsole(line);
    },
  });
  // No exit line: the guest died before /init finished (a kernel panic, a crash).
  return { boot: b, lines, exitCode: b.timedOut || b.exitCode === NO_EXIT_LINE ? 1 : b.exitCode };
}
