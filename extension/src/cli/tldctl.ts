#!/usr/bin/env node
// tldctl: the TLD Studio client on the command line, for terminals and scripts.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TldClient, doctor } from '../client/client';
import { BuildOutcome, compileAndCheck, formatDiagnostic } from '../client/loader';
import { nativeObjectCheck } from '../client/nativeHelper';
import { cacheDir, studioRoot } from '../client/paths';
import { TldError } from '../client/errors';
import { defaultPinPath } from '../client/layout';
import { parseTypes, toJson } from '../client/values';
import { UsageError, keySpec, parseArgs, pidTid, positiveInt } from './args';
import { KeyTypes, processTable, programTable, snapshotJson, snapshotText } from './format';

const HELP: Readonly<Record<string, string>> = {
  '': `Usage: tldctl [--pin PATH] COMMAND [ARGS]

Inspect and change BPF task local data hints of live processes.

Commands:
  doctor                       what this host can do, and how to fix what it cannot
  ps [--json]                  processes that use task local data
  snapshot PID [--json]        one process's keys and every thread's values
  watch PID [--interval MS]    the same, refreshed until the process exits
  set PID[:TID] KEY VALUE      set a value in one thread, or in all of them
  attach PID KEY:SIZE...       give a process without task local data these keys
  detach PID                   remove what attach gave
  compile FILE [--json]        compile BPF C and check the object, errors at their lines
  load FILE [--attach]         compile, check and load it (programs stay until unload)
  progs [--json]               loaded BPF programs: ids, types, sizes, run counts
  unload ID                    unload the object that program ID belongs to
  vm kernel [--kernel PATH]    get (and cache) a sched_ext kernel to boot schedulers in
  vm run --scheduler FILE      try a scheduler in that kernel while tld-demo (or --workload) runs
  vm run --default-scheduler   the same workload under the kernel's own scheduler, to compare

Options:
  --pin PATH    the pinned map (default $TLD_PIN_DIR/tld_data_map, /sys/fs/bpf/tld)
  --types FILE  key types as JSON, e.g. {"sched.weight": "i32", "req": {"fields": [...]}}
  --help        help for a command: tldctl COMMAND --help`,
  doctor: 'Usage: tldctl doctor\n\nChecks the kernel, BTF, bpffs, privileges, uptr support and the pinned map.\nExits 1 when a check fails, after saying how to fix it.',
  ps: 'Usage: tldctl ps [--json]\n\nLists processes with task local data: pid, command, threads with hints, keys, page fill.',
  snapshot:
    'Usage: tldctl snapshot PID [--json] [--types FILE]\n\nReads every thread of PID in one pass. --json prints\n{"pid":N,"comm":S,"keys":[{"name":S,"size":N,"offset":N}],"threads":[{"tid":N,"comm":S,"values":{"KEY":V}}]}\nwhere V is a number for keys of 1, 2, 4 or 8 bytes (unsigned, little-endian, unless --types says\notherwise) and a 0x hex string otherwise.',
  watch: 'Usage: tldctl watch PID [--interval MS] [--count N] [--types FILE]\n\nPrints the snapshot every MS milliseconds (default 1000) until the process exits or N refreshes.',
  set: 'Usage: tldctl set PID[:TID] KEY VALUE [--types FILE]\n\nWrites VALUE (an integer, 0x-prefixed hex, or hex bytes for larger keys) into KEY of thread TID,\nor of every thread of PID with hints. The value must fit the key.',
  attach:
    'Usage: tldctl attach PID KEY:SIZE... [--set KEY=VALUE]...\n\nGives a process that does not use task local data the keys, for every thread, including threads\nstarted later, and stays running to keep them; Ctrl-C or `tldctl detach PID` removes them.',
  detach: 'Usage: tldctl detach PID\n\nEnds a running `tldctl attach PID`, which deletes every entry it made.',
  compile:
    'Usage: tldctl compile FILE [--out OBJ] [--json]\n\nCompiles FILE with clang -g -O2 -target bpf against tld.bpf.h and the running kernel\'s vmlinux.h,\nthen checks the object (uptr structs defined, tld_data_map shape, license, program types).\nDiagnostics print as file:line:col: severity: message. Exits 1 on any error.',
  load:
    'Usage: tldctl load FILE [--attach] [--out OBJ] [--json]\n\nCompiles, checks and loads FILE, sharing tld_data_map with applications (--pin). A verifier\nrejection is shown at its source line with a plain explanation; the whole log is saved and\nits path printed. Loaded programs are pinned under $TLD_STUDIO_PIN_ROOT (/sys/fs/bpf/tld-studio)\nuntil `tldctl unload ID`; --attach also attaches them (struct_ops: registers them).',
  progs: 'Usage: tldctl progs [--json]\n\nLists loaded BPF programs; run counts and times need sysctl kernel.bpf_stats_enabled=1.',
  vm:
    'Usage: tldctl vm kernel [--kernel PATH] [--json]\n       tldctl vm run (--scheduler NAME.bpf.c | --default-scheduler) [--workload CMD] [--seconds N]\n                     [--kernel PATH] [--json]\n\nvm kernel gets Debian\'s newest 6.18 cloud kernel from trixie-backports through an apt\nconfiguration of its own (never the machine\'s sources), unpacks it, checks it has sched_ext and\nBTF, and makes its vmlinux.h; all cached in ~/.cache/tld-studio/kernel. --kernel uses a bzImage\nyou have. vm run builds the scheduler for that kernel, boots it in qemu (KVM when it works, else\nTCG), enables it with tld-scx-run for N seconds (default 5) while the workload runs, and streams\nthe console with the scheduler\'s statistics (its integer globals and latency histograms) every\nsecond. The workload is a guest shell command (default: tld-demo with hints; tld-latency\nmeasures hinted and unhinted wake-up latency under CPU hogs). --default-scheduler runs the\nworkload under the kernel\'s own scheduler instead. --json prints the outcome and statistics as\nJSON on stdout (the console goes to stderr). Exit code: 0 when the scheduler stayed enabled, 1\nwhen it did not load or enable (a verifier error is shown at its source line), 2 when the kernel\ndisabled it (the reason is printed).',
  unload: 'Usage: tldctl unload ID\n\nUnloads the object (all its programs and links) that program ID, loaded by tldctl load, belongs to.',
};

const runDir = () => process.env.TLD_RUN_DIR || '/run/tld-studio/attach';

function loadTypes(file: string | undefined): KeyTypes {
  if (!file) return new Map();
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TldError('EINVAL', `cannot read key types from ${file}: ${(e as Error).message}`);
  }
  return parseTypes(json);
}

const out = (s: string) => process.stdout.write(s + '\n');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withClient<T>(pin: string, fn: (c: TldClient) => Promise<T>): Promise<T> {
  const client = await TldClient.create({ pinPath: pin });
  try {
    return await fn(client);
  } finally {
    client.dispose();
  }
}

async function cmdWatch(pin: string, pid: number, intervalMs: number, count: number, types: KeyTypes): Promise<number> {
  return withClient(pin, async (c) => {
    const tty = process.stdout.isTTY;
    let shown = false;
    for (let i = 0; count === 0 || i < count; i++) {
      let text: string;
      try {
        const snap = await c.snapshot(pid);
        // On a terminal, as many threads as fit below the key table.
        const fit = tty ? Math.max(1, (process.stdout.rows || 40) - snap.keys.length - 8) : Infinity;
        text = snapshotText(snap, types, fit);
        shown = true;
      } catch (e) {
        if (e instanceof TldError && e.code === 'ESRCH') {
          out(`process ${pid} exited`);
          return 0;
        }
        // Once it had hints, a moment without any (its threads with hints all ended) is not the end.
        if (!(shown && e instanceof TldError && e.code === 'ENOENT')) throw e;
        text = `${e.message} at the moment`;
      }
      out((tty ? '\x1b[2J\x1b[H' : i ? '\n' : '') + `${new Date().toISOString()}\n${text}`);
      await sleep(intervalMs);
    }
    return 0;
  });
}

async function cmdAttach(pin: string, pid: number, specs: string[], sets: string[]): Promise<number> {
  if (specs.length === 0) throw new UsageError('give at least one KEY:SIZE');
  const keys = specs.map(keySpec);
  return withClient(pin, async (c) => {
    await c.attach(pid, keys);
    for (const s of sets) {
      const i = s.indexOf('=');
      if (i <= 0) throw new UsageError(`--set takes KEY=VALUE, not '${s}'`);
      await c.set(pid, 0, s.slice(0, i), s.slice(i + 1));
    }
    const file = path.join(runDir(), String(pid));
    fs.mkdirSync(runDir(), { recursive: true });
    fs.writeFileSync(file, String(process.pid));
    out(`attached ${keys.length} key(s) to process ${pid}; Ctrl-C or \`tldctl detach ${pid}\` detaches`);
    let stop = false;
    const onSignal = () => (stop = true);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // Hold the pages until asked to stop or the target exits.
    while (!stop) {
      try {
        process.kill(pid, 0);
      } catch {
        out(`process ${pid} exited`);
        break;
      }
      await sleep(200);
    }
    try {
      await c.detach(pid);
    } catch (e) {
      if (!(e instanceof TldError && e.code === 'ENOENT')) throw e; // gone with its process
    }
    fs.rmSync(file, { force: true });
    out(`detached from process ${pid}`);
    return 0;
  });
}

async function cmdDetach(pid: number): Promise<number> {
  const file = path.join(runDir(), String(pid));
  let holder: number;
  try {
    holder = Number(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new TldError('ENOENT', `process ${pid} is not attached by tldctl (no ${file})`);
  }
  try {
    process.kill(holder, 'SIGTERM');
  } catch {
    fs.rmSync(file, { force: true });
    throw new TldError('ENOENT', `the tldctl attach of process ${pid} is gone`);
  }
  for (let i = 0; i < 100 && fs.existsSync(file); i++) await sleep(50);
  if (fs.existsSync(file)) throw new TldError('EIO', `tldctl attach (pid ${holder}) did not detach in time`);
  out(`detached from process ${pid}`);
  return 0;
}

/** Prints a build's diagnostics; saves a verifier log and says where. Exit code: 1 on any error. */
function report(o: BuildOutcome, json: boolean): number {
  let logFile: string | undefined;
  if (o.load && !o.load.ok && o.load.log) {
    logFile = path.join(cacheDir(), 'logs', `${o.load.object || 'object'}.verifier.log`);
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    fs.writeFileSync(logFile, o.load.log);
  }
  const failed = o.diagnostics.some((d) => d.severity === 'error') || (o.load !== undefined && !o.load.ok);
  if (json) {
    out(toJson({ ok: !failed, object: o.compile.object, diagnostics: o.diagnostics, load: o.load && { ...o.load, log: undefined, logFile } }));
    return failed ? 1 : 0;
  }
  for (const d of o.diagnostics) out(formatDiagnostic(d));
  if (o.load?.logGrown) out('note: the verifier log did not fit its first buffer; it was grown and the load retried');
  if (logFile) out(`the verifier's whole log: ${logFile}`);
  if (o.load?.ok) {
    out(`loaded ${o.load.object}: program id(s) ${o.load.progIds.join(', ')}${o.load.attached ? `, ${o.load.attached} attached` : ''}; unload with tldctl unload ${o.load.progIds[0] ?? ''}`);
  } else if (!failed) {
    out(`compiled ${o.compile.object}`);
  }
  return failed ? 1 : 0;
}

async function run(argv: string[]): Promise<number> {
  const p = parseArgs(argv, ['pin', 'types', 'interval', 'count', 'set', 'out', 'kernel', 'scheduler', 'workload', 'seconds'], ['json', 'help', 'attach', 'default-scheduler']);
  const [cmd, ...rest] = p.positionals;
  if (p.switches.has('help') || !cmd) {
    out(HELP[cmd ?? ''] ?? HELP['']!);
    return cmd || p.switches.has('help') ? 0 : 2;
  }
  const pin = p.options.get('pin') ?? defaultPinPath();
  const types = loadTypes(p.options.get('types'));
  const json = p.switches.has('json');
  switch (cmd) {
    case 'doctor': {
      const checks = doctor(pin);
      for (const c of checks) out(`${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}${!c.ok && c.fix ? `\n    fix: ${c.fix}` : ''}`);
      return checks.every((c) => c.ok) ? 0 : 1;
    }
    case 'ps':
      return withClient(pin, async (c) => {
        const list = await c.processes();
        out(json ? toJson(list) : processTable(list));
        return 0;
      });
    case 'snapshot': {
      const pid = positiveInt(rest[0], 'PID');
      return withClient(pin, async (c) => {
        const s = await c.snapshot(pid);
        out(json ? toJson(snapshotJson(s, types)) : snapshotText(s, types));
        return 0;
      });
    }
    case 'watch':
      return cmdWatch(pin, positiveInt(rest[0], 'PID'), p.options.has('interval') ? positiveInt(p.options.get('interval'), '--interval') : 1000,
        p.options.has('count') ? positiveInt(p.options.get('count'), '--count') : 0, types);
    case 'set': {
      const { pid, tid } = pidTid(rest[0]);
      const [key, value] = [rest[1], rest[2]];
      if (key === undefined || value === undefined) throw new UsageError('set needs PID[:TID] KEY VALUE');
      return withClient(pin, async (c) => {
        const written = await c.set(pid, tid, key, value, types.get(key));
        out(`set ${key} = ${value} in ${written.length} thread(s) of process ${pid}`);
        return 0;
      });
    }
    case 'attach': {
      const sets = argv.flatMap((a, i) => (a === '--set' ? [argv[i + 1] ?? ''] : a.startsWith('--set=') ? [a.slice(6)] : []));
      return cmdAttach(pin, positiveInt(rest[0], 'PID'), rest.slice(1), sets);
    }
    case 'detach':
      return cmdDetach(positiveInt(rest[0], 'PID'));
    case 'compile': {
      if (!rest[0]) throw new UsageError('compile needs FILE');
      const o = await compileAndCheck({ objectCheck: async (obj) => nativeObjectCheck(obj) }, rest[0], { output: p.options.get('out') });
      return report(o, json);
    }
    case 'load': {
      const file = rest[0];
      if (!file) throw new UsageError('load needs FILE');
      return withClient(pin, async (c) => report(await c.load(file, p.switches.has('attach'), { output: p.options.get('out') }), json));
    }
    case 'progs':
      return withClient(pin, async (c) => {
        const progs = await c.programs();
        out(json ? toJson(progs) : programTable(progs));
        return 0;
      });
    case 'vm': {
      if (rest[0] !== 'kernel' && rest[0] !== 'run') throw new UsageError('tldctl vm takes: kernel, run');
      const { ensureKernel } = await import('../vm/kernel');
      const k = await ensureKernel({
        cacheDir: cacheDir(),
        ...(p.options.has('kernel') ? { kernelPath: p.options.get('kernel') } : {}),
        onProgress: (pr) => {
          const { done, total } = pr as { done?: number; total?: number };
          const amount = done !== undefined && total ? ` ${Math.round((100 * done) / total)}%` : '';
          process.stderr.write(`[vm] ${pr.step}${amount}: ${pr.message}\n`);
        },
      });
      if (rest[0] === 'kernel') {
        out(json ? toJson(k) : `kernel ${k.version}${k.fromCache ? ' (cached)' : ''}: sched_ext ${k.hasSchedExt ? 'yes' : 'no'}, BTF ${k.hasBtf ? 'yes' : 'no'}\n  bzImage   ${k.bzImage}\n  vmlinux.h ${k.vmlinuxH}`);
        return 0;
      }
      const scheduler = p.options.get('scheduler');
      const onDefault = p.switches.has('default-scheduler');
      if (!scheduler && !onDefault) throw new UsageError('vm run needs --scheduler NAME.bpf.c or --default-scheduler');
      if (scheduler && onDefault) throw new UsageError('vm run takes --scheduler or --default-scheduler, not both');
      const seconds = p.options.has('seconds') ? positiveInt(p.options.get('seconds'), '--seconds') : 5;
      const { NO_EXIT_LINE, guestWorkload, runScheduler, runWorkload, verdictOf } = await import('../vm/run');
      const nativeBuild = path.join(studioRoot(), 'native', 'build');
      const onConsole = json ? (line: string) => process.stderr.write(`| ${line}\n`) : (line: string) => out(`| ${line}`);
      const say = json ? (line: string) => process.stderr.write(`${line}\n`) : out;
      const opts = {
        kernel: k,
        ...guestWorkload(nativeBuild, seconds, p.options.get('workload')),
        seconds,
        timeoutMs: (seconds + 60) * 1000,
        onConsole,
        onStep: (message: string) => process.stderr.write(`[vm] ${message}\n`),
      };
      const r = scheduler ? await runScheduler({ ...opts, scheduler, nativeBuild }) : await runWorkload(opts);
      for (const d of r.diagnostics) say(formatDiagnostic(d));
      if (r.boot?.timedOut) say(`the guest did not finish in time; its last lines are above`);
      else if (r.boot?.exitCode === NO_EXIT_LINE) say(`the guest stopped before its /init finished (a kernel panic or crash?); its last lines are above`);
      const verdict = verdictOf(r);
      const how = !scheduler
        ? `the workload ran under the default scheduler and exited with status ${r.exitCode}`
        : verdict === 'enabled' ? 'the scheduler stayed enabled'
        : verdict === 'disabled' ? `the kernel disabled the scheduler${r.outcome.disabled ? ` ${r.outcome.disabled}` : ''}`
        : !r.boot ? 'the scheduler did not build (the errors are above)'
        : 'the scheduler did not load or enable';
      say(`vm run: ${how}${r.boot ? ` (${r.boot.accel}: ${r.boot.accelReason})` : ''}`);
      if (json) out(toJson({ exitCode: r.exitCode, accel: r.boot?.accel, timedOut: r.boot?.timedOut ?? false, diagnostics: r.diagnostics, ...r.outcome }));
      return r.exitCode;
    }
    case 'unload': {
      const id = positiveInt(rest[0], 'ID');
      return withClient(pin, async (c) => {
        await c.unload(id);
        out(`unloaded the object of program ${id}`);
        return 0;
      });
    }
    default:
      throw new UsageError(`unknown command '${cmd}'`);
  }
}

run(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    if (e instanceof UsageError) {
      process.stderr.write(`tldctl: ${e.message}\n(see tldctl --help)\n`);
      process.exitCode = 2;
    } else if (e instanceof TldError) {
      process.stderr.write(`tldctl: ${e.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`tldctl: unexpected failure: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    }
  },
);
