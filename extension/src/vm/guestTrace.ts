// A guest's trace: tld-snapshot --trace's console lines (a process's hint samples and its
// scheduling events, on the guest's boot clock) gathered into the recording the Perfetto writer
// takes, and the shell command that runs it beside a workload.
import { TraceEvent } from '../client/records';
import { HintSample, SchedTrace } from '../client/traceRecorder';

/** Hint sampling period in the guest, ms. */
export const GUEST_TRACE_INTERVAL_MS = 20;

/** @workload with tld-snapshot tracing the first process that publishes hints, for @seconds. */
export function tracedWorkload(workload: string, seconds: number): string {
  const rounds = Math.ceil((seconds * 1000) / GUEST_TRACE_INTERVAL_MS);
  return `(${workload}) & sleep 1; tld-snapshot --trace --count ${rounds} --interval-ms ${GUEST_TRACE_INTERVAL_MS}; wait`;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isDigits = (v: unknown): v is string => typeof v === 'string' && /^\d{1,20}$/.test(v);

/** Collects the lines of one guest trace; lines that are not its own (or came cut) are skipped and counted. */
export class GuestTraceCollector {
  private pid = 0;
  private comm = '';
  private readonly threads = new Map<number, string>();
  private readonly samples: HintSample[] = [];
  private readonly events: TraceEvent[] = [];
  private lost = 0;
  /** Lines that looked like the trace's but did not parse (cut by other console output). */
  skipped = 0;

  /** Takes one console line; returns whether it belonged to the trace. */
  take(line: string): boolean {
    if (!line.startsWith('{"round"') && !line.startsWith('{"ev"') && !line.startsWith('{"traceEnd"')) return false;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      this.skipped++;
      return true;
    }
    if (!isObj(v) || !this.add(v)) this.skipped++;
    return true;
  }

  private add(v: Record<string, unknown>): boolean {
    if (v.traceEnd === true) {
      if (!isInt(v.lost)) return false;
      this.lost = v.lost;
      return true;
    }
    if (typeof v.ev === 'string') {
      if (!isDigits(v.ts) || !isInt(v.tid) || !isInt(v.cpu)) return false;
      const ts = BigInt(v.ts);
      switch (v.ev) {
        case 'on-cpu':
          this.events.push({ kind: 'on-cpu', ts, tid: v.tid, cpu: v.cpu });
          return true;
        case 'off-cpu':
          if (!isInt(v.state)) return false;
          this.events.push({ kind: 'off-cpu', ts, tid: v.tid, cpu: v.cpu, state: v.state });
          return true;
        case 'wakeup':
          if (!isInt(v.waker) || (v.dsqId !== undefined && !isDigits(v.dsqId))) return false;
          this.events.push({ kind: 'wakeup', ts, tid: v.tid, cpu: v.cpu, waker: v.waker, ...(v.dsqId !== undefined ? { dsqId: BigInt(v.dsqId as string) } : {}) });
          return true;
        default:
          return false;
      }
    }
    const sched = v.sched;
    if (!isInt(v.pid) || !isInt(v.tid) || typeof v.comm !== 'string' || !isObj(v.values) || !isObj(sched) || !isInt(sched.now)) return false;
    this.pid = v.pid;
    if (v.tid === v.pid || !this.comm) this.comm = v.comm;
    this.threads.set(v.tid, v.comm);
    const values: [string, bigint][] = [];
    for (const [k, x] of Object.entries(v.values)) if (isInt(x)) values.push([k, BigInt(x)]);
    this.samples.push({ ts: BigInt(sched.now), tid: v.tid, values });
    return true;
  }

  /** The recording, or undefined when no sample of a process arrived. */
  result(): SchedTrace | undefined {
    if (!this.pid || !this.samples.length) return undefined;
    const times = [...this.samples.map((s) => s.ts), ...this.events.map((e) => e.ts)];
    const start = times.reduce((a, b) => (b < a ? b : a));
    const end = times.reduce((a, b) => (b > a ? b : a));
    for (const e of this.events) if (!this.threads.has(e.tid)) this.threads.set(e.tid, '');
    return { pid: this.pid, comm: this.comm, start, end, threads: this.threads, samples: this.samples, events: this.events, lost: this.lost };
  }
}
