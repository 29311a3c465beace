// Scheduling figures of a thread for people and scripts: the kernel's state and policy by
// name, sched_ext DSQ ids by name, the --json shape, and rates between two reads.
import { SchedRecord } from './records';

/** The kernel's scheduling policies (include/uapi/linux/sched.h). */
const POLICIES = ['SCHED_NORMAL', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE', 'SCHED_DEADLINE', 'SCHED_EXT'];
export const SCHED_EXT = 7;

export function policyName(policy: number): string {
  return POLICIES[policy] ?? `policy ${policy}`;
}

/** /proc's one-letter state for a task's __state and exit_state bits. */
export function stateLetter(s: Pick<SchedRecord, 'state' | 'exitState'>): string {
  if (s.exitState & 0x10) return 'Z';
  if (s.exitState & 0x20) return 'X';
  if (s.state === 0) return 'R';
  if ((s.state & 0x402) === 0x402) return 'I'; // TASK_UNINTERRUPTIBLE | TASK_NOLOAD
  if (s.state & 0x1) return 'S';
  if (s.state & 0x2) return 'D';
  if (s.state & 0x4) return 'T';
  if (s.state & 0x8) return 't';
  return '?';
}

/** sched_ext's built-in DSQ ids (SCX_DSQ_FLAG_BUILTIN and friends in include/linux/sched/ext.h). */
const DSQ_FLAG_BUILTIN = 1n << 63n;
const DSQ_FLAG_LOCAL_ON = 1n << 62n;
const DSQ_INVALID = DSQ_FLAG_BUILTIN;
const DSQ_GLOBAL = DSQ_FLAG_BUILTIN | 1n;
const DSQ_LOCAL = DSQ_FLAG_BUILTIN | 2n;

/** A DSQ id as scheduler code spells it: SCX_DSQ_GLOBAL, SCX_DSQ_LOCAL_ON|3, or the user DSQ's number. */
export function dsqName(id: bigint): string {
  if (!(id & DSQ_FLAG_BUILTIN)) return id.toString();
  if ((id & DSQ_FLAG_LOCAL_ON) !== 0n) return `SCX_DSQ_LOCAL_ON|${id & 0xffffffffn}`;
  switch (id) {
    case DSQ_INVALID:
      return 'SCX_DSQ_INVALID';
    case DSQ_GLOBAL:
      return 'SCX_DSQ_GLOBAL';
    case DSQ_LOCAL:
      return 'SCX_DSQ_LOCAL';
    default:
      return `0x${id.toString(16)}`;
  }
}

/** sched_ext's state of a task (SCX_TASK_STATE_* in bits 8-9 of p->scx.flags). */
export type ScxTaskState = 'none' | 'init' | 'ready' | 'enabled';
const SCX_TASK_STATES: readonly ScxTaskState[] = ['none', 'init', 'ready', 'enabled'];

export function scxTaskState(flags: number): ScxTaskState {
  return SCX_TASK_STATES[(flags >> 8) & 3] as ScxTaskState;
}

/**
 * Whether sched_ext schedules the thread: SCHED_EXT, or any fair-class policy while a
 * scheduler runs in full mode (the task's sched_ext state is then "enabled" and its policy unchanged).
 */
export function underSchedExt(s: SchedRecord): boolean {
  return s.policy === SCHED_EXT || (s.scx !== undefined && scxTaskState(s.scx.flags) === 'enabled');
}

/** The `sched` object of `tldctl snapshot --json` (fields absent when the kernel lacks them). */
export interface SchedJson {
  cpu: number;
  state: string;
  policy: string;
  onCpu: boolean;
  prio: number;
  runtimeNs: number;
  runDelayNs?: number;
  timesRun?: number;
  voluntarySwitches: number;
  involuntarySwitches: number;
  scx?: { enabled: boolean; taskState: ScxTaskState; dsq?: string; dsqId?: string; sliceNs: number; weight: number; dsqVtime: string; flags: number };
}

export function schedJson(s: SchedRecord): SchedJson {
  return {
    cpu: s.cpu,
    state: stateLetter(s),
    policy: policyName(s.policy),
    onCpu: s.onCpu,
    prio: s.prio,
    runtimeNs: Number(s.runtime),
    ...(s.runDelay !== undefined ? { runDelayNs: Number(s.runDelay) } : {}),
    ...(s.pcount !== undefined ? { timesRun: Number(s.pcount) } : {}),
    voluntarySwitches: Number(s.nvcsw),
    involuntarySwitches: Number(s.nivcsw),
    ...(s.scx
      ? {
          scx: {
            enabled: underSchedExt(s),
            taskState: scxTaskState(s.scx.flags),
            ...(s.scx.dsqId !== undefined ? { dsq: dsqName(s.scx.dsqId), dsqId: s.scx.dsqId.toString() } : {}),
            sliceNs: Number(s.scx.slice),
            weight: s.scx.weight,
            dsqVtime: s.scx.dsqVtime.toString(),
            flags: s.scx.flags,
          },
        }
      : {}),
  };
}

/** What a thread did between two reads: the counters' deltas as rates. */
export interface SchedRates {
  /** Share of the interval on a CPU, in percent. */
  readonly runPct: number;
  /** Time runnable but waiting for a CPU during the interval, ms (undefined without CONFIG_SCHED_INFO). */
  readonly waitMs?: number;
  /** Context switches per second. */
  readonly switchesPerSec: number;
}

/**
 * The scheduling columns of a live table (the Hint Inspector's): rates over the last refresh,
 * then the DSQ on sched_ext kernels. WAIT_COLUMN is the figure grouping summarises.
 */
export const WAIT_COLUMN = 'wait ms';
export function schedColumns(scx: boolean): string[] {
  return ['cpu', 'state', 'policy', 'run %', WAIT_COLUMN, 'switches/s', ...(scx ? ['dsq'] : [])];
}

/** One thread's cells under schedColumns(@scx); the rates are empty until a second read. */
export function schedTexts(s: SchedRecord | undefined, prev: SchedRecord | undefined, scx: boolean): string[] {
  const n = 6 + (scx ? 1 : 0);
  if (!s) return new Array<string>(n).fill('');
  const r = schedRates(prev, s);
  const dsq = s.scx?.dsqId !== undefined ? dsqName(s.scx.dsqId) : '';
  return [
    String(s.cpu),
    stateLetter(s),
    policyLabel(s),
    r ? r.runPct.toFixed(1) : '',
    r?.waitMs !== undefined ? r.waitMs.toFixed(2) : '',
    r ? r.switchesPerSec.toFixed(0) : '',
    ...(scx ? [dsq] : []),
  ];
}

/** The policy without SCHED_, and "(ext)" when sched_ext runs a fair-class thread (full mode). */
export function policyLabel(s: SchedRecord): string {
  const name = policyName(s.policy).replace(/^SCHED_/, '');
  return s.policy !== SCHED_EXT && underSchedExt(s) ? `${name} (ext)` : name;
}

/** Rates of one thread from @prev to @cur, or undefined when they are not two reads of it apart in time. */
export function schedRates(prev: SchedRecord | undefined, cur: SchedRecord): SchedRates | undefined {
  if (!prev || prev.tid !== cur.tid || cur.now <= prev.now) return undefined;
  const dt = Number(cur.now - prev.now);
  const sw = Number(cur.nvcsw + cur.nivcsw - prev.nvcsw - prev.nivcsw);
  return {
    runPct: (100 * Number(cur.runtime - prev.runtime)) / dt,
    ...(cur.runDelay !== undefined && prev.runDelay !== undefined ? { waitMs: Number(cur.runDelay - prev.runDelay) / 1e6 } : {}),
    switchesPerSec: (sw * 1e9) / dt,
  };
}
