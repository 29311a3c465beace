// Writes a recorded trace (traceRecorder.ts) in Perfetto's protobuf format, which ui.perfetto.dev
// and trace_processor open: a process track, a track per thread carrying its scheduling as slices
// (running on CPU n; runnable or queued in a DSQ; wake-ups as instants), and per thread a counter
// track per hint (values where they change), all on the boot clock. Also reads such a file back.
import {
  CLOCK_BOOTTIME,
  SEQ_INCREMENTAL_STATE_CLEARED,
  TYPE_COUNTER,
  TYPE_INSTANT,
  TYPE_SLICE_BEGIN,
  TYPE_SLICE_END,
  TraceType,
  i64,
  u64,
} from './perfettoProto';
import { dsqName, stateLetter } from './sched';
import { SchedTrace } from './traceRecorder';

/** Track ids: a kind in the top bits, then the pid, tid or tid + counter index. */
export const processUuid = (pid: number): bigint => (1n << 48n) | BigInt(pid);
export const threadUuid = (tid: number): bigint => (2n << 48n) | BigInt(tid);
const counterUuid = (tid: number, index: number): bigint => (3n << 48n) | (BigInt(tid) << 16n) | BigInt(index);

/** Our sequence of packets: one writer, so one id. */
const SEQUENCE = 1;

type Annotation = { name: string; stringValue?: string; uintValue?: ReturnType<typeof u64>; intValue?: ReturnType<typeof i64> };
type Packet = Record<string, unknown>;

interface Timed {
  readonly ts: bigint;
  readonly packet: Packet;
}

function event(ts: bigint, track: bigint, type: number, fields: Record<string, unknown> = {}): Timed {
  return {
    ts,
    packet: { timestamp: u64(ts), timestampClockId: CLOCK_BOOTTIME, trustedPacketSequenceId: SEQUENCE, trackEvent: { type, trackUuid: u64(track), ...fields } },
  };
}

const str = (name: string, value: string): Annotation => ({ name, stringValue: value });
const uint = (name: string, value: number | bigint): Annotation => ({ name, uintValue: u64(BigInt(value)) });

/** The scheduling slices of every thread, from its events in time order. */
function schedulingEvents(t: SchedTrace): Timed[] {
  const out: Timed[] = [];
  const open = new Map<number, 'running' | 'waiting'>();
  const waiting = (ts: bigint, tid: number, why: string, dsqId?: bigint) => {
    const name = dsqId !== undefined ? `Queued in ${dsqName(dsqId)}` : why;
    const args = dsqId !== undefined ? [str('dsq', dsqName(dsqId)), str('dsq_id', dsqId.toString())] : [];
    out.push(event(ts, threadUuid(tid), TYPE_SLICE_BEGIN, { name, categories: ['sched'], debugAnnotations: args }));
    open.set(tid, 'waiting');
  };
  const close = (ts: bigint, tid: number, args: Annotation[] = []) => {
    out.push(event(ts, threadUuid(tid), TYPE_SLICE_END, args.length ? { debugAnnotations: args } : {}));
    open.delete(tid);
  };
  for (const e of [...t.events].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0))) {
    const track = threadUuid(e.tid);
    switch (e.kind) {
      case 'on-cpu':
        if (open.has(e.tid)) close(e.ts, e.tid);
        out.push(event(e.ts, track, TYPE_SLICE_BEGIN, { name: `Running on CPU ${e.cpu}`, categories: ['sched'], debugAnnotations: [uint('cpu', e.cpu)] }));
        open.set(e.tid, 'running');
        break;
      case 'off-cpu': {
        const left = stateLetter({ state: e.state, exitState: 0 });
        // A slice the trace saw begin; one running when the trace started has no BEGIN to end.
        // Whatever is open ends here, so that a lost event never leaves two slices open.
        if (open.has(e.tid)) close(e.ts, e.tid, open.get(e.tid) === 'running' ? [str('left_as', left)] : []);
        if (e.state === 0) waiting(e.ts, e.tid, 'Runnable (preempted)');
        break;
      }
      case 'wakeup':
        out.push(
          event(e.ts, track, TYPE_INSTANT, {
            name: 'Wake-up',
            categories: ['sched'],
            debugAnnotations: [uint('waker_tid', e.waker), uint('target_cpu', e.cpu), ...(e.dsqId !== undefined ? [str('dsq', dsqName(e.dsqId))] : [])],
          }),
        );
        if (!open.has(e.tid)) waiting(e.ts, e.tid, 'Runnable', e.dsqId);
        break;
      default: {
        const never: never = e;
        throw new Error(`unknown trace event ${JSON.stringify(never)}`);
      }
    }
  }
  for (const tid of open.keys()) out.push(event(t.end, threadUuid(tid), TYPE_SLICE_END));
  return out;
}

/** Counter tracks of every thread's hints, with a value only where it changed, and their descriptors. */
function hintCounters(t: SchedTrace): { descriptors: Packet[]; events: Timed[] } {
  const index = new Map<string, number>();
  const perThread = new Map<number, number>();
  const last = new Map<string, bigint>();
  const descriptors: Packet[] = [];
  const events: Timed[] = [];
  for (const s of t.samples) {
    for (const [name, value] of s.values) {
      const id = `${s.tid}\0${name}`;
      let i = index.get(id);
      if (i === undefined) {
        i = perThread.get(s.tid) ?? 0;
        perThread.set(s.tid, i + 1);
        index.set(id, i);
        descriptors.push({ trackDescriptor: { uuid: u64(counterUuid(s.tid, i)), parentUuid: u64(threadUuid(s.tid)), name, counter: { categories: ['hint'] } } });
      }
      if (last.get(id) === value) continue;
      last.set(id, value);
      const safe = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
      events.push(event(s.ts, counterUuid(s.tid, i), TYPE_COUNTER, safe ? { counterValue: i64(value) } : { doubleCounterValue: Number(value) }));
    }
  }
  return { descriptors, events };
}

/** The trace as the bytes of a Perfetto Trace message. */
export function encodePerfetto(t: SchedTrace): Uint8Array {
  const head: Packet[] = [
    { trustedPacketSequenceId: SEQUENCE, sequenceFlags: SEQ_INCREMENTAL_STATE_CLEARED, trackDescriptor: { uuid: u64(processUuid(t.pid)), process: { pid: t.pid, processName: t.comm } } },
    ...[...t.threads].map(([tid, comm]) => ({
      trustedPacketSequenceId: SEQUENCE,
      trackDescriptor: { uuid: u64(threadUuid(tid)), parentUuid: u64(processUuid(t.pid)), thread: { pid: t.pid, tid: i64(BigInt(tid)), threadName: comm } },
    })),
  ];
  const counters = hintCounters(t);
  for (const d of counters.descriptors) head.push({ trustedPacketSequenceId: SEQUENCE, ...d });
  // One stable sort by time: trace_processor sorts too, but a file in order reads in one pass.
  const timed = [...schedulingEvents(t), ...counters.events].sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
  // encode() takes the plain object as is: its 64-bit fields stay exact ({low, high}), where
  // fromObject() would turn them into doubles when the long package is not there (a bundle).
  return TraceType.encode({ packet: [...head, ...timed.map((e) => e.packet)] }).finish();
}

/** A Perfetto trace file decoded with the same definitions (for tests and tools). */
export function decodePerfetto(bytes: Uint8Array): { packet: Record<string, unknown>[] } {
  const message = TraceType.decode(bytes);
  return TraceType.toObject(message, { longs: String, defaults: false }) as { packet: Record<string, unknown>[] };
}
