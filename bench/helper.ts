// Benchmarks of the helper and its client: a snapshot with every value decoded in Node, in
// process and through the helper host (frames over a pipe, the path of ordinary users), against the
// same read in C pulling every value out; a 10 Hz watch's CPU cost; attach against the bare
// per-thread pin.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { TldClient } from '../extension/src/client/client';
import { decodeRows } from '../extension/src/client/snapshot';
import { typeOf } from '../extension/src/client/values';
import { Proc, ProcessSet } from '../test/support/processes';
import { nativeBuild, repoRoot } from '../test/support/repo';
import { Figure, RatioSpread, boundFigure, ratioFigure, spreadNote } from './figure';
import { median } from './stats';

export interface HelperFigures {
  /**
   * Medians: node_ns is the typed snapshot alone; *_decode_all_ns add every value decoded (as
   * C does): in process calling in this thread (tldctl's client, like C's call), in process
   * through koffi's worker (the extension host's, which must not block), and through the helper
   * host. rounds per side, in interleaved blocks. c_ns is C calling in its own thread, the
   * floor of the paths that call in theirs; c_handoff_ns is C with the call on a worker thread
   * of its own, the floor of koffi's worker path (the hand-off's two wake-ups are in both).
   */
  snapshot: {
    threads: number; keys: number; rounds: number; node_ns: number; node_decode_all_ns: number; worker_decode_all_ns: number; host_decode_all_ns: number; c_ns: number; c_handoff_ns: number; bytes: number;
  };
  /**
   * tldctl watch at 10 Hz, the tldctl process itself: on a 50-line terminal (a pseudo-terminal;
   * what fits is drawn) and piped (every thread, to a file), both from their third second on
   * (WATCH_WARMUP_MS), as C's from its second refresh. Beside them, C reading and parsing the
   * same snapshot at 10 Hz: a read after 100 ms idle costs several times a back-to-back one on
   * some machines, and that part is the machine's. The three in turn, rounds times (what a
   * shared machine gives moves by the minute); the figures are the rounds' medians, *_rounds
   * each round's.
   */
  watch: {
    seconds: number; refreshes: number; cpu_percent_of_one_core: number; piped_cpu_percent_of_one_core: number; c_refresh_cpu_percent: number;
    rounds: number; terminal_rounds: number[]; piped_rounds: number[]; c_refresh_rounds: number[];
  };
  attach: { threads: number; rounds: number; floor_ns: number; attach_ns: number; ratio: RatioSpread };
}

const benchHelper = path.join(nativeBuild, 'bench', 'bench_helper');
/** How long a watch refreshes before its CPU time is measured (its start-up is not per refresh). */
const WATCH_WARMUP_MS = 2000;

function runC(args: string[], env: NodeJS.ProcessEnv): Record<string, number | RatioSpread> {
  const r = spawnSync(benchHelper, args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench_helper ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, number | RatioSpread>;
}

const num = (v: number | RatioSpread | undefined): number => (typeof v === 'number' ? v : 0);
const spread = (v: number | RatioSpread | undefined): RatioSpread => (typeof v === 'object' ? v : { p10: 0, p50: 0, p90: 0 });


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A process's CPU time so far (user + system), in ms, from /proc. */
function cpuMs(pid: number): number {
  // The fields after the command's closing parenthesis; utime and stime are the 12th and 13th.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

/** The pid of @parent's only child once it runs @what (script's shell, once it exec'ed node), polled. */
async function childRunning(parent: number, what: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const kids = fs.readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    for (const k of kids) {
      try {
        if (fs.readFileSync(`/proc/${k}/cmdline`, 'utf8').includes(what)) return k;
      } catch {
        // gone meanwhile
      }
    }
    await sleep(20);
  }
  throw new Error(`no child of ${parent} runs ${what}`);
}

/**
 * What users run: `tldctl watch PID --interval 100` (the bundle), its own CPU time over @seconds
 * once its first refreshes are done (start-up is not per refresh). @terminal: on a terminal of
 * 50 lines (a pseudo-terminal from script(1), so tldctl draws what fits, as it does for a
 * person); else piped to a file (every thread, every refresh).
 */
async function watchProcess(pid: number, seconds: number, env: NodeJS.ProcessEnv, terminal: boolean): Promise<{ n: number; percent: number }> {
  const tldctl = path.join(repoRoot, 'dist', 'tldctl.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-bench-watch-'));
  const file = path.join(dir, 'watch.txt');
  const fd = fs.openSync(file, 'w');
  const watch = [process.execPath, tldctl, 'watch', String(pid), '--interval', '100'];
  const quoted = watch.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const child = terminal
    ? spawn('script', ['-qfec', `stty rows 50 cols 200 && exec ${quoted}`, '/dev/null'], { env, stdio: ['ignore', fd, 'pipe'] })
    : spawn(watch[0] as string, watch.slice(1), { env, stdio: ['ignore', fd, 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // tldctl: script's child on a terminal, once it runs (script ends with it).
  let node: number | undefined;
  try {
    node = terminal ? await childRunning(child.pid!, tldctl) : child.pid!;
    await sleep(WATCH_WARMUP_MS);
    // A refresh on a terminal starts by clearing it; piped, with its title line.
    const refreshes = () => (fs.readFileSync(file, 'latin1').match(terminal ? /\x1b\[2J/g : /^process \d+ /gm) ?? []).length;
    const [cpu0, n0, wall0] = [cpuMs(node), refreshes(), performance.now()];
    await sleep(seconds * 1000);
    const [cpu1, n1, wall1] = [cpuMs(node), refreshes(), performance.now()];
    if (n1 <= n0) throw new Error(`tldctl watch printed nothing: ${stderr}${fs.readFileSync(file, 'utf8').slice(-500)}`);
    if (terminal && !/more threads: use tldctl snapshot/.test(fs.readFileSync(file, 'latin1').slice(-4096))) {
      throw new Error('tldctl watch on a 50-line terminal printed every thread: the terminal size did not reach it');
    }
    return { n: n1 - n0, percent: Number(((100 * (cpu1 - cpu0)) / (wall1 - wall0)).toFixed(2)) };
  } finally {
    try {
      if (node !== undefined) process.kill(node, 'SIGINT');
      else child.kill('SIGINT');
    } catch {
      // it ended already
    }
    fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function runHelperBench(quick: boolean): Promise<HelperFigures> {
  const pinDir = `/sys/fs/bpf/tld-bench-helper-${process.pid}`;
  const env = { ...process.env, TLD_PIN_DIR: pinDir };
  const pinPath = `${pinDir}/tld_data_map`;
  const threads = 1000;
  const keys = 16;
  // Rounds in blocks, C then in process then the host in each: load that comes and goes on a
  // shared machine falls on all three alike, where one block of each in turn let it pick one.
  const blocks = quick ? 2 : 5;
  const perBlock = quick ? 10 : 40;
  const rounds = blocks * perBlock;
  const procs = new ProcessSet(env);
  let target: Proc | undefined;
  let client: TldClient | undefined;
  try {
    process.stderr.write(`bench: snapshot of ${threads} threads x ${keys} keys ...\n`);
    target = (await procs.fixture(['--mode', 'hints', '--threads', String(threads), '--keys', String(keys)], 30_000)).proc;
    const pid = target.pid;
    // tldctl's client calls the helper in its own thread, as C does; the extension host's goes
    // through koffi's worker, so that a snapshot never blocks its event loop.
    client = await TldClient.create({ pinPath, transport: 'in-process', inThread: true });
    const worker = await TldClient.create({ pinPath, transport: 'in-process' });
    // The typed snapshot every view reads (metadata and every thread's bounds checked), then
    // every value decoded, against C reading the same stream and pulling every value out. The
    // bytes are then given back, as tldctl watch and the Hint Inspector give theirs.
    const timed = async (c: TldClient, n: number, into: { snapNs: number[]; allNs: number[] }) => {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const snap = await c.snapshot(pid);
        const t1 = performance.now();
        const rows = decodeRows(snap, typeOf(new Map()));
        const t2 = performance.now();
        if (rows.length !== threads) throw new Error(`snapshot saw ${rows.length} threads`);
        c.recycle(snap.raw);
        into.snapNs.push((t1 - t0) * 1e6);
        into.allNs.push((t2 - t0) * 1e6);
      }
    };
    // The helper host as this root process starts it (no privilege boundary to cross).
    const host = await TldClient.create({ pinPath, transport: 'host', launcher: [] });
    const inProcess = { snapNs: [] as number[], allNs: [] as number[] };
    const viaWorker = { snapNs: [] as number[], allNs: [] as number[] };
    const viaHost = { snapNs: [] as number[], allNs: [] as number[] };
    const cNs: number[] = [];
    // The worker path's like: C taking the snapshot on a thread of its own while the caller waits.
    const cHandoffNs: number[] = [];
    let c: Record<string, number | RatioSpread> = {};
    try {
      // The first rounds warm the JIT (and grow the buffers) on every path.
      for (const each of [client, worker, host]) await timed(each, 20, { snapNs: [], allNs: [] });
      for (let b = 0; b < blocks; b++) {
        c = runC(['snapshot', String(pid), String(perBlock)], env);
        cNs.push(num(c.c_ns));
        cHandoffNs.push(num(runC(['snapshot-handoff', String(pid), String(perBlock)], env).c_ns));
        await timed(client, perBlock, inProcess);
        await timed(worker, perBlock, viaWorker);
        await timed(host, perBlock, viaHost);
      }
    } finally {
      host.dispose();
      worker.dispose();
    }

    const seconds = quick ? 2 : 5;
    const watchRounds = quick ? 1 : 3;
    const cRefresh: number[] = [];
    const terminal: number[] = [];
    const piped: number[] = [];
    let refreshes = 0;
    for (let r = 0; r < watchRounds; r++) {
      process.stderr.write(`bench: watch at 10 Hz, round ${r + 1} of ${watchRounds} ...\n`);
      cRefresh.push(num(runC(['refresh', String(pid), String(seconds)], env).cpu_percent));
      const t = await watchProcess(pid, seconds, env, true);
      terminal.push(t.percent);
      refreshes += t.n;
      piped.push((await watchProcess(pid, seconds, env, false)).percent);
    }
    client.dispose();
    client = undefined;
    target.endInput();
    await target.waitForExit(30_000);

    process.stderr.write(`bench: attach to ${threads} threads ...\n`);
    target = (await procs.fixture(['--mode', 'plain', '--threads', String(threads), '--keys', '1'], 30_000)).proc;
    const a = runC(['attach', String(target.pid), String(quick ? 5 : 31)], env);

    return {
      snapshot: {
        threads, keys, rounds,
        node_ns: Math.round(median(inProcess.snapNs)),
        node_decode_all_ns: Math.round(median(inProcess.allNs)),
        worker_decode_all_ns: Math.round(median(viaWorker.allNs)),
        host_decode_all_ns: Math.round(median(viaHost.allNs)),
        // The median of the blocks' medians (bench_helper gives one per run).
        c_ns: Math.round(median(cNs)),
        c_handoff_ns: Math.round(median(cHandoffNs)),
        bytes: num(c.bytes),
      },
      watch: {
        seconds, refreshes, rounds: watchRounds,
        cpu_percent_of_one_core: median(terminal), piped_cpu_percent_of_one_core: median(piped), c_refresh_cpu_percent: median(cRefresh),
        terminal_rounds: terminal, piped_rounds: piped, c_refresh_rounds: cRefresh,
      },
      attach: { threads: num(a.threads), rounds: num(a.rounds), floor_ns: num(a.floor_ns), attach_ns: num(a.attach_ns), ratio: spread(a.ratio) },
    };
  } finally {
    client?.dispose();
    await procs.killAll();
    fs.rmSync(pinDir, { recursive: true, force: true });
  }
}

export function helperFigures(h: HelperFigures): Figure[] {
  const s = h.snapshot;
  const what = `snapshot of ${s.threads.toLocaleString('en-US')} threads x ${s.keys} keys, every value decoded`;
  const c = 'the same read in C (tldh_snapshot, record walk, every value pulled out)';
  const w = h.watch;
  const cRefresh = { name: 'the same read and parse in C at 10 Hz (bench_helper refresh), in this run', value: w.c_refresh_cpu_percent };
  const rounds = (each: readonly number[]) =>
    `median of ${w.rounds} rounds of ${w.seconds} s, C, terminal and piped in turn: ${each.join(', ')} % (C: ${w.c_refresh_rounds.join(', ')} %)`;
  return [
    ratioFigure(`${what}, in Node in process, the helper called in this thread as C calls it (tldctl's client)`, s.node_decode_all_ns, 'ns', c, s.c_ns, 1.5),
    ratioFigure(`${what}, in Node in process through koffi's worker thread (the extension host's client, which must not block)`, s.worker_decode_all_ns, 'ns',
      'the same read in C, the snapshot taken on a thread of its own while the caller waits (the same hand-off: a wake-up there and one back)', s.c_handoff_ns, 1.5,
      `${(s.worker_decode_all_ns / s.c_ns).toFixed(2)}x C reading in the caller's thread, where C's own hand-off costs ${(s.c_handoff_ns / s.c_ns).toFixed(2)}x`),
    ratioFigure(`${what}, in Node through the helper host (JSON header + raw bytes over a pipe, as for an ordinary user)`, s.host_decode_all_ns, 'ns', c, s.c_ns, 3),
    boundFigure(`${what}, in Node in process`, s.node_decode_all_ns / 1e6, 'ms', 'under 2 ms', s.node_decode_all_ns < 2e6),
    ratioFigure(`attach to a ${h.attach.threads}-thread process (tldh_attach)`, h.attach.attach_ns, 'ns', 'bare pidfd_open + map update + close per thread', h.attach.floor_ns, 1.2, spreadNote(h.attach.ratio, `${h.attach.rounds} rounds, each first in turn, on one CPU`)),
    boundFigure(`tldctl watch at 10 Hz on that process, on a 50-line terminal`, w.cpu_percent_of_one_core, '% of one core', 'under 5%', w.cpu_percent_of_one_core < 5,
      { context: cRefresh, note: rounds(w.terminal_rounds) }),
    boundFigure(`tldctl watch at 10 Hz on that process, piped (all ${s.threads.toLocaleString('en-US')} threads printed each time)`, w.piped_cpu_percent_of_one_core, '% of one core', 'under 5%',
      w.piped_cpu_percent_of_one_core < 5, { context: cRefresh, note: rounds(w.piped_rounds) }),
  ];
}
