// The Perfetto encoding of a recorded trace, on a hand-made recording: scheduling events become
// balanced slices per thread (a slice running when the trace began is not ended without a
// begin; slices open at the end are closed there), DSQs name the waiting slices, hints become
// counters with their changes only, and 64-bit values and timestamps stay exact.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodePerfetto, encodePerfetto, processUuid, threadUuid } from '../../extension/src/client/perfettoTrace';
import { SchedTrace } from '../../extension/src/client/traceRecorder';

const T0 = 5_000_000_000_000_000n; // past 2^53: exactness is checked, not assumed

function trace(): SchedTrace {
  return {
    pid: 10,
    comm: 'app',
    start: T0,
    end: T0 + 1000n,
    threads: new Map([[10, 'app'], [11, 'worker']]),
    samples: [
      { ts: T0 + 1n, tid: 11, values: [['lat', 1n], ['big', 2n ** 63n]] },
      { ts: T0 + 500n, tid: 11, values: [['lat', 1n], ['big', 2n ** 63n]] },
      { ts: T0 + 900n, tid: 11, values: [['lat', 0n], ['big', 2n ** 63n]] },
    ],
    events: [
      { kind: 'off-cpu', ts: T0 + 10n, tid: 10, cpu: 0, state: 1 }, // began before the trace
      { kind: 'wakeup', ts: T0 + 20n, tid: 11, cpu: 1, waker: 10, dsqId: 2n ** 63n + 1n },
      { kind: 'on-cpu', ts: T0 + 30n, tid: 11, cpu: 1 },
      { kind: 'off-cpu', ts: T0 + 40n, tid: 11, cpu: 1, state: 0 }, // preempted: runnable again
      { kind: 'on-cpu', ts: T0 + 50n, tid: 11, cpu: 0 }, // still running at the end
    ],
    lost: 0,
  };
}

interface Ev {
  ts: string;
  type: number;
  track: string;
  name?: string;
  counter?: string;
  double?: number;
}

test('a recorded trace encodes as balanced scheduling slices per thread and hint counters with changes only, on the boot clock', () => {
  const packets = decodePerfetto(encodePerfetto(trace())).packet;
  const tracks = packets.filter((p) => p.trackDescriptor).map((p) => p.trackDescriptor as Record<string, unknown>);
  assert.deepEqual(tracks[0], { uuid: processUuid(10).toString(), process: { pid: 10, processName: 'app' } });
  assert.deepEqual(tracks.filter((t) => t.thread).map((t) => (t.thread as { threadName: string }).threadName), ['app', 'worker']);
  const counters = tracks.filter((t) => t.counter);
  assert.deepEqual(counters.map((t) => [t.name, t.parentUuid]), [['lat', threadUuid(11).toString()], ['big', threadUuid(11).toString()]]);

  const events: Ev[] = packets
    .filter((p) => p.trackEvent)
    .map((p) => {
      const e = p.trackEvent as Record<string, unknown>;
      assert.equal(p.timestampClockId, 6);
      return {
        ts: String(p.timestamp),
        type: e.type as number,
        track: String(e.trackUuid),
        ...(e.name ? { name: e.name as string } : {}),
        ...(e.counterValue !== undefined ? { counter: String(e.counterValue) } : {}),
        ...(e.doubleCounterValue !== undefined ? { double: e.doubleCounterValue as number } : {}),
      };
    });
  const at = (d: bigint) => (T0 + d).toString();
  const worker = threadUuid(11).toString();
  assert.deepEqual(
    events.filter((e) => e.track === worker).map((e) => [e.ts, e.type, e.name ?? '']),
    [
      [at(20n), 3, 'Wake-up'],
      [at(20n), 1, 'Queued in SCX_DSQ_GLOBAL'],
      [at(30n), 2, ''],
      [at(30n), 1, 'Running on CPU 1'],
      [at(40n), 2, ''],
      [at(40n), 1, 'Runnable (preempted)'],
      [at(50n), 2, ''],
      [at(50n), 1, 'Running on CPU 0'],
      [at(1000n), 2, ''],
    ],
  );
  assert.deepEqual(events.filter((e) => e.track === threadUuid(10).toString()), [], 'no end for a slice the trace did not see begin');
  const lat = counters[0]!.uuid as string;
  const big = counters[1]!.uuid as string;
  assert.deepEqual(events.filter((e) => e.track === lat).map((e) => [e.ts, e.counter]), [[at(1n), '1'], [at(900n), '0']], 'changes only');
  assert.deepEqual(events.filter((e) => e.track === big).map((e) => [e.ts, e.double]), [[at(1n), 2 ** 63]], 'beyond int64 safe range: a double');
  // In time order, as trace_processor reads a file in one pass.
  const times = events.map((e) => BigInt(e.ts));
  assert.deepEqual(times, [...times].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
});
