// The hinted-vs-unhinted latency benchmark: tld-latency's hinted and unhinted periodic threads
// among CPU hogs in a sched_ext guest, under scx_hints and under the kernel's default scheduler,
// in runs interleaved pair by pair in one bench run. The headline is the matched comparison: each
// class's p99 lateness under scx_hints against the same threads under the default scheduler.
// `node out/bench/latency.js [--quick]` prints only these figures.
import * as path from 'node:path';

import { LatencyReport, parseLatencyReport } from '../extension/src/vm/latencyReport';
import { latencyCommand } from '../extension/src/vm/run';
import { SchedulerStats } from '../extension/src/vm/schedulerStats';
import { repoRoot } from '../test/support/repo';
import { VmJsonOutcome, guestConsole, vmRun } from '../test/support/vm';
import { median } from './stats';

const scxHints = path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c');

/** The goals (issue: an example scheduler worth copying): p99 under scx_hints / under the default scheduler. */
export const LATENCY_GOALS = { hinted: 0.5, unhinted: 1.5 } as const;

/** One pair of runs: the same workload under scx_hints, then under the default scheduler. */
export interface LatencyPair {
  readonly scx_hints: LatencyReport;
  readonly default_scheduler: LatencyReport;
  /** scx_hints' own counters and wake-up-to-run histograms (ns) of that run. */
  readonly scx_hints_stats: SchedulerStats;
  /**
   * The floor: the same sleepers without hogs under the default scheduler, right after. What
   * lateness remains there is the guest's timers and the host (a busy host deschedules TCG's
   * vCPU threads and freezes the guest); when its p99 nears the others, the pair measured the host.
   */
  readonly floor: LatencyReport;
  /** p99 under scx_hints / p99 of the same class under the default scheduler. */
  readonly hinted_ratio: number;
  readonly unhinted_ratio: number;
}

/** A figure against its floor, in the shape of run.ts's comparisons. */
export interface LatencyComparison {
  readonly name: string;
  readonly unit: string;
  readonly value: number;
  readonly baseline: string;
  readonly baselineValue: number;
  readonly ratio: number;
  readonly goal: string;
  readonly met: boolean;
}

export interface LatencyFigures {
  readonly workload: string;
  readonly cpus: number;
  /** How qemu ran the guests (kvm or tcg). */
  readonly accel: string;
  readonly pairs: readonly LatencyPair[];
  /** The medians of the pairs' ratios: the headline, against LATENCY_GOALS. */
  readonly hinted_ratio: number;
  readonly unhinted_ratio: number;
  readonly goals: typeof LATENCY_GOALS;
  readonly hinted_met: boolean;
  readonly unhinted_met: boolean;
  /** The two headline figures, for the bench's list of comparisons. */
  readonly comparisons: readonly LatencyComparison[];
}

const ratio = (a: number, b: number): number => Number((a / b).toFixed(3));

interface Run {
  readonly report: LatencyReport;
  readonly accel: string;
  readonly stats?: SchedulerStats;
}

function runOnce(args: readonly string[], workload: string, seconds: number, what: string): Run {
  process.stderr.write(`bench: ${workload} ${what} ...\n`);
  // The run ends when the workload does; --seconds bounds it (and vm run's timeout, 60 s more):
  // generous, since TCG guests boot slowly on a busy shared machine.
  const r = vmRun([...args, '--seconds', String(seconds + 120), '--workload', workload, '--json'], { timeoutMs: 600_000 });
  if (r.status !== 0) throw new Error(`${workload} ${what}: vm run exited ${r.status}:\n${r.stderr.slice(-3000)}`);
  const lines = guestConsole(r);
  const report = parseLatencyReport(lines);
  if (!report) throw new Error(`${workload} ${what}: no valid tld-latency report; the console ended:\n${lines.slice(-20).join('\n')}`);
  const o = JSON.parse(r.stdout) as VmJsonOutcome & { accel?: string };
  return { report, accel: o.accel ?? 'unknown', ...(o.stats ? { stats: o.stats } : {}) };
}

/**
 * Runs pairs (scx_hints, then the default scheduler; 3, or 1 with --quick) of tld-latency with
 * 4 hogs in a 2-CPU guest, each followed by the floor (no hogs). Pairs are interleaved so that
 * the shared machine's load changes hit both sides alike.
 */
export function runLatencyBench(quick: boolean): LatencyFigures {
  const pairs = quick ? 1 : 3;
  const seconds = quick ? 4 : 8;
  const workload = latencyCommand(seconds);
  const out: LatencyPair[] = [];
  let accel = 'unknown';
  for (let i = 0; i < pairs; i++) {
    const scx = runOnce(['--scheduler', scxHints, '--cpus', '2'], workload, seconds, `under scx_hints (${i + 1}/${pairs})`);
    if (!scx.stats) throw new Error('scx_hints ran the workload but printed no final statistics');
    accel = scx.accel;
    const dflt = runOnce(['--default-scheduler', '--cpus', '2'], workload, seconds, `under the default scheduler (${i + 1}/${pairs})`);
    const floor = runOnce(['--default-scheduler', '--cpus', '2'], latencyCommand(seconds, 0), seconds, `without hogs, the floor (${i + 1}/${pairs})`);
    out.push({
      scx_hints: scx.report,
      default_scheduler: dflt.report,
      floor: floor.report,
      scx_hints_stats: scx.stats,
      hinted_ratio: ratio(scx.report.hinted.p99_us, dflt.report.hinted.p99_us),
      unhinted_ratio: ratio(scx.report.unhinted.p99_us, dflt.report.unhinted.p99_us),
    });
  }
  const ratios = { hinted: median(out.map((p) => p.hinted_ratio)), unhinted: median(out.map((p) => p.unhinted_ratio)) };
  const comparisons = (['hinted', 'unhinted'] as const).map((k): LatencyComparison => ({
    name: `p99 lateness of tld-latency's ${k} periodic threads under scx_hints, missed periods counted ` +
      `(${workload}, 2-CPU guest, ${accel}; median ratio of ${pairs} interleaved pairs: ${out.map((p) => p[`${k}_ratio`]).join(', ')})`,
    unit: 'us',
    value: median(out.map((p) => p.scx_hints[k].p99_us)),
    baseline: "the same threads under the kernel's default scheduler, in the same pairs " +
      `(floor without hogs: p99 ${out.map((p) => p.floor[k].p99_us).join(', ')} us)`,
    baselineValue: median(out.map((p) => p.default_scheduler[k].p99_us)),
    ratio: ratios[k],
    goal: `at most ${LATENCY_GOALS[k]}x`,
    met: ratios[k] <= LATENCY_GOALS[k],
  }));
  return {
    workload,
    cpus: 2,
    accel,
    pairs: out,
    hinted_ratio: ratios.hinted,
    unhinted_ratio: ratios.unhinted,
    goals: LATENCY_GOALS,
    hinted_met: ratios.hinted <= LATENCY_GOALS.hinted,
    unhinted_met: ratios.unhinted <= LATENCY_GOALS.unhinted,
    comparisons,
  };
}

if (require.main === module) {
  try {
    process.stdout.write(JSON.stringify(runLatencyBench(process.argv.includes('--quick')), null, 2) + '\n');
  } catch (e: unknown) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
