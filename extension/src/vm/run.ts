// Trying a scheduler in the sched_ext guest: build it for the guest kernel, boot, enable it
// with tld-scx-run while a workload runs, stream the console, and say how it went. The same
// workload can run under the kernel's default scheduler, for comparison.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { Diagnostic } from '../client/compiler';
import { TldError } from '../client/errors';
import { cacheDir } from '../client/paths';
import { shellQuote } from './exec';
import { verifierDiagnostic } from '../client/loader';
import { parseVerifierLog } from '../client/verifierLog';
import { isElf } from './elf';
import { buildInitramfs, guestInit } from './initramfs';
import { COMMAND_SCRIPT, JUDGE_SCRIPT, judgeCommand, judgeScript, parseJudge } from './judge';
import { KernelInfo } from './kernel';
import { describeKernel } from './kernelInfo';
import { BootOptions, BootResult, NO_EXIT_LINE, SerialPort, StartedShares, bootGuest, kernelAppend } from './qemu';
import { SchedulerBuildOptions, buildScheduler, guestObjectBytes } from './scheduler';
import { SchedulerOutcome, schedulerOutcome } from './schedulerStats';
import { Virtiofsd, startVirtiofsd } from './virtiofs';
import { GUEST_HELPER_PORT, guestHelperCommand, helperOverlay } from './guestHelper';
import { GuestRelay } from './guestRelay';
import { OBJECT_PORT, ObjectPort } from './objectPort';

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
  /** Guest CPUs (default 2) and memory in MiB (default 1024); see checkResources. */
  readonly cpus?: number;
  readonly memoryMb?: number;
  /**
   * Runs TLD Studio's helper host in the guest, reachable while the run lasts through a relay
   * (guestRelay.ts): tldctl vm ps/snapshot/set and the extension's views inspect the guest's
   * processes. Gives TLD Studio's root (dist/helperHost.js, native/build) and the cache folder
   * that keeps the packed Node. Costs boot time (bench/guestInspect.ts measures it).
   */
  readonly inspect?: { readonly studioRoot: string; readonly cacheDir: string };
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
  /** How a developer's own command's run ended, in one sentence (runCommand). */
  readonly message?: string;
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
 * What every guest gets: tld-demo, tld-latency and tld-snapshot (a process's hints and
 * scheduling as JSON lines), with libtld, libtldhelper and the demo's plugin beside them in
 * /bin (their rpath is $ORIGIN), and @workload to run (default: the demo).
 */
export function guestWorkload(nativeBuild: string, seconds: number, workload?: string): Pick<WorkloadOptions, 'binaries' | 'files' | 'workload'> {
  return {
    binaries: [path.join(nativeBuild, 'tld-demo'), path.join(nativeBuild, 'tld-latency'), path.join(nativeBuild, 'tld-snapshot')],
    files: [
      { src: path.join(nativeBuild, 'libtld.so'), dest: '/bin/libtld.so' },
      { src: path.join(nativeBuild, 'libtldhelper.so'), dest: '/bin/libtldhelper.so' },
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
  checkResources(opts.cpus, opts.memoryMb);
  const bpf = path.resolve(opts.scheduler);
  if (!/\.bpf\.c$/.test(bpf)) throw new TldError('EINVAL', `${opts.scheduler} is not a scheduler source (NAME.bpf.c)`);
  if (!fs.existsSync(bpf)) throw new TldError('ENOENT', `${opts.scheduler} does not exist`);
  const loader = path.join(opts.nativeBuild, LOADER);
  if (!fs.existsSync(loader)) throw new TldError('ENOENT', `${loader} is missing: build it with \`make -C native\` (or npm run build)`);
  return inWorkDir(async (work) => {
    opts.onStep?.(`building ${path.basename(bpf)} for ${opts.kernel.version}`);
    // The guest boots while clang compiles, and gets the object over a port when it is built.
    // What the boot says waits for the build: a compile error ends the boot unseen.
    const guestObject = `/etc/${path.basename(bpf).replace(/\.bpf\.c$/, '.bpf.o')}`;
    const port = await ObjectPort.listen(work);
    const stop = new AbortController();
    const held = new HeldOutput(opts);
    try {
      // Until the loader says the scheduler is enabled nothing of the workload ran: a guest kernel
      // that panics before (qemu.ts says when under TCG) is booted once more.
      const startedAt = { mark: /^tld-scx-run: \S+ enabled \(/, what: 'the scheduler was enabled' };
      const booting = boot({ ...opts, ...held.opts, startedAt, signal: opts.signal ? AbortSignal.any([opts.signal, stop.signal]) : stop.signal }, work, [loader, ...opts.binaries], [], [
        `${LOADER} --seconds ${opts.seconds}${loaderSets(opts.sets ?? [])} --from-port ${OBJECT_PORT} ${guestObject} -- sh ${WORKLOAD_SCRIPT}`,
      ], undefined, [], [port.port]);
      booting.catch(() => undefined); // awaited once the build is done
      const build = await buildScheduler(bpf, path.dirname(opts.kernel.vmlinuxH), work, opts.build).catch((e: unknown) => {
        stop.abort();
        throw e;
      });
      if (!build.ok) {
        stop.abort();
        await booting.catch(() => undefined);
        return { diagnostics: build.diagnostics, exitCode: 1, outcome: {} };
      }
      port.send(await guestObjectBytes(build.object));
      held.release();
      const run = await booting;
      const diagnostics = run.boot.exitCode === 1 ? guestVerifierDiagnostics(run.lines, bpf, build.object) : [];
      return { diagnostics: [...build.diagnostics, ...diagnostics], boot: run.boot, exitCode: run.exitCode, outcome: schedulerOutcome(run.lines) };
    } finally {
      stop.abort();
      port.close();
    }
  });
}

/** A run's steps and console, held back until release() (and dropped when never released). */
class HeldOutput {
  private held: (() => void)[] | undefined = [];
  readonly opts: Pick<WorkloadOptions, 'onConsole' | 'onStep'>;

  constructor(to: Pick<WorkloadOptions, 'onConsole' | 'onStep'>) {
    const hold = (f: () => void) => (this.held ? this.held.push(f) : f());
    this.opts = {
      onConsole: (line) => hold(() => to.onConsole(line)),
      ...(to.onStep ? { onStep: (m: string) => hold(() => to.onStep!(m)) } : {}),
    };
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const f of held) f();
  }
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
  checkResources(opts.cpus, opts.memoryMb);
  return inWorkDir(async (work) => {
    const run = await boot(opts, work, opts.binaries, [], `sh ${WORKLOAD_SCRIPT}`);
    return { diagnostics: [], boot: run.boot, exitCode: run.exitCode, outcome: {} };
  });
}

// ---------------------------------------------------------------------------------------
// A developer's own loader: --share DIR --cmd COMMAND

export interface CommandRunOptions extends WorkloadOptions {
  /** The host folder the guest sees at the same path; the command's working directory. */
  readonly share: string;
  /** A guest shell command, started as root in the shared folder (judge.ts judges its run). */
  readonly command: string;
}

/** The ranges vm run takes for --cpus and --memory. */
export const CPU_RANGE = { min: 1, max: 64 } as const;
export const MEMORY_MB_RANGE = { min: 256, max: 65_536 } as const;

/** Throws an EINVAL TldError when --cpus or --memory is out of range (or the host has too little memory). */
export function checkResources(cpus: number | undefined, memoryMb: number | undefined): void {
  if (cpus !== undefined && (!Number.isInteger(cpus) || cpus < CPU_RANGE.min || cpus > CPU_RANGE.max)) {
    throw new TldError('EINVAL', `the guest takes ${CPU_RANGE.min} to ${CPU_RANGE.max} CPUs, not ${cpus}`);
  }
  if (memoryMb === undefined) return;
  if (!Number.isInteger(memoryMb) || memoryMb < MEMORY_MB_RANGE.min || memoryMb > MEMORY_MB_RANGE.max) {
    throw new TldError('EINVAL', `the guest takes ${MEMORY_MB_RANGE.min} to ${MEMORY_MB_RANGE.max} MiB of memory, not ${memoryMb}`);
  }
  const hostMb = Math.floor(os.totalmem() / 2 ** 20);
  if (memoryMb > hostMb) throw new TldError('EINVAL', `the guest cannot have ${memoryMb} MiB of memory: this machine has ${hostMb} MiB`);
}

/** Guest paths the guest's own file systems or the host's /usr share hold. */
const RESERVED = ['/proc', '/sys', '/dev', '/run/tld-host'];
/** Where the guest mounts the host's /usr (read-only): its lib and local become the guest's. */
const HOST_USR = '/run/tld-host/usr';

/** The absolute folder to share, or a TldError saying why it cannot be. */
export function checkShare(dir: string): string {
  const abs = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new TldError('ENOENT', `the folder to share with the guest, ${abs}, does not exist`);
  }
  if (!st.isDirectory()) throw new TldError('EINVAL', `${abs} is not a folder: --share takes the folder the command runs in`);
  if (abs === '/') throw new TldError('EINVAL', 'the whole file system cannot be shared with the guest: --share takes a project folder');
  const under = RESERVED.find((r) => abs === r || abs.startsWith(`${r}/`));
  if (under) throw new TldError('EINVAL', `${abs} cannot be shared: the guest has its own ${under}`);
  return abs;
}

/** How the shared folder reaches the guest (see runCommand). */
export type ShareMode = 'virtiofs' | 'copy';

/** The most a folder copied into the initramfs may hold. */
export const COPY_LIMIT_MB = 512;

/**
 * virtiofs as root. Debian 12's virtiofsd drops the supplementary groups at its start, which an
 * ordinary user cannot do, not even in a user namespace of its own (where every group it has
 * still counts): an ordinary user gets the folder copied into the initramfs instead.
 * TLD_VM_SHARE=virtiofs|copy chooses (virtiofs then runs as the caller in a user namespace,
 * which works for a process started without supplementary groups).
 */
export function shareMode(env: NodeJS.ProcessEnv = process.env): { readonly mode: ShareMode; readonly why: string } {
  if (env.TLD_VM_SHARE === 'copy' || env.TLD_VM_SHARE === 'virtiofs') return { mode: env.TLD_VM_SHARE, why: `TLD_VM_SHARE=${env.TLD_VM_SHARE}` };
  if (process.getuid?.() === 0) return { mode: 'virtiofs', why: 'root runs virtiofsd' };
  return { mode: 'copy', why: "qemu's virtiofsd needs root to share it live" };
}

/** The size of @dir in MiB and its ELF executables (whose libraries the guest needs), or a TldError past COPY_LIMIT_MB. */
function folderForCopy(dir: string): { mb: number; executables: string[] } {
  let bytes = 0;
  const executables: string[] = [];
  const head = Buffer.alloc(64);
  const visit = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        visit(p);
        continue;
      }
      if (!e.isFile()) continue;
      const st = fs.statSync(p);
      bytes += st.size;
      if (bytes > COPY_LIMIT_MB * 2 ** 20) {
        throw new TldError('EINVAL', `${dir} holds more than ${COPY_LIMIT_MB} MiB: without virtiofs it is copied into the guest, so share a smaller folder (--share)`);
      }
      if (!(st.mode & 0o111) || st.size < 64) continue;
      const fd = fs.openSync(p, 'r');
      try {
        if (fs.readSync(fd, head, 0, head.length, 0) === head.length && isElf(head)) executables.push(p);
      } finally {
        fs.closeSync(fd);
      }
    }
  };
  visit(dir);
  return { mb: Math.round((bytes / 2 ** 20) * 10) / 10, executables };
}

/**
 * Runs the developer's own command (their loader, C or Rust, built on the host) in the guest:
 * @share at the same path, read-write, as its working directory; the host's /usr/lib and
 * /usr/local read-only, so that host-built binaries find their shared libraries (libbpf,
 * libelf, libz, libc...) where ld.so looks; the host's /usr/bin and /usr/sbin at the end of
 * its PATH. judge.ts says how the run went.
 *
 * Why virtiofs rather than copying into the initramfs: a project folder (scx with its build
 * folders, a Rust target/) is hundreds of MiB that gzip and the guest's RAM would carry on
 * every run, and the host's libraries are more. Measured here (bench/vm.ts): both virtiofsd
 * start in 30-60 ms and the guest reads only what the command opens, while packing an 18 MB
 * built C project into the initramfs adds 4 s to its 1.4 s; and the run to enabled with the
 * developer's loader is 0.98-1.01x the generic loader's on the same scheduler. An ordinary user
 * cannot run Debian 12's virtiofsd (shareMode): their folder (up to COPY_LIMIT_MB) is copied
 * into the initramfs with the libraries of its ELF executables, and the guest's writes stay
 * in the guest.
 */
export async function runCommand(opts: CommandRunOptions): Promise<RunResult> {
  if (!opts.kernel.hasSchedExt) throw new TldError('EINVAL', `kernel ${opts.kernel.version} has no sched_ext`);
  const dir = checkShare(opts.share);
  if (opts.command.trim() === '') throw new TldError('EINVAL', 'the command to run in the guest is empty');
  checkResources(opts.cpus, opts.memoryMb);
  return inWorkDir(async (work) => {
    // virtiofsd of the read-only share may run as nobody: it must reach its socket's folder.
    fs.chmodSync(work, 0o711);
    const judge = path.join(work, 'judge.sh');
    fs.writeFileSync(judge, judgeScript());
    const command = path.join(work, 'command.sh');
    fs.writeFileSync(command, `export PATH=/bin:/sbin:/usr/bin:/usr/sbin:/usr/local/sbin:/usr/local/bin:${HOST_USR}/sbin:${HOST_USR}/bin HOME=/root\n${opts.command}\n`);
    const files = [{ src: judge, dest: JUDGE_SCRIPT }, { src: command, dest: COMMAND_SCRIPT }];
    // ld.so finds libraries of /usr/local/lib and the like through the host's cache.
    if (fs.existsSync('/etc/ld.so.cache')) files.push({ src: '/etc/ld.so.cache', dest: '/etc/ld.so.cache' });
    const q = shellQuote(dir);
    const mount = [
      `mkdir -p /usr/lib /usr/local ${HOST_USR} ${q}`,
      `mount -t virtiofs -o ro ${USR_TAG} ${HOST_USR}`,
      `mount -o bind ${HOST_USR}/lib /usr/lib`,
      `mount -o bind ${HOST_USR}/local /usr/local`,
      `mount -t virtiofs ${SHARE_TAG} ${q}`,
    ].join(' && ') + ` || { echo ${shellQuote(`tld-vm: verdict 1: the guest could not mount the shared folder ${dir}`)}; exit 1; }`;
    const how = shareMode();
    if (how.mode === 'copy') {
      const folder = folderForCopy(dir);
      opts.onStep?.(`copying ${dir} (${folder.mb} MiB) into the guest: ${how.why}; the guest's writes there stay in the guest`);
      // Bound at its path once /init has mounted its own /tmp (and the like) over the initramfs's.
      const bind = `mkdir -p ${q} && mount -o bind ${COPIED_SHARE} ${q} || { echo ${shellQuote(`tld-vm: verdict 1: the guest could not put the copy of ${dir} at its path`)}; exit 1; }`;
      const run = await boot(opts, work, opts.binaries, [...files, { src: dir, dest: COPIED_SHARE }],
        [bind, judgeCommand({ seconds: opts.seconds, dir, workloadScript: WORKLOAD_SCRIPT })], undefined, folder.executables);
      const j = parseJudge(run.lines);
      return { diagnostics: [], boot: run.boot, exitCode: run.exitCode, outcome: j.outcome, ...(j.message !== undefined ? { message: j.message } : {}) };
    }
    const sockets = { usr: path.join(work, 'usr-vfs'), share: path.join(work, 'share-vfs') };
    for (const d of Object.values(sockets)) fs.mkdirSync(d, { mode: 0o711 });
    const startShares = async (): Promise<StartedShares> => {
      opts.onStep?.(`sharing ${dir} (read-write) and the host's /usr (read-only) over virtiofs`);
      const started: Virtiofsd[] = [];
      const stop = (): void => started.forEach((d) => d.stop());
      try {
        fs.rmSync(path.join(sockets.usr, 'usr.sock'), { force: true });
        fs.rmSync(path.join(sockets.share, 'share.sock'), { force: true });
        started.push(await startVirtiofsd({ source: '/usr', tag: USR_TAG, socket: path.join(sockets.usr, 'usr.sock'), readOnly: true }));
        started.push(await startVirtiofsd({ source: dir, tag: SHARE_TAG, socket: path.join(sockets.share, 'share.sock'), readOnly: false }));
      } catch (e) {
        stop();
        throw e;
      }
      return { shares: started.map((d) => ({ tag: d.tag, socket: d.socket })), stop };
    };
    const run = await boot(opts, work, opts.binaries, files, [mount, judgeCommand({ seconds: opts.seconds, dir, workloadScript: WORKLOAD_SCRIPT })], startShares);
    const j = parseJudge(run.lines);
    return {
      diagnostics: [],
      boot: run.boot,
      exitCode: run.exitCode,
      outcome: j.outcome,
      ...(j.message !== undefined ? { message: j.message } : {}),
    };
  });
}

const USR_TAG = 'tldusr';
/** Where the initramfs holds a copied share until /init binds it at its path. */
const COPIED_SHARE = '/.tld-share';
const SHARE_TAG = 'tldshare';

async function inWorkDir<T>(f: (work: string) => Promise<T>): Promise<T> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-vm-run-'));
  try {
    return await f(work);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function boot(opts: WorkloadOptions & Pick<BootOptions, 'startedAt'>, work: string, binaries: readonly string[], files: readonly { src: string; dest: string }[], command: string | readonly string[],
  startShares?: () => Promise<StartedShares>, librariesOf: readonly string[] = [], ports: readonly SerialPort[] = []): Promise<{ boot: BootResult; lines: string[]; exitCode: number }> {
  const script = path.join(work, 'workload.sh');
  fs.writeFileSync(script, `${opts.workload}\n`);
  const initrd = path.join(work, 'initrd.cpio');
  const overlay = opts.inspect ? await helperOverlay(opts.inspect, opts.onStep) : undefined;
  opts.onStep?.('packing the guest\'s initramfs');
  const commands = typeof command === 'string' ? [command] : command;
  await buildInitramfs({
    out: initrd,
    binaries,
    files: opts.files,
    runFiles: [...files, { src: script, dest: WORKLOAD_SCRIPT }],
    init: guestInit(overlay ? [guestHelperCommand(), ...commands] : commands),
    librariesOf,
    baseCache: path.join(cacheDir(), 'initramfs'),
  });
  // The kernel unpacks concatenated archives in order: the run's, then the helper's.
  if (overlay) fs.appendFileSync(initrd, fs.readFileSync(overlay));
  const lines: string[] = [];
  const relay = overlay ? await GuestRelay.start(work, (l) => opts.onConsole(`[tld-vm] ${l}`)) : undefined;
  try {
    return await bootWith(opts, initrd, lines, startShares, [...(relay ? [{ name: GUEST_HELPER_PORT, socket: relay.qemuSocket }] : []), ...ports]);
  } finally {
    relay?.close();
  }
}

async function bootWith(opts: WorkloadOptions & Pick<BootOptions, 'startedAt'>, initrd: string, lines: string[], startShares: (() => Promise<StartedShares>) | undefined,
  serialPorts: readonly SerialPort[]): Promise<{ boot: BootResult; lines: string[]; exitCode: number }> {
  opts.onStep?.(`booting ${describeKernel(opts.kernel)} (the console follows)`);
  const append = kernelAppend(opts.kernel);
  const b = await bootGuest({
    ...(serialPorts.length ? { serialPorts } : {}),
    bzImage: opts.kernel.bzImage,
    initramfs: initrd,
    ...(append ? { append } : {}),
    timeoutMs: opts.timeoutMs,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.cpus !== undefined ? { cpus: opts.cpus } : {}),
    ...(opts.memoryMb !== undefined ? { memoryMb: opts.memoryMb } : {}),
    ...(startShares ? { startShares } : {}),
    ...(opts.startedAt ? { startedAt: opts.startedAt } : {}),
    onConsole: (line) => {
      lines.push(line);
      opts.onConsole(line);
    },
  });
  // No exit line: the guest died before /init finished (a kernel panic, a crash).
  return { boot: b, lines, exitCode: b.timedOut || b.exitCode === NO_EXIT_LINE ? 1 : b.exitCode };
}
