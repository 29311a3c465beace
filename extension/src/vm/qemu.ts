// Booting a kernel and initramfs in qemu and reading the guest's result off its serial console.
//
//   const r = await bootGuest({ bzImage: k.bzImage, initramfs: '/tmp/guest.cpio',
//                               timeoutMs: 120_000, onConsole: (l) => console.log(l) });
//   // r.exitCode: the N of the guest's last "TLD-VM-EXIT N" line (255 when it printed none)
//
// qemu runs as `qemu-system-x86_64 -nographic -nodefaults -serial stdio -no-reboot -kernel …
// -initrd … -append "console=ttyS0 panic=-1 quiet …"`; the guest's /init prints
// `TLD-VM-EXIT <code>` and ends with `poweroff -f` (initramfs.ts's guestInit writes such an
// /init). A kernel panic reboots, which -no-reboot turns into qemu's exit.
//
// Acceleration: KVM (`-enable-kvm -cpu host`) when /dev/kvm is usable and a probe boot of the
// same kernel (no initramfs, so it panics at once and exits) succeeds; else TCG (`-accel tcg
// -cpu max`). On some hosts KVM fails ("KVM internal error", or an MSR assertion): the probe
// catches it, and a KVM boot that still fails that way is rerun under TCG. The result says
// which was used and why. The probe's verdict is kept for the host's boot (accelCache.ts,
// <cacheDir>/vm-accel.json). TLD_VM_ACCEL=kvm|tcg (or opts.accel) skips the choice.
//
// On timeout qemu gets SIGTERM, then SIGKILL; bootGuest returns only after it has exited.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TldError } from '../client/errors';
import { cacheDir } from '../client/paths';
import { accelKey, readVerdict, writeVerdict } from './accelCache';
import { findTool } from './exec';
import { EXIT_MARK, INIT_STARTED } from './initramfs';

export type Accel = 'kvm' | 'tcg';

export interface BootOptions {
  readonly bzImage: string;
  readonly initramfs: string;
  /** Guest memory; default 1024 MiB. */
  readonly memoryMb?: number;
  /** Guest CPUs; default 2 (at most the host's). */
  readonly cpus?: number;
  /** Stop the guest after this long (qemu's start and any KVM probe included). */
  readonly timeoutMs: number;
  /** Each console line (serial output and qemu's own messages), without escape codes. */
  readonly onConsole: (line: string) => void;
  /** More kernel command line, after BASE_APPEND. */
  readonly append?: string;
  /** Force an accelerator; default: TLD_VM_ACCEL, else auto. */
  readonly accel?: Accel | 'auto';
  /** Stops the guest (and any KVM probe) when aborted; the result then says `stopped`. */
  readonly signal?: AbortSignal;
  /**
   * Starts the virtiofsd of each share before each qemu start (virtiofsd exits with the qemu
   * it served, and a boot may be retried); each becomes a vhost-user-fs device.
   */
  readonly startShares?: () => Promise<StartedShares>;
  /** virtio-serial ports: qemu connects each to a Unix socket someone already listens on. */
  readonly serialPorts?: readonly SerialPort[];
  /**
   * Where the guest's run begins for real (default: /init's first line): a guest kernel that
   * panics before a console line matches @mark is booted once more (see onceMoreAfterEarlyPanic).
   */
  readonly startedAt?: { readonly mark: RegExp; readonly what: string };
}

export interface SerialPort {
  /** The guest finds it by name in /sys/class/virtio-ports/vport*\/name. */
  readonly name: string;
  readonly socket: string;
}

export interface StartedShares {
  readonly shares: readonly GuestShare[];
  /** Stops their virtiofsd; called once qemu has exited. */
  stop(): void;
}

export interface GuestShare {
  /** The guest mounts it as `mount -t virtiofs TAG DIR`. */
  readonly tag: string;
  /** virtiofsd's vhost-user socket. */
  readonly socket: string;
}

export interface BootResult {
  /** The guest's last `TLD-VM-EXIT <code>`, or 255 when it printed none. */
  readonly exitCode: number;
  readonly accel: Accel;
  /** Why that accelerator ("KVM probe failed: KVM internal error", "/dev/kvm is absent"...). */
  readonly accelReason: string;
  /** The console's last lines (at most LAST_LINES). */
  readonly lastLines: string[];
  readonly timedOut: boolean;
  /** The signal stopped it. */
  readonly stopped: boolean;
  /** From qemu's start to its exit, in milliseconds (the KVM probe excluded). */
  readonly durationMs: number;
}

export const LAST_LINES = 40;
/** The exit code of a guest that printed no `TLD-VM-EXIT` line (it died before /init ended). */
export const NO_EXIT_LINE = 255;
// damon_stat: Debian's kernel starts DAMON's memory sampler (kdamond) at boot; a guest that
// lives seconds has no use for it, and under TCG it costs CPU time the scheduler is judged on
// (and was on the stack of a guest's panic). A kernel without DAMON ignores the dotted name.
// no_timer_check: the IO-APIC timer test waits for ticks that qemu's pc machine always delivers.
const BASE_APPEND = 'console=ttyS0 panic=-1 quiet damon_stat.enabled=N no_timer_check';

/**
 * More command line for @kernel's guests. The minimal kernel (source "built:..."): acpi=noirq.
 * Its PCI devices (virtio: the object and helper ports, virtiofs) use MSI-X, and routing their
 * legacy interrupts through ACPI's link devices took 140 ms of AML at the first port's probe
 * under TCG. Debian's cloud kernel with acpi=noirq finds no local APIC and runs on one CPU.
 */
export function kernelAppend(kernel: { readonly source: string }): string | undefined {
  return kernel.source.startsWith('built:') ? 'acpi=noirq' : undefined;
}

const PROBE_TIMEOUT_MS = 20_000;
const KVM_FAILURE = /KVM internal error|kvm_buf_set_msrs|failed to (initialize|set MSR)|kvm: .*(fail|error)|Could not access KVM/i;

/** Boots the guest; resolves when qemu has exited (or was killed at the time limit). */
export async function bootGuest(opts: BootOptions): Promise<BootResult> {
  const qemu = findTool('qemu-system-x86_64', 'boot the sched_ext guest');
  for (const [what, f] of [['kernel', opts.bzImage], ['initramfs', opts.initramfs]] as const) {
    if (!fs.existsSync(f)) throw new TldError('ENOENT', `the guest's ${what} ${f} does not exist`);
  }
  const started = Date.now();
  const choice = await chooseAccel(qemu, opts.bzImage, opts.accel ?? envAccel(), Math.min(PROBE_TIMEOUT_MS, opts.timeoutMs));
  const left = (): number => Math.max(1, opts.timeoutMs - (Date.now() - started));
  const first = await runQemu(qemu, opts, choice.accel, left());
  if (first.stopped) return result(first, choice.accel, choice.reason);
  if (choice.accel === 'kvm' && first.kvmFailed && !first.timedOut && first.exitCode === NO_EXIT_LINE) {
    const reason = `KVM failed during the boot (${first.kvmFailed}); rebooted under TCG`;
    opts.onConsole(`[tld-vm] ${reason}`);
    const underTcg = () => runQemu(qemu, opts, 'tcg', left());
    return result(await onceMoreAfterEarlyPanic(await underTcg(), underTcg, opts), 'tcg', reason);
  }
  return result(await onceMoreAfterEarlyPanic(first, () => runQemu(qemu, opts, choice.accel, left()), opts), choice.accel, choice.reason);
}

/**
 * Under TCG (qemu 7.2) the guest kernel has been seen to die in its own start-up (a fault in a
 * timer interrupt), and at a sched_ext scheduler's enable, in __schedule at a static key just
 * patched (a stale translation of the patched instruction on the other vCPU): when that happens
 * before the run began (opts.startedAt), boot once more (@again), and say so.
 */
async function onceMoreAfterEarlyPanic(r: QemuRun, again: () => Promise<QemuRun>, opts: BootOptions): Promise<QemuRun> {
  if (r.stopped || r.timedOut || r.exitCode !== NO_EXIT_LINE) return r;
  // Only before the run began: a workload that ran is not run again (its output would be twice
  // in the run's console, a trace's threads twice in its file).
  if (!r.lastLines.some((l) => /Kernel panic - not syncing/.test(l)) || r.started) return r;
  opts.onConsole(`[tld-vm] the guest kernel panicked before ${opts.startedAt?.what ?? '/init ran'}; booting it once more`);
  return again();
}

function result(r: QemuRun, accel: Accel, accelReason: string): BootResult {
  return {
    exitCode: r.exitCode,
    accel,
    accelReason,
    lastLines: r.lastLines,
    timedOut: r.timedOut,
    stopped: r.stopped,
    durationMs: r.durationMs,
  };
}

function envAccel(): Accel | 'auto' {
  const v = process.env.TLD_VM_ACCEL;
  return v === 'kvm' || v === 'tcg' ? v : 'auto';
}

function accelArgs(accel: Accel): string[] {
  // la57=off: with TCG's max CPU the guest kernel runs 5-level paging, and guests died now and
  // then in timers and interrupts with it (qemu 7.2); 4-level paging is all a guest of a few
  // GiB needs.
  return accel === 'kvm' ? ['-enable-kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max,la57=off'];
}

// ---------------------------------------------------------------------------------------
// Choosing the accelerator

interface AccelChoice {
  readonly accel: Accel;
  readonly reason: string;
}

/** Probe results of this process, by qemu and kernel image. */
const probes = new Map<string, Promise<AccelChoice>>();

async function chooseAccel(qemu: string, bzImage: string, wanted: Accel | 'auto', probeTimeoutMs: number): Promise<AccelChoice> {
  if (wanted === 'tcg') return { accel: 'tcg', reason: 'TCG was asked for' };
  if (wanted === 'kvm') return { accel: 'kvm', reason: 'KVM was asked for' };
  try {
    fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    return { accel: 'tcg', reason: fs.existsSync('/dev/kvm') ? '/dev/kvm is not accessible to this user' : '/dev/kvm is absent' };
  }
  let key = `${qemu}:${bzImage}`;
  try {
    key = `${qemu}:${bzImage}:${fs.statSync(bzImage).mtimeMs}`;
  } catch {
    // checked by the caller
  }
  let p = probes.get(key);
  if (!p) {
    p = keptOrProbed(qemu, bzImage, probeTimeoutMs);
    probes.set(key, p);
  }
  return p;
}

/** The verdict kept for this host boot and qemu (accelCache.ts), else a probe's, kept when decisive. */
async function keptOrProbed(qemu: string, bzImage: string, probeTimeoutMs: number): Promise<AccelChoice> {
  const file = path.join(cacheDir(), 'vm-accel.json');
  const key = accelKey(qemu);
  const kept = key ? readVerdict(file, key) : null;
  if (kept) return { accel: kept.accel, reason: `${kept.reason}; probed at ${kept.at}, kept for this boot of the host` };
  const probed = await probeKvm(qemu, bzImage, probeTimeoutMs);
  if (key && probed.decisive) writeVerdict(file, key, probed);
  return { accel: probed.accel, reason: probed.reason };
}

/**
 * Boots the kernel under KVM without an initramfs: it cannot mount a root, panics, and with
 * panic=-1 and -no-reboot qemu exits 0. Any KVM error, or no exit in time, means TCG.
 */
async function probeKvm(qemu: string, bzImage: string, timeoutMs: number): Promise<AccelChoice & { decisive: boolean }> {
  const args = [
    ...commonArgs(256, 1),
    ...accelArgs('kvm'),
    '-kernel',
    bzImage,
    '-append',
    'console=ttyS0 panic=-1 loglevel=4',
  ];
  const lines: string[] = [];
  const errors: string[] = [];
  const r = await runProcess(
    qemu,
    args,
    timeoutMs,
    (l, fromQemu) => {
      lines.push(l);
      if (fromQemu) errors.push(l);
    },
    (l, fromQemu) => fromQemu && KVM_FAILURE.test(l),
  );
  const kvmError = errors.find((l) => KVM_FAILURE.test(l));
  if (kvmError) return { accel: 'tcg', reason: `KVM probe failed: ${kvmError.trim().slice(0, 160)}`, decisive: true };
  if (r.timedOut) return { accel: 'tcg', reason: `KVM probe boot did not finish in ${timeoutMs} ms`, decisive: false };
  if (r.status !== 0) {
    return { accel: 'tcg', reason: `KVM probe boot: qemu exited with ${r.status}${lines.length ? `: ${lines[lines.length - 1]!.slice(0, 160)}` : ''}`, decisive: false };
  }
  if (!lines.some((l) => /Kernel panic|VFS:|Linux version/.test(l))) {
    return { accel: 'tcg', reason: 'KVM probe boot printed nothing from the kernel', decisive: false };
  }
  return { accel: 'kvm', reason: `/dev/kvm works (probe boot in ${r.durationMs} ms)`, decisive: true };
}

// ---------------------------------------------------------------------------------------
// Running qemu

interface QemuRun {
  readonly exitCode: number;
  readonly lastLines: string[];
  readonly timedOut: boolean;
  readonly stopped: boolean;
  readonly durationMs: number;
  /** The line that shows KVM failed, or null. */
  readonly kvmFailed: string | null;
  /** The guest's run began (BootOptions.startedAt's line, on any line, not only on the last ones). */
  readonly started: boolean;
}

function commonArgs(memoryMb: number, cpus: number): string[] {
  return [
    '-nographic',
    '-nodefaults',
    '-no-user-config',
    '-serial',
    'stdio',
    '-no-reboot',
    // No ACPI PCI hotplug (the guests never plug a device): a smaller DSDT, whose scan took
    // ~30 ms of acpi_init in a TCG guest.
    '-global',
    'PIIX4_PM.acpi-pci-hotplug-with-bridge-support=off',
    '-global',
    'PIIX4_PM.acpi-root-pci-hotplug=off',
    // SeaBIOS's banner would share the serial line with the guest's first line: silence it.
    '-fw_cfg',
    'name=etc/sercon-port,string=0',
    '-m',
    String(memoryMb),
    '-smp',
    String(cpus),
  ];
}

/** qemu's warning about the fw_cfg name above: noise, not shown. */
const FW_CFG_WARNING = /externally provided fw_cfg item names should be prefixed/;
/** SeaBIOS ends its banner without a newline (when it prints one): split the guest's line off. */
const SEABIOS_PREFIX = /^(Booting from ROM\.*)(.+)$/;

/**
 * virtiofs devices, and the guest memory they need: vhost-user maps the guest's RAM into
 * virtiofsd, so it must come from a shared memfd rather than qemu's private memory.
 */
function shareArgs(shares: readonly GuestShare[], memoryMb: number): string[] {
  if (shares.length === 0) return [];
  return [
    '-object', `memory-backend-memfd,id=mem,size=${memoryMb}M,share=on`,
    '-numa', 'node,memdev=mem',
    ...shares.flatMap((s, i) => ['-chardev', `socket,id=vfs${i},path=${s.socket}`, '-device', `vhost-user-fs-pci,chardev=vfs${i},tag=${s.tag}`]),
  ];
}

async function runQemu(qemu: string, opts: BootOptions, accel: Accel, timeoutMs: number): Promise<QemuRun> {
  const cpus = opts.cpus ?? Math.min(2, os.cpus().length || 1);
  const memoryMb = opts.memoryMb ?? 1024;
  const started = opts.signal?.aborted ? undefined : await opts.startShares?.();
  try {
    return await runQemuWith(qemu, opts, accel, timeoutMs, cpus, memoryMb, started?.shares ?? []);
  } finally {
    started?.stop();
  }
}

/** One virtio-serial controller and a port per socket (qemu is the socket's client). */
function serialArgs(ports: readonly SerialPort[]): string[] {
  if (ports.length === 0) return [];
  return [
    '-device', 'virtio-serial-pci,id=tldser',
    ...ports.flatMap((p, i) => ['-chardev', `socket,id=tldport${i},path=${p.socket}`, '-device', `virtserialport,bus=tldser.0,chardev=tldport${i},name=${p.name}`]),
  ];
}

export interface QemuArgsOptions {
  readonly bzImage: string;
  readonly initramfs: string;
  /** More kernel command line, after the base one. */
  readonly append?: string;
  readonly accel: Accel;
  readonly cpus: number;
  readonly memoryMb: number;
  readonly shares?: readonly GuestShare[];
  readonly serialPorts?: readonly SerialPort[];
}

/** qemu's command line for a boot: the runner's, and the benchmark's bare boot of the same guest. */
export function qemuArgs(o: QemuArgsOptions): string[] {
  return [
    ...commonArgs(o.memoryMb, o.cpus),
    ...shareArgs(o.shares ?? [], o.memoryMb),
    ...serialArgs(o.serialPorts ?? []),
    ...accelArgs(o.accel),
    '-kernel',
    o.bzImage,
    '-initrd',
    o.initramfs,
    '-append',
    o.append ? `${BASE_APPEND} ${o.append}` : BASE_APPEND,
  ];
}

async function runQemuWith(qemu: string, opts: BootOptions, accel: Accel, timeoutMs: number, cpus: number, memoryMb: number, shares: readonly GuestShare[]): Promise<QemuRun> {
  const args = qemuArgs({
    bzImage: opts.bzImage,
    initramfs: opts.initramfs,
    ...(opts.append ? { append: opts.append } : {}),
    accel,
    cpus,
    memoryMb,
    shares,
    serialPorts: opts.serialPorts ?? [],
  });
  const last: string[] = [];
  let exitCode = NO_EXIT_LINE;
  let kvmFailed: string | null = null;
  let started = false;
  const startMark = opts.startedAt?.mark ?? new RegExp(INIT_STARTED);
  const exitRe = new RegExp(`${EXIT_MARK} (\\d+)`);
  const onLine = (line: string, fromQemu: boolean): void => {
    last.push(line);
    if (!started && startMark.test(line)) started = true;
    if (last.length > LAST_LINES) last.shift();
    const m = exitRe.exec(line);
    if (m) exitCode = Math.min(255, Number(m[1]));
    if (accel === 'kvm' && fromQemu && kvmFailed === null && KVM_FAILURE.test(line)) kvmFailed = line.trim().slice(0, 160);
    opts.onConsole(line);
  };
  // A KVM failure leaves qemu paused forever: stop it at once (when the guest has not finished).
  const r = await runProcess(qemu, args, timeoutMs, onLine, (l, fromQemu) => accel === 'kvm' && fromQemu && exitCode === NO_EXIT_LINE && KVM_FAILURE.test(l), opts.signal);
  return { exitCode, lastLines: last, timedOut: r.timedOut, stopped: r.stopped, durationMs: r.durationMs, kvmFailed: r.stoppedEarly || r.status !== 0 ? kvmFailed : null, started };
}

interface ProcessRun {
  readonly status: number;
  readonly timedOut: boolean;
  readonly stoppedEarly: boolean;
  /** The abort signal stopped it. */
  readonly stopped: boolean;
  readonly durationMs: number;
}

/** qemu processes still running, killed if this process exits first. */
const live = new Set<ChildProcess>();
let exitHook = false;

/**
 * Runs qemu with stdin closed; serial output (stdout) and qemu's own messages (stderr,
 * fromQemu) become lines. `stopOn` ends it early when a line matches. Resolves after the process has exited.
 */
function runProcess(
  file: string,
  args: string[],
  timeoutMs: number,
  onLine: (line: string, fromQemu: boolean) => void,
  stopOn: (line: string, fromQemu: boolean) => boolean,
  signal?: AbortSignal,
): Promise<ProcessRun> {
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL');
    });
  }
  const start = Date.now();
  return new Promise<ProcessRun>((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let timedOut = false;
    let stoppedEarly = false;
    let killTimer: NodeJS.Timeout | null = null;
    const stop = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killTimer ??= setTimeout(() => child.kill('SIGKILL'), 2000);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    signal?.addEventListener('abort', stop, { once: true });
    if (signal?.aborted) stop();
    const pending = { out: '', err: '' };
    const splitter = (fromQemu: boolean): ((b: Buffer) => void) => {
      const key = fromQemu ? 'err' : 'out';
      return (b: Buffer) => {
        const parts = (pending[key] + b.toString('utf8')).split('\n');
        pending[key] = parts.pop() ?? '';
        for (const p of parts) emit(p, fromQemu);
      };
    };
    const emit = (raw: string, fromQemu: boolean): void => {
      const line = cleanConsoleLine(raw);
      if (line === '' || (fromQemu && FW_CFG_WARNING.test(line))) return;
      const glued = fromQemu ? null : SEABIOS_PREFIX.exec(line);
      if (glued) {
        emit(glued[1]!, false);
        emit(glued[2]!, false);
        return;
      }
      onLine(line, fromQemu);
      if (!stoppedEarly && stopOn(line, fromQemu)) {
        stoppedEarly = true;
        stop();
      }
    };
    child.stdout.on('data', splitter(false));
    child.stderr.on('data', splitter(true));
    child.on('error', (e) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      live.delete(child);
      reject(new TldError('EIO', `cannot run ${file}: ${e.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
      emit(pending.out, false);
      emit(pending.err, true);
      if (killTimer) clearTimeout(killTimer);
      live.delete(child);
      resolve({ status: code ?? -1, timedOut, stoppedEarly, stopped: signal?.aborted ?? false, durationMs: Date.now() - start });
    });
  });
}

/** A console line without terminal escape sequences, carriage returns and other controls. */
export function cleanConsoleLine(raw: string): string {
  return raw
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '') // CSI sequences: colours, cursor, clear
    .replace(/\x1b[()][0-9A-Za-z]/g, '') // charset selection
    .replace(/\x1b[@-_c78=>]/g, '') // other two-byte escapes (ESC c: reset, ESC 7/8: cursor)
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
    .trimEnd();
}

/** The guest's result code in console lines: the last "TLD-VM-EXIT N", or 255. */
export function exitCodeOf(lines: readonly string[]): number {
  const re = new RegExp(`${EXIT_MARK} (\\d+)`);
  let code = NO_EXIT_LINE;
  for (const l of lines) {
    const m = re.exec(l);
    if (m) code = Math.min(255, Number(m[1]));
  }
  return code;
}
