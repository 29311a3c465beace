// Snapshots of live processes are complete and exact: tld-demo as it reports itself, the
// documented `tldctl snapshot --json` shape, and a process with 1,000 threads and 16 keys.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { snapshotJson } from '../../extension/src/cli/format';
import { TldClient } from '../../extension/src/client/client';
import { TldError } from '../../extension/src/client/errors';
import { THREAD_EXITING, decodeRecords } from '../../extension/src/client/records';
import { checkedSnapshot } from '../../extension/src/client/snapshot';
import { Value, parseTypes } from '../../extension/src/client/values';
import { Proc, demoBinary, runTldctl, taskIds, until } from '../support/processes';
import { World, fixtureKeyName, fixtureKeySize, fixtureValue, valuesByTid } from '../support/world';

const world = new World('snapshot');
after(() => world.dispose());

const demoTypesJson = {
  'demo.request': {
    struct: 'demo_request',
    fields: [
      { name: 'prio', offset: 0, type: 'u32' },
      { name: 'id', offset: 4, type: 'u32' },
    ],
  },
};
const demoTypes = parseTypes(demoTypesJson);

interface DemoReport {
  pid: number;
  threads: { tid: number; values: Record<string, Value> }[];
}

const parseReport = (line: string) => JSON.parse(line) as DemoReport;

/** The next report line tld-demo prints from now on. */
async function nextReport(demo: Proc): Promise<string> {
  const seen = demo.lines.length;
  const ok = await until(() => demo.lines.length > seen || demo.exit !== undefined, 5000);
  const line = demo.lines[demo.lines.length - 1] ?? '';
  assert.ok(ok && demo.lines.length > seen && line.startsWith('{"pid"'), `no report from tld-demo:\n${demo.describe()}`);
  return line;
}

test('a snapshot of tld-demo holds, for every thread and key, the values the demo reports itself', async () => {
  const demo = world.procs.spawn(demoBinary, ['--threads', '4', '--tick', '60000', '--report', '200', '--plugin-delay', '100']);
  const client = await world.client();
  try {
    // Values settle after each thread's first round: wait for two equal reports in a row.
    let prev = await nextReport(demo);
    for (let i = 0; ; i++) {
      const line = await nextReport(demo);
      if (line === prev) break;
      prev = line;
      assert.ok(i < 20, `tld-demo's values did not settle:\n${demo.describe()}`);
    }
    const snap = await client.snapshot(demo.pid);
    // The report after the snapshot is what the demo saw then (its values hold still).
    const report = parseReport(await nextReport(demo));
    assert.deepEqual(report, parseReport(prev), 'the demo changed its values during the test');
    assert.equal(report.pid, demo.pid);
    assert.equal(report.threads.length, 4);

    assert.equal(snap.pid, demo.pid);
    assert.equal(snap.comm, 'tld-demo');
    assert.deepEqual(
      snap.keys.map((k) => k.name).sort(),
      ['demo.counter', 'demo.phase', 'demo.request', 'plugin.requests', 'sched.latency_critical', 'sched.weight'],
    );
    const byTid = valuesByTid(snap, demoTypes);
    // The workers (not the main thread, which publishes nothing) are the threads with data.
    assert.deepEqual([...byTid.keys()].sort((a, b) => a - b), report.threads.map((t) => t.tid).sort((a, b) => a - b));
    assert.deepEqual(snap.threads.map((t) => t.tid), taskIds(demo.pid), 'the snapshot lists every thread of the process');
    let compared = 0;
    for (const t of report.threads) {
      const got = byTid.get(t.tid);
      assert.ok(got, `thread ${t.tid} is missing from the snapshot`);
      for (const [key, want] of Object.entries(t.values)) {
        assert.deepEqual(got[key], want, `thread ${t.tid}, key ${key}`);
        compared++;
      }
    }
    assert.equal(compared, 4 * 5, 'every reported value was compared');
    // Not a trivially zero world: the pattern the demo documents.
    assert.deepEqual(report.threads.map((t) => byTid.get(t.tid)?.['sched.weight']), [100, 200, 300, 400]);
  } finally {
    await demo.kill();
  }
});

test('tldctl snapshot --json prints the documented stable shape, numbers for 1/2/4/8-byte keys, structs with --types', async () => {
  const demo = world.procs.spawn(demoBinary, ['--threads', '3', '--tick', '60000', '--report', '100', '--plugin-delay', '50']);
  const client = await world.client();
  const typesFile = path.join(world.runDir, 'types.json');
  fs.writeFileSync(typesFile, JSON.stringify(demoTypesJson));
  try {
    // Three reports: the threads have done their first round and the plugin is loaded.
    for (let i = 0; i < 3; i++) await nextReport(demo);
    const r = await runTldctl(world.procs, ['snapshot', String(demo.pid), '--json'], { env: world.env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const json = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ['pid', 'comm', 'keys', 'threads']);
    assert.equal(json.pid, demo.pid);
    assert.equal(json.comm, 'tld-demo');
    const keys = json.keys as Record<string, unknown>[];
    assert.ok(Array.isArray(keys) && keys.length === 6, `keys: ${JSON.stringify(keys)}`);
    for (const k of keys) {
      assert.deepEqual(Object.keys(k), ['name', 'size', 'offset']);
      assert.equal(typeof k.name, 'string');
      assert.ok(Number.isInteger(k.size) && (k.size as number) > 0);
      assert.ok(Number.isInteger(k.offset) && (k.offset as number) % 8 === 0);
    }
    const threads = json.threads as Record<string, unknown>[];
    assert.equal(threads.length, 3);
    for (const t of threads) {
      assert.deepEqual(Object.keys(t), ['tid', 'comm', 'values', 'sched']);
      assert.ok(Number.isInteger(t.tid));
      assert.equal(t.comm, 'tld-demo');
      const values = t.values as Record<string, unknown>;
      assert.deepEqual(Object.keys(values), keys.map((k) => k.name));
      for (const k of keys) {
        assert.ok([1, 2, 4, 8].includes(k.size as number));
        assert.equal(typeof values[k.name as string], 'number', `${k.name} of ${t.tid} is a number`);
      }
    }
    // The same values the client decodes: the JSON is the snapshot, not an approximation.
    const snap = await client.snapshot(demo.pid);
    assert.deepEqual(JSON.parse(JSON.stringify(snapshotJson(snap, new Map()))), json);
    // demo.request (8 bytes) is prio + id * 2^32 without types...
    const t0 = threads.find((t) => (t.values as Record<string, number>)['sched.weight'] === 100) as Record<string, unknown>;
    assert.equal((t0.values as Record<string, number>)['demo.request'], 1 * 2 ** 32 + 0);

    // ...and a struct with --types.
    const typed = await runTldctl(world.procs, ['snapshot', String(demo.pid), '--json', '--types', typesFile], { env: world.env });
    assert.equal(typed.code, 0, typed.stderr);
    const tj = JSON.parse(typed.stdout) as { threads: { tid: number; values: Record<string, Value> }[] };
    const prios = tj.threads.map((t) => t.values['demo.request']);
    assert.deepEqual(
      prios.sort((a, b) => ((a as { prio: number }).prio - (b as { prio: number }).prio)),
      [{ prio: 0, id: 1 }, { prio: 1, id: 1 }, { prio: 2, id: 1 }],
    );
  } finally {
    await demo.kill();
  }
});

test('a process with 1,000 threads and 16 keys is snapshotted completely, every value exact', async () => {
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '1000', '--keys', '16'], 30_000);
  const client = await world.client();
  try {
    const pid = proc.pid;
    const workers = taskIds(pid).filter((t) => t !== pid);
    assert.equal(workers.length, 1000);
    const snap = await client.snapshot(pid);
    assert.deepEqual(
      snap.keys.map((k) => [k.name, k.size, k.offset]),
      Array.from({ length: 16 }, (_, i) => [fixtureKeyName(i), fixtureKeySize(i), i * 8]),
    );
    assert.equal(snap.used, 16 * 8);
    const byTid = valuesByTid(snap);
    assert.deepEqual([...byTid.keys()].sort((a, b) => a - b), workers, 'every worker, and only the workers, has data');
    const main = snap.threads.find((t) => t.tid === pid);
    assert.ok(main && !main.hasData, 'the main thread is listed, without data');
    assert.equal(snap.threads.length, 1001);
    let wrong = 0;
    const examples: string[] = [];
    for (const tid of workers) {
      const values = byTid.get(tid) as Record<string, Value>;
      for (let i = 0; i < 16; i++) {
        const want = fixtureValue(tid, i, fixtureKeySize(i));
        if (values[fixtureKeyName(i)] !== want) {
          wrong++;
          if (examples.length < 5) examples.push(`${tid}/${fixtureKeyName(i)}: ${String(values[fixtureKeyName(i)])} != ${String(want)}`);
        }
      }
    }
    assert.equal(wrong, 0, `wrong values: ${examples.join(', ')}`);

    // The process list agrees: 1000 threads with entries, 16 keys, 128 bytes used.
    const listed = (await client.processes()).find((p) => p.pid === pid);
    assert.deepEqual(listed && { threads: listed.threads, keys: listed.keys, used: listed.used }, { threads: 1000, keys: 16, used: 128 });
  } finally {
    await proc.kill();
  }
});

test('a snapshot larger than the first buffer (2,000 threads, 63 keys, over 1 MiB) comes back whole, in-process and through the helper host', async () => {
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '2000', '--keys', '63'], 30_000);
  const client = await world.client();
  const host = await TldClient.create({ pinPath: world.pinPath, transport: 'host', launcher: [] });
  try {
    const pid = proc.pid;
    const workers = taskIds(pid).filter((t) => t !== pid);
    assert.equal(workers.length, 2000);
    for (const snap of [await client.snapshot(pid), await host.snapshot(pid)]) {
      assert.ok(snap.raw.length > 1 << 20, `the stream is ${snap.raw.length} bytes`);
      assert.equal(snap.keys.length, 63);
      const byTid = valuesByTid(snap);
      assert.deepEqual([...byTid.keys()].sort((a, b) => a - b), workers);
      let wrong = 0;
      for (const [tid, values] of byTid) {
        for (let i = 0; i < 63; i++) if (values[fixtureKeyName(i)] !== fixtureValue(tid, i, fixtureKeySize(i))) wrong++;
      }
      assert.equal(wrong, 0);
    }
  } finally {
    host.dispose();
    await proc.kill();
  }
});

test('a snapshot given back is written over by a later one, and only then; one not given back, or given back twice, is never', async () => {
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '50', '--keys', '4'], 30_000);
  const client = await world.client();
  try {
    const pid = proc.pid;
    const a = await client.snapshot(pid);
    const b = await client.snapshot(pid);
    assert.notEqual(a.raw.buffer, b.raw.buffer, 'a result that was not given back is not reused');
    const aBytes = a.raw.slice();
    client.recycle(a.raw);
    client.recycle(a.raw); // a second time counts once
    const c = await client.snapshot(pid);
    assert.equal(c.raw.buffer, a.raw.buffer, 'the buffer given back takes the next snapshot');
    const d = await client.snapshot(pid);
    assert.ok(d.raw.buffer !== a.raw.buffer && d.raw.buffer !== b.raw.buffer, 'given back once, used once; b was never given back');
    assert.deepEqual(valuesByTid(c), valuesByTid(checkedSnapshot(pid, aBytes, false)), 'the reused buffer holds the new snapshot whole');
    // Bytes that are not a result of this helper are ignored.
    client.recycle(new Uint8Array(1 << 20));
    const e = await client.snapshot(pid);
    assert.ok(![a, b, d].some((s) => s.raw.buffer === e.raw.buffer), 'a foreign buffer is not taken');
  } finally {
    await proc.kill();
  }
});

test("hints set in tld-demo stay while its counters move on: the demo writes its hints once", async () => {
  const demo = world.procs.spawn(demoBinary, ['--threads', '4', '--tick', '20', '--report', '100', '--plugin-delay', '50']);
  const client = await world.client();
  try {
    await nextReport(demo);
    await client.set(demo.pid, 0, 'sched.weight', '777');
    await client.set(demo.pid, 0, 'sched.latency_critical', '1');
    // demo.request's prio is bytes 0..3 of the struct: a user's write of the whole value keeps it
    // while the demo moves only the id (bytes 4..7).
    await client.set(demo.pid, 0, 'demo.request', '0x0900000000000000', { kind: 'hex', size: 8 });
    const before = valuesByTid(await client.snapshot(demo.pid), demoTypes);
    // Many ticks later (each report is five ticks): the counters moved, the hints did not.
    let after = before;
    for (let i = 0; i < 4; i++) await nextReport(demo);
    after = valuesByTid(await client.snapshot(demo.pid), demoTypes);
    assert.equal(after.size, 4);
    for (const [tid, v] of after) {
      const was = before.get(tid);
      assert.ok(was, `thread ${tid} was there before`);
      assert.equal(v['sched.weight'], 777, `thread ${tid}'s weight stays as set`);
      assert.equal(v['sched.latency_critical'], 1, `thread ${tid}'s latency hint stays as set`);
      assert.equal((v['demo.request'] as { prio: number }).prio, 9, `thread ${tid}'s request priority stays as set`);
      assert.ok((v['demo.counter'] as number) > (was['demo.counter'] as number), `thread ${tid}'s counter moved`);
      assert.ok((v['demo.request'] as { id: number }).id > (was['demo.request'] as { id: number }).id, `thread ${tid}'s request id moved`);
    }
  } finally {
    world.release(client);
    await demo.kill();
  }
});

test('a process caught exiting, its threads leaving one by one, is reported exited, never snapshotted in part', async () => {
  // One thread calls exit_group and stops in its exit under a tracer: the other threads are gone,
  // the leader is a zombie, and the stopped thread still has its hints. Such a half was once
  // taken for the process's last values.
  const live = await world.procs.fixture(['--mode', 'hints', '--threads', '3', '--keys', '2'], 30_000);
  const { proc, ready } = await world.procs.fixture(['--mode', 'exiting', '--threads', '4', '--keys', '2'], 30_000);
  const client = await world.client();
  try {
    const pid = proc.pid;
    const stopped = Number(ready[2]);
    assert.ok(await until(() => taskIds(pid).length === 2, 10_000), `the other threads did not leave: ${taskIds(pid).join(' ')}`);
    assert.deepEqual(taskIds(pid).sort((a, b) => a - b), [pid, stopped].sort((a, b) => a - b));
    const threadFlags = async (p: number) => decodeRecords(await client.snapshotRecords(p)).flatMap((r) => (r.kind === 'thread' ? [r.flags] : []));
    assert.ok((await threadFlags(pid)).some((f) => f & THREAD_EXITING), 'the helper did not flag the exiting process');
    assert.ok((await threadFlags(live.proc.pid)).every((f) => !(f & THREAD_EXITING)), 'a live process was flagged as exiting');
    await assert.rejects(client.snapshot(pid), (e: unknown) => e instanceof TldError && e.code === 'ESRCH' && /exited/.test(e.message));
    const cli = await runTldctl(world.procs, ['snapshot', String(pid)], { env: world.env });
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, new RegExp(`process ${pid} exited`));
  } finally {
    await proc.kill();
    await live.proc.kill();
  }
});
