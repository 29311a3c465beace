// tldctl trace on a real process whose hints change: the file decodes with Perfetto's field
// numbers (read by a wire-format reader of the test's own, and by the writer's definitions),
// its tracks name the process and threads, each hint is a counter track with its changes only,
// and the busy thread's scheduling is slices on the same clock while the idle thread has none.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { after, test } from 'node:test';

import { decodePerfetto } from '../../extension/src/client/perfettoTrace';
import { runTldctl } from '../support/processes';
import { WireValue, bytesOf, intOf, readMessage, textOf } from '../support/protoWire';
import { World } from '../support/world';

const world = new World('trace');
after(() => world.dispose());

/** Perfetto's field numbers (protos/perfetto/trace/trace_packet.proto and track_event/). */
const F = {
  trace: { packet: 1 },
  packet: { timestamp: 8, sequenceId: 10, trackEvent: 11, sequenceFlags: 13, clockId: 58, trackDescriptor: 60 },
  track: { uuid: 1, name: 2, process: 3, thread: 4, parent: 5, counter: 8 },
  thread: { pid: 1, tid: 2, name: 5 },
  event: { type: 9, trackUuid: 11, name: 23, counterValue: 30 },
} as const;
const SLICE_BEGIN = 1n;
const SLICE_END = 2n;
const INSTANT = 3n;
const COUNTER = 4n;

interface Track {
  name?: string;
  tid?: number;
  parent?: bigint;
  counter: boolean;
}

interface Ev {
  ts: bigint;
  type: bigint;
  track: bigint;
  name?: string;
  value?: bigint;
}

/** The trace as trace_processor would take it in: tracks declared before use, events by track. */
function parseTrace(bytes: Uint8Array): { tracks: Map<bigint, Track>; events: Ev[]; firstFlags?: bigint } {
  const top = readMessage(bytes);
  assert.deepEqual([...top.keys()], [F.trace.packet], 'a Trace holds packets only');
  const tracks = new Map<bigint, Track>();
  const events: Ev[] = [];
  let firstFlags: bigint | undefined;
  for (const [i, raw] of (top.get(F.trace.packet) as WireValue[]).entries()) {
    const p = readMessage(raw as Uint8Array);
    assert.equal(intOf(p, F.packet.sequenceId), 1n, 'every packet is on our one sequence');
    if (i === 0) firstFlags = intOf(p, F.packet.sequenceFlags);
    const td = bytesOf(p, F.packet.trackDescriptor);
    const te = bytesOf(p, F.packet.trackEvent);
    if (td) {
      const d = readMessage(td);
      const uuid = intOf(d, F.track.uuid);
      assert.ok(uuid !== undefined && !tracks.has(uuid), `track ${uuid} declared once`);
      const th = bytesOf(d, F.track.thread);
      const thread = th ? readMessage(th) : undefined;
      tracks.set(uuid, {
        name: textOf(d, F.track.name) ?? (thread ? textOf(thread, F.thread.name) : undefined),
        tid: thread ? Number(intOf(thread, F.thread.tid)) : undefined,
        parent: intOf(d, F.track.parent),
        counter: d.has(F.track.counter),
      });
    } else if (te) {
      const e = readMessage(te);
      const ts = intOf(p, F.packet.timestamp);
      assert.ok(ts !== undefined, 'a track event has a timestamp');
      assert.equal(intOf(p, F.packet.clockId), 6n, 'on the boot clock');
      const track = intOf(e, F.event.trackUuid)!;
      assert.ok(tracks.has(track), `event on track ${track}, declared before`);
      events.push({ ts, type: intOf(e, F.event.type)!, track, name: textOf(e, F.event.name), value: intOf(e, F.event.counterValue) });
    } else {
      assert.fail(`packet ${i} is neither a track descriptor nor a track event`);
    }
  }
  return { tracks, events, firstFlags };
}

test('tldctl trace writes a Perfetto trace of a process whose hints change: counters per hint where they change, scheduling slices on one clock', async () => {
  const { proc, ready } = await world.procs.fixture(['--mode', 'busy', '--keys', '3']);
  const [busy, idle] = [Number(ready[2]), Number(ready[3])];
  const file = path.join(world.runDir, 'busy.pftrace');
  try {
    const r = await runTldctl(world.procs, ['trace', String(proc.pid), '--seconds', '2', '--interval', '10', '--out', file], { env: world.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wrote .*busy\.pftrace \(\d+ bytes\): 3 threads, \d+ scheduling events, \d+ hint samples over \d+ ms; open it in ui\.perfetto\.dev\n$/);
    const bytes = fs.readFileSync(file);
    const { tracks, events, firstFlags } = parseTrace(bytes);
    assert.equal(firstFlags, 1n, 'the first packet clears incremental state');

    // The writer's own definitions read the same packets.
    assert.equal(decodePerfetto(bytes).packet.length, readMessage(bytes).get(F.trace.packet)?.length);

    const threadTrack = (tid: number) => [...tracks].find(([, t]) => t.tid === tid)?.[0];
    const [busyTrack, idleTrack] = [threadTrack(busy), threadTrack(idle)];
    assert.ok(busyTrack !== undefined && idleTrack !== undefined, 'a track per thread');
    assert.equal(tracks.get(busyTrack)?.name, 'fixture_threads');
    const counter = (thread: bigint, name: string) => {
      const uuid = [...tracks].find(([, t]) => t.counter && t.parent === thread && t.name === name)?.[0];
      assert.ok(uuid !== undefined, `a counter track ${name} under thread track ${thread}`);
      return events.filter((e) => e.track === uuid);
    };
    // fx.k00 counts up every 50 ms the busy thread runs: several values, each a change.
    const counts = counter(busyTrack, 'fx.k00');
    assert.ok(counts.length >= 2, `fx.k00 of the busy thread changed: ${counts.map((e) => e.value).join(' ')}`);
    for (const [i, e] of counts.entries()) {
      assert.equal(e.type, COUNTER);
      if (i > 0) assert.notEqual(e.value, counts[i - 1]!.value, 'changes only');
    }
    // The idle thread's hints never change: one value each, the fixture's (tid * 16 + i) truncated.
    for (const [i, size] of [[0, 1], [1, 2], [2, 4]] as const) {
      const values = counter(idleTrack, `fx.k0${i}`);
      assert.equal(values.length, 1, `fx.k0${i} of the idle thread: one value`);
      assert.equal(values[0]!.value, BigInt.asUintN(size * 8, BigInt(idle * 16 + i)));
    }

    // Scheduling: the busy thread runs on CPUs and wakes; every slice that begins ends, nested properly.
    const onBusy = events.filter((e) => e.track === busyTrack);
    assert.ok(onBusy.some((e) => e.type === SLICE_BEGIN && /^Running on CPU \d+$/.test(e.name ?? '')), 'running slices');
    assert.ok(onBusy.some((e) => e.type === INSTANT && e.name === 'Wake-up'), 'wake-ups after its sleeps');
    for (const [uuid] of tracks) {
      let depth = 0;
      let last = 0n;
      for (const e of events.filter((x) => x.track === uuid)) {
        assert.ok(e.ts >= last, 'time never goes back on a track');
        last = e.ts;
        if (e.type === SLICE_BEGIN) depth++;
        if (e.type === SLICE_END) assert.ok(--depth >= 0, 'no end without a begin');
      }
      assert.equal(depth, 0, `every slice of track ${uuid} ends`);
    }
    assert.equal(events.filter((e) => e.track === idleTrack).length, 0, 'the idle thread never ran, woke or waited');

    // One clock: the hint changes fall within the span of the scheduling events, and the reverse.
    const span = (xs: Ev[]) => [xs.reduce((a, e) => (e.ts < a ? e.ts : a), xs[0]!.ts), xs.reduce((a, e) => (e.ts > a ? e.ts : a), 0n)];
    const [s0, s1] = span(onBusy);
    const [c0, c1] = span(counts);
    assert.ok(c0 >= s0 - 100_000_000n && c1 <= s1 + 100_000_000n, `counters ${c0}..${c1} within scheduling ${s0}..${s1}`);
    assert.ok(s1 - s0 >= 1_000_000_000n && s1 - s0 < 10_000_000_000n, `a trace of about 2 s: ${s1 - s0} ns`);
  } finally {
    await proc.kill();
  }
});

test('tldctl trace refuses a missing --out and a process that does not exist, with one line each', async () => {
  const noOut = await runTldctl(world.procs, ['trace', String(process.pid)], { env: world.env });
  assert.equal(noOut.code, 2);
  assert.match(noOut.stderr, /trace needs --out FILE/);
  const gone = await runTldctl(world.procs, ['trace', '4194304', '--out', path.join(world.runDir, 'x')], { env: world.env });
  assert.equal(gone.code, 1);
  assert.equal(gone.stderr.trim().split('\n').length, 1, gone.stderr);
  assert.match(gone.stderr, /process 4194304 does not exist/);
  assert.ok(!fs.existsSync(path.join(world.runDir, 'x')), 'no file for a failed trace');
});
