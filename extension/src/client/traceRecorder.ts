// Records a process's hints beside its scheduling for a while: the tracer's events (on and off a
// CPU, wake-ups, DSQs) from the helper's ring buffer, and every thread's hint values sampled by
// snapshots, all on the boot clock the kernel stamps both with.
import { TldClient } from './client';
import { TldError } from './errors';
import { TraceEvent } from './records';
import { KeyInfo, decodeRows } from './snapshot';
import { Value, ValueType } from './values';

/** One thread's numeric hint values at one read (a struct key gives one per numeric field: KEY.FIELD). */
export interface HintSample {
  readonly ts: bigint;
  readonly tid: number;
  readonly values: readonly (readonly [string, bigint])[];
}

export interface SchedTrace {
  readonly pid: number;
  readonly comm: string;
  /** Boot clock (ns) of the first and last reads. */
  readonly start: bigint;
  readonly end: bigint;
  /** Every thread seen: tid -> comm. */
  readonly threads: ReadonlyMap<number, string>;
  readonly samples: readonly HintSample[];
  readonly events: readonly TraceEvent[];
  /** Events the ring buffer had no room for. */
  readonly lost: number;
}

export interface RecordOptions {
  /** How long to record, in seconds (stops earlier on @signal or when the process exits). */
  readonly seconds: number;
  /** Hint sampling period, ms. */
  readonly intervalMs: number;
  readonly typeOf: (key: KeyInfo) => ValueType;
  readonly signal?: AbortSignal;
}

/** The numeric leaves of a decoded value, named KEY or KEY.FIELD; hex bytes have none. */
export function numericLeaves(name: string, v: Value, out: [string, bigint][] = []): [string, bigint][] {
  if (typeof v === 'number') out.push([name, BigInt(v)]);
  else if (typeof v === 'bigint') out.push([name, v]);
  else if (typeof v === 'object') for (const [f, x] of Object.entries(v)) numericLeaves(`${name}.${f}`, x, out);
  return out;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Traces @pid for opts.seconds. The hints are sampled every opts.intervalMs (a change that
 * lasts less than that may be missed: hints are plain stores, with no event to catch);
 * scheduling events are exact. A process that exits ends the trace with what was recorded.
 */
export async function recordTrace(client: TldClient, pid: number, opts: RecordOptions): Promise<SchedTrace> {
  const threads = new Map<number, string>();
  const samples: HintSample[] = [];
  const events: TraceEvent[] = [];
  let comm = '';
  let start: bigint | undefined;
  let end = 0n;
  let lost = 0;
  let exited = false;

  const sample = async (): Promise<void> => {
    let snap;
    try {
      snap = await client.snapshot(pid);
    } catch (e) {
      if (e instanceof TldError && (e.code === 'ESRCH' || e.code === 'ENOENT')) {
        exited = e.code === 'ESRCH';
        return;
      }
      throw e;
    }
    comm = snap.comm;
    for (const t of snap.threads) {
      threads.set(t.tid, t.comm);
      if (t.sched) {
        if (start === undefined || t.sched.now < start) start = t.sched.now;
        if (t.sched.now > end) end = t.sched.now;
      }
    }
    for (const { thread, values } of decodeRows(snap, opts.typeOf)) {
      if (!thread.sched) continue;
      const leaves: [string, bigint][] = [];
      snap.keys.forEach((k, i) => numericLeaves(k.name, values[i] as Value, leaves));
      samples.push({ ts: thread.sched.now, tid: thread.tid, values: leaves });
    }
  };
  const drain = async (): Promise<void> => {
    const chunk = await client.traceRead();
    lost = chunk.lost;
    for (const e of chunk.events) {
      events.push(e);
      if (e.ts > end) end = e.ts;
    }
  };

  await client.traceStart(pid);
  try {
    await sample();
    const deadline = Date.now() + opts.seconds * 1000;
    while (!exited && !opts.signal?.aborted && Date.now() < deadline) {
      await sleep(Math.min(opts.intervalMs, Math.max(0, deadline - Date.now())), opts.signal);
      await drain();
      await sample();
    }
    await drain();
  } finally {
    await client.traceStop();
  }
  if (start === undefined) throw new TldError('ESRCH', `process ${pid} exited before the trace began`);
  // Events of threads that started and ended between two snapshots still have a track.
  for (const e of events) {
    if (!threads.has(e.tid)) threads.set(e.tid, '');
    if (e.ts < start) start = e.ts;
  }
  return { pid, comm, start, end: end > start ? end : start, threads, samples, events, lost };
}
