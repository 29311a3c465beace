// tldctl vm kernel and vm run: a sched_ext kernel cached, and schedulers tried in a qemu guest.
// The VM runner is imported when a vm command runs (command.ts says why).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { cacheDir, studioRoot } from '../../client/paths';
import { printable } from '../../client/printable';
import { toJson } from '../../client/values';
import type { Progress } from '../../vm/kernelInfo';
import { UsageError, positiveInt } from '../args';
import { BUILD_OPTIONS, ClientOpener, Command, out, withClient } from '../command';
import { psWith, setWith, snapshotWith, watchLoop } from './inspect';

/** A client of the guest of the running VM @id (or the only one), through its relay. */
async function guestOpener(id: number | undefined, pin: string): Promise<ClientOpener> {
  const { pickVm } = await import('../../vm/guestRelay');
  const vm = pickVm(id);
  return (fn) => withClient(pin, fn, { guestSocket: vm.socket, guestName: `the guest of VM ${vm.id}` });
}

const GUEST_VERBS = ['ps', 'snapshot', 'set', 'watch'];
/** More time a run gets when the guest also runs the helper host (bench/guestInspect.ts). */
const INSPECT_EXTRA_S = 60;

const vm: Command = {
  name: 'vm',
  summary: [
    'vm kernel [--kernel PATH]    get (and cache) a sched_ext kernel to boot schedulers in',
    'vm kernel --build [--jobs N] build a minimal sched_ext kernel that boots in seconds under TCG',
    'vm run --scheduler FILE      try a scheduler in that kernel while tld-demo (or --workload) runs',
    "vm run --default-scheduler   the same workload under the kernel's own scheduler, to compare",
    'vm run --cmd CMD [--share DIR]  run your own loader in the guest, DIR shared at the same path',
    'vm ps | snapshot PID | set PID[:TID] KEY VALUE | watch PID [--vm ID]   the same on a running guest',
  ],
  help:
    "Usage: tldctl vm kernel [--kernel PATH | --build [--jobs N]] [--debian-kernel] [--json]\n       tldctl vm run (--scheduler NAME.bpf.c | --default-scheduler | --cmd COMMAND [--share DIR])\n                     [--workload CMD] [--seconds N] [--cpus N] [--memory MB] [--kernel PATH] [--json]\n                     [--set NAME=VALUE]... [-I DIR]... [--cflag FLAG]... [--trace FILE] [--inspect]\n                     [--debian-kernel]\n\nvm kernel gets Debian's newest 6.18 cloud kernel from trixie-backports through an apt\nconfiguration of its own (never the machine's sources), unpacks it, checks it has sched_ext and\nBTF, and makes its vmlinux.h; all cached in ~/.cache/tld-studio/kernel. --kernel uses a bzImage\nyou have. vm kernel --build builds, once, a minimal kernel from Debian's linux source of the same\nrelease (sched_ext, BPF with BTF, virtio console and virtiofs, cgroup2, no modules): tens of minutes\non two cores, then seconds to boot under TCG. The source and objects stay in\n~/.cache/tld-studio/kernel-build, so a rebuild is incremental. Once built, vm run and vm kernel\nuse it; --debian-kernel (or TLD_VM_KERNEL=debian) boots Debian's cloud kernel instead, and\nTLD_VM_KERNEL=minimal insists on the built one. vm run builds the scheduler for that kernel, boots it in qemu (KVM when it works, else\nTCG), enables it with tld-scx-run for N seconds (default 5) while the workload runs, and streams\nthe console with the scheduler's statistics (its integer globals and latency histograms) every\nsecond. The workload is a guest shell command (default: tld-demo with hints; tld-latency\nmeasures hinted and unhinted wake-up latency under CPU hogs). --default-scheduler runs the\nworkload under the kernel's own scheduler instead. --set NAME=VALUE (repeatable) sets a\nglobal of the scheduler before it loads (rodata such as nr_cpus or slice_ns: a number, true/false\nor an enumerator); tld-scx-run also fills every __NAME rodata global from the guest kernel's\nenumerator NAME, and sizes arrays declared resizable to the guest's CPUs. --json prints the outcome and statistics as\nJSON on stdout (the console goes to stderr). Exit code: 0 when the scheduler stayed enabled, 1\nwhen it did not load or enable (a verifier error is shown at its source line), 2 when the kernel\ndisabled it (the reason is printed).\n\n--cmd runs your own loader instead (C, Rust, a script): COMMAND starts as root in the guest in\nDIR (default: the current folder), which the guest sees at the same path, read-write, over\nvirtiofs; the host's /usr/lib and /usr/local are shared read-only so host-built binaries find\ntheir libraries. virtiofsd needs root: for an ordinary user DIR (up to 512 MiB) is copied into\nthe guest with the libraries of its executables, and the guest's writes stay there. The run is\njudged by the kernel's sched_ext state and its reason when it disables the scheduler, with the\nsame exit codes; once the scheduler is enabled it runs N seconds beside the workload, then\nCOMMAND gets SIGINT (as Ctrl-C). --cpus (1-64, default 2)\nand --memory (MiB, 256-65536, default 1024) size the guest; cgroup2 is at /sys/fs/cgroup.\n\n--trace FILE (with --scheduler or --default-scheduler) also traces the first process of the\nworkload that publishes hints, from a second in: tld-snapshot in the guest samples its hints every 20 ms\nand reads its scheduling events (the DSQs under sched_ext too); FILE is a Perfetto trace, as\ntldctl trace writes on the host, on the guest's boot clock." +
    "\n\nvm run -I DIR, --cflag FLAG (both repeatable): the scheduler's build options. It is built against\nthe guest kernel's vmlinux.h with -g -O2 -target bpf -mcpu=v3, TLD Studio's and libbpf's headers,\nthese, and the flags of a compile_commands.json beside it (as tldctl compile does)." +
    "\n\n       tldctl vm ps [--vm ID] [--json]\n       tldctl vm snapshot PID [--vm ID] [--json] [--types FILE]\n       tldctl vm set PID[:TID] KEY VALUE [--vm ID]\n       tldctl vm watch PID [--vm ID] [--interval MS] [--count N]\n\n" +
    "With vm run --inspect, TLD Studio's helper host runs in the guest too (Node and the helper, packed\nonce and kept in ~/.cache/tld-studio/guest-helper), on a virtio-serial port whose host end is a\nsocket of the vm run process. vm ps, snapshot, set and watch do what ps, snapshot, set and watch\ndo, on the guest's processes (guest pids), as root in the guest. --vm ID names the run (the pid of\nits vm run) when several run. Without --inspect the guest boots some seconds sooner and Node's\nstart does not take the guest's CPUs from the scheduler and workload being measured.",
  options: {
    kernel: { type: 'string' }, // also the kernel the scheduler is built against
    build: { type: 'boolean' },
    jobs: { type: 'string' },
    'debian-kernel': { type: 'boolean' },
    scheduler: { type: 'string' },
    'default-scheduler': { type: 'boolean' },
    workload: { type: 'string' },
    seconds: { type: 'string' },
    set: { type: 'string', multiple: true },
    cmd: { type: 'string' },
    share: { type: 'string' },
    cpus: { type: 'string' },
    memory: { type: 'string' },
    trace: { type: 'string' },
    inspect: { type: 'boolean' },
    // vm ps, snapshot, set and watch: which run, and watch's pace
    vm: { type: 'string' },
    interval: { type: 'string' },
    count: { type: 'string' },
    ...BUILD_OPTIONS, // the scheduler's build options: -I DIR, --cflag FLAG
  },
  async run(p, rest, g) {
    const json = g.json;
    if (rest[0] !== undefined && GUEST_VERBS.includes(rest[0])) {
      const open = await guestOpener(p.options.has('vm') ? positiveInt(p.options.get('vm'), '--vm') : undefined, g.pin);
      switch (rest[0]) {
        case 'ps':
          return psWith(open, g);
        case 'snapshot':
          return snapshotWith(open, positiveInt(rest[1], 'PID'), g);
        case 'set':
          return setWith(open, rest.slice(1), g);
        default:
          return watchLoop(open, positiveInt(rest[1], 'PID'),
            p.options.has('interval') ? positiveInt(p.options.get('interval'), '--interval') : 1000,
            p.options.has('count') ? positiveInt(p.options.get('count'), '--count') : 0, g.types);
      }
    }
    if (rest[0] !== 'kernel' && rest[0] !== 'run') throw new UsageError(`tldctl vm takes: kernel, run, ${GUEST_VERBS.join(', ')}`);
    const [{ describeKernel }, { formatBytes }] = await Promise.all([import('../../vm/kernelInfo'), import('../../vm/files')]);
    const onProgress = (pr: Progress): void => {
      const { done, total } = pr as { done?: number; total?: number };
      const amount = done !== undefined && total ? ` ${Math.min(100, Math.round((100 * done) / total))}%` : '';
      process.stderr.write(`[vm] ${pr.step}${amount}: ${pr.message}\n`);
    };
    if (p.switches.has('build')) {
      if (rest[0] !== 'kernel') throw new UsageError('--build goes with vm kernel: tldctl vm kernel --build');
      if (p.options.has('kernel') || p.switches.has('debian-kernel')) throw new UsageError('vm kernel --build builds the minimal kernel; --kernel and --debian-kernel choose another');
      const { buildMinimalKernel } = await import('../../vm/kernelBuild');
      const b = await buildMinimalKernel({ cacheDir: cacheDir(), onProgress, ...(p.options.has('jobs') ? { jobs: positiveInt(p.options.get('jobs'), '--jobs') } : {}) });
      out(json ? toJson(b) : `kernel ${b.version} (${b.upToDate ? 'up to date' : `built in ${Math.round(b.buildSeconds)} s`}): sched_ext ${b.hasSchedExt ? 'yes' : 'no'}, BTF ${b.hasBtf ? 'yes' : 'no'}\n  boots     ${b.bzImage} (bzImage ${formatBytes(b.bzImageBytes)}, vmlinux ${formatBytes(b.vmlinuxBytes)})\n  vmlinux.h ${b.vmlinuxH}\n  source    ${describeKernel(b)}`);
      return 0;
    }
    if (p.options.has('jobs')) throw new UsageError('--jobs goes with vm kernel --build');
    if (p.options.has('kernel') && p.switches.has('debian-kernel')) throw new UsageError('--kernel PATH and --debian-kernel each choose the kernel: give one');
    const { ensureKernel } = await import('../../vm/kernel');
    const k = await ensureKernel({
      cacheDir: cacheDir(),
      ...(p.options.has('kernel') ? { kernelPath: p.options.get('kernel') } : {}),
      ...(p.switches.has('debian-kernel') ? { choice: 'debian' as const } : {}),
      onProgress,
    });
    if (rest[0] === 'kernel') {
      out(json ? toJson(k) : `kernel ${k.version}${k.fromCache ? ' (cached)' : ''}: sched_ext ${k.hasSchedExt ? 'yes' : 'no'}, BTF ${k.hasBtf ? 'yes' : 'no'}\n  bzImage   ${k.bzImage}\n  vmlinux.h ${k.vmlinuxH}\n  source    ${describeKernel(k)}`);
      return 0;
    }
    const scheduler = p.options.get('scheduler');
    const onDefault = p.switches.has('default-scheduler');
    const cmd = p.options.get('cmd');
    const ways = [scheduler, onDefault ? true : undefined, cmd].filter((w) => w !== undefined).length;
    if (ways === 0) throw new UsageError('vm run needs --scheduler NAME.bpf.c, --default-scheduler or --cmd COMMAND');
    if (ways > 1) throw new UsageError('vm run takes one of --scheduler, --default-scheduler and --cmd');
    if (p.options.has('share') && !cmd) throw new UsageError('--share goes with --cmd: it is the folder the command runs in');
    const seconds = p.options.has('seconds') ? positiveInt(p.options.get('seconds'), '--seconds') : 5;
    const cpus = p.options.has('cpus') ? positiveInt(p.options.get('cpus'), '--cpus') : undefined;
    const memoryMb = p.options.has('memory') ? positiveInt(p.options.get('memory'), '--memory') : undefined;
    const { ENABLE_WAIT_S } = await import('../../vm/judge');
    const { NO_EXIT_LINE, SET_ASSIGNMENT, checkResources, checkShare, guestWorkload, runCommand, runScheduler, runWorkload, verdictOf } = await import('../../vm/run');
    const sets = p.lists.get('set') ?? [];
    if (sets.length && !scheduler) throw new UsageError('vm run --set sets globals of a --scheduler (tld-scx-run); the default scheduler and --cmd take none');
    const badSet = sets.find((s) => !SET_ASSIGNMENT.test(s));
    if (badSet !== undefined) throw new UsageError(`--set ${badSet}: give NAME=VALUE, where VALUE is a number, true/false or an enumerator (no spaces or quotes)`);
    const build = { includeDirs: p.lists.get('include') ?? [], cflags: p.lists.get('cflag') ?? [] };
    if ((build.includeDirs.length || build.cflags.length) && !scheduler) throw new UsageError('-I and --cflag build a --scheduler; --cmd runs what you built');
    checkResources(cpus, memoryMb);
    const share = cmd ? checkShare(p.options.get('share') ?? process.cwd()) : undefined;
    const nativeBuild = path.join(studioRoot(), 'native', 'build');
    const traceFile = p.options.get('trace');
    if (traceFile !== undefined && cmd) throw new UsageError('--trace traces the workload of --scheduler or --default-scheduler; --cmd runs your own');
    const { GuestTraceCollector, tracedWorkload } = await import('../../vm/guestTrace');
    const collector = traceFile !== undefined ? new GuestTraceCollector() : undefined;
    const show = json ? (line: string) => process.stderr.write(`| ${line}\n`) : (line: string) => out(`| ${line}`);
    // The trace's lines go to the file, not to the screen.
    const onConsole = (line: string) => {
      if (!collector?.take(line)) show(line);
    };
    const say = json ? (line: string) => process.stderr.write(`${line}\n`) : out;
    const opts = {
      kernel: k,
      ...guestWorkload(nativeBuild, seconds, p.options.get('workload')),
      ...(collector ? { workload: tracedWorkload(p.options.get('workload') ?? guestWorkload(nativeBuild, seconds).workload, seconds) } : {}),
      seconds,
      // Node's start in the guest (the helper host) and its larger initramfs take time under TCG.
      timeoutMs: (seconds + 60 + (cmd ? ENABLE_WAIT_S : 0) + (p.switches.has('inspect') ? INSPECT_EXTRA_S : 0)) * 1000,
      onConsole,
      onStep: (message: string) => process.stderr.write(`[vm] ${message}\n`),
      ...(cpus !== undefined ? { cpus } : {}),
      ...(memoryMb !== undefined ? { memoryMb } : {}),
      ...(p.switches.has('inspect') ? { inspect: { studioRoot: studioRoot(), cacheDir: cacheDir() } } : {}),
    };
    // Ctrl-C reaches qemu through the terminal's process group, but a SIGINT or SIGTERM sent to
    // this process alone would end it with qemu (and virtiofsd) still running: stop the guest.
    const stop = new AbortController();
    const onSignal = (sig: NodeJS.Signals) => {
      say(`vm run: ${sig}: stopping the guest`);
      stop.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const run = { ...opts, signal: stop.signal };
    const r = await (scheduler ? runScheduler({ ...run, scheduler, nativeBuild, build, sets })
      : cmd && share ? runCommand({ ...run, command: cmd, share })
      : runWorkload(run)).finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
    if (stop.signal.aborted) {
      say('vm run: stopped before the end of the run');
      return 130;
    }
    const { formatDiagnostic } = await import('../../client/loader');
    for (const d of r.diagnostics) say(formatDiagnostic(d));
    if (r.boot?.timedOut) say(`the guest did not finish in time; its last lines are above`);
    else if (r.boot?.exitCode === NO_EXIT_LINE) say(`the guest stopped before its /init finished (a kernel panic or crash?); its last lines are above`);
    const verdict = verdictOf(r);
    const how = cmd ? r.message ?? 'the command did not finish (no verdict from the guest)'
      : !scheduler
      ? `the workload ran under the default scheduler and exited with status ${r.exitCode}`
      : verdict === 'enabled' ? 'the scheduler stayed enabled'
      : verdict === 'disabled'
        ? `the kernel disabled the scheduler${r.outcome.disabled ? ` ${r.outcome.disabled}` : ''}${r.outcome.likelyCause ? `; likely cause: ${r.outcome.likelyCause}` : ''}`
      : !r.boot ? 'the scheduler did not build (the errors are above)'
      : 'the scheduler did not load or enable';
    say(`vm run: ${how}${r.boot ? ` (${r.boot.accel}: ${r.boot.accelReason})` : ''}`);
    if (collector && traceFile !== undefined) {
      const t = collector.result();
      if (!t) say(`vm run: no trace: no process in the guest published hints while the workload ran`);
      else {
        const { encodePerfetto } = await import('../../client/perfettoTrace');
        const bytes = encodePerfetto(t);
        fs.writeFileSync(traceFile, bytes);
        say(`vm run: wrote ${traceFile} (${bytes.length} bytes): process ${t.pid} (${printable(t.comm)}), ${t.threads.size} threads, ${t.events.length} scheduling events` +
          `${t.lost ? ` (${t.lost} lost)` : ''}, ${t.samples.length} hint samples${collector.skipped ? `, ${collector.skipped} console lines cut` : ''}; open it in ui.perfetto.dev`);
      }
    }
    if (json) out(toJson({ exitCode: r.exitCode, accel: r.boot?.accel, timedOut: r.boot?.timedOut ?? false, diagnostics: r.diagnostics, ...r.outcome, ...(r.message ? { message: r.message } : {}) }));
    return r.exitCode;
  },
};

export const vmCommands: readonly Command[] = [vm];
