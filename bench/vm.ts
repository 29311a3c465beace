// The VM runner's benchmarks, through tldctl as a user runs it (warm kernel cache):
// - time from `tldctl vm run` to the scheduler enabled in the guest, beside the time to the
//   guest's /init (the kernel's own boot) in the same runs;
// - the effect of hints: tld-latency's hinted and unhinted periodic threads among CPU hogs,
//   under scx_hints and under the kernel's default scheduler, in one bench run.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

import { repoRoot } from '../test/support/repo';
import { latencyCommand } from '../extension/src/vm/run';
import { SchedulerOutcome } from '../extension/src/vm/schedulerStats';
import { median } from './stats';

const tldctl = path.join(repoRoot, 'out', 'extension', 'src', 'cli', 'tldctl.js');
const scxHints = path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c');

/** One class of tld-latency's output (native/workloads/tld_latency.c). */
export interface LatencyClass {
  readonly n: number;
  readonly p50_us: number;
  readonly p90_us: number;
  readonly p99_us: number;
  readonly max_us: number;
}

interface LatencyReport {
  readonly hogs: number;
  readonly sleepers: number;
  readonly period_us: number;
  readonly seconds: number;
  readonly hinted: LatencyClass;
  readonly unhinted: LatencyClass;
}

export interface VmFigures {
  readonly accel: string;
  readonly start: { readonly runs: number; readonly to_init_ms: number; readonly to_enabled_ms: number; readonly samples_ms: readonly number[] };
  readonly latency: {
    readonly workload: string;
    readonly scx_hints: LatencyReport;
    /** The scheduler's own wake-up-to-run histograms (ns, bucket upper bounds). */
    readonly scx_hints_bpf_p99_ns: { readonly hinted: number; readonly unhinted: number };
    readonly default_scheduler: LatencyReport;
  };
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly console: string[];
  /** When each console line matching a mark first appeared, in ms since the spawn. */
  readonly marks: Map<string, number>;
}

/** Runs tldctl vm run with @args and --json; the console arrives on stderr as "| line". */
function vmRun(args: readonly string[], marks: readonly [string, RegExp][]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [tldctl, 'vm', 'run', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
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

function latencyReport(r: Run, what: string): LatencyReport {
  const line = r.console.find((l) => l.includes('tld-latency: {'));
  if (r.code !== 0 || !line) throw new Error(`${what} failed (exit ${r.code}):\n${r.console.slice(-20).join('\n')}`);
  return JSON.parse(line.slice(line.indexOf('{'))) as LatencyReport;
}

export async function runVmBench(quick: boolean): Promise<VmFigures> {
  const runs = quick ? 1 : 3;
  const samples: number[] = [];
  const inits: number[] = [];
  let accel = 'unknown';
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`bench: tldctl vm run to scheduler enabled (${i + 1}/${runs}) ...\n`);
    const r = await vmRun(['--scheduler', scxHints, '--seconds', '1'], [
      ['init', /\| TLD-VM-INIT/],
      ['enabled', /\| tld-scx-run: \S+ enabled \(sched_ext state: enabled\)/],
    ]);
    const enabled = r.marks.get('enabled');
    const init = r.marks.get('init');
    if (r.code !== 0 || enabled === undefined || init === undefined) {
      throw new Error(`tldctl vm run did not enable scx_hints (exit ${r.code}):\n${r.console.slice(-20).join('\n')}`);
    }
    accel = outcome(r, 'vm run').accel ?? accel;
    samples.push(Math.round(enabled));
    inits.push(Math.round(init));
  }

  const seconds = quick ? 3 : 6;
  const workload = latencyCommand(seconds);
  const common = ['--seconds', String(seconds + 20), '--workload', workload];
  process.stderr.write(`bench: ${workload} under scx_hints ...\n`);
  const withHints = await vmRun(['--scheduler', scxHints, ...common], []);
  const scx = latencyReport(withHints, 'the latency workload under scx_hints');
  const hist = outcome(withHints, 'the latency workload under scx_hints').stats?.histograms ?? {};
  process.stderr.write(`bench: ${workload} under the default scheduler ...\n`);
  const dflt = latencyReport(await vmRun(['--default-scheduler', ...common], []), 'the latency workload under the default scheduler');
  return {
    accel,
    start: { runs, to_init_ms: median(inits), to_enabled_ms: median(samples), samples_ms: samples },
    latency: {
      workload,
      scx_hints: scx,
      scx_hints_bpf_p99_ns: { hinted: hist.lat_hinted?.p99_ns ?? 0, unhinted: hist.lat_unhinted?.p99_ns ?? 0 },
      default_scheduler: dflt,
    },
  };
}
