// Maps of both of upstream's layout revisions, with a producer and a reader written in upstream's
// style (test/integration/upstream_style, built here): tldctl reads and writes their producers,
// libtld publishes into either map so their readers find its values, and a first-revision
// producer whose data is not at its page's start is reported by snapshot and doctor and never written.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { SnapshotJson } from '../../extension/src/cli/format';
import { DATA_NOT_AT_PAGE_START } from '../../extension/src/client/snapshot';
import { Proc, ProcessSet, run, runTldctl, tldctlScript } from '../support/processes';
import { UPSTREAM_STYLE, buildUpstreamStyle } from '../support/upstreamStyle';
import { asUser, ensureTestUser, userEnv } from '../support/user';
import { World } from '../support/world';

const THREADS = 3;

const rev1 = new World('layout-rev1');
const rev2 = new World('layout-rev2');
const bin = fs.mkdtempSync('/tmp/tld-upstream-style-');
after(async () => {
  await rev1.dispose();
  await rev2.dispose();
  fs.rmSync(bin, { recursive: true, force: true });
});

const exe = (name: string) => path.join(bin, name);

before(() => buildUpstreamStyle(bin));

/** The upstream-style reader of revision @r on @w's map: per thread, [found bits, A, B]. */
async function read(w: World, r: 1 | 2, pid: number, a: string, b: string): Promise<Map<number, [number, bigint, bigint]>> {
  const res = await run(w.procs, exe(UPSTREAM_STYLE.reader), [exe(UPSTREAM_STYLE.readerObject(r)), w.pinPath, String(pid), a, b]);
  assert.equal(res.code, 0, `reader failed:\n${res.stderr}`);
  const out = new Map<number, [number, bigint, bigint]>();
  for (const line of res.stdout.trim().split('\n').filter(Boolean)) {
    const [tid, found, va, vb] = line.split(' ');
    out.set(Number(tid), [Number(found), BigInt(va!), BigInt(vb!)]);
  }
  return out;
}

/** Makes @w's map as a scheduler built with upstream's BPF header of revision @r would: its loader pins it. */
async function schedulerMakesMap(w: World, r: 1 | 2): Promise<void> {
  if (fs.existsSync(w.pinPath)) return;
  const res = await run(w.procs, exe(UPSTREAM_STYLE.reader), [exe(UPSTREAM_STYLE.readerObject(r)), w.pinPath, '0']);
  assert.equal(res.code, 0, `the reader could not make the map:\n${res.stderr}`);
}

interface Writer {
  proc: Proc;
  tids: number[];
}

async function startWriter(set: ProcessSet, binary: string, pin: string, prefix: readonly string[] = [], env?: NodeJS.ProcessEnv): Promise<Writer> {
  const [cmd, ...args] = [...prefix, exe(binary), pin, String(THREADS)];
  const proc = set.spawn(cmd!, args, binary, env ? { env } : {});
  const ready = (await proc.waitForLine(/^ready \d+/, 30_000)).trim().split(/\s+/).map(Number);
  return { proc, tids: ready.slice(2) };
}

/** The writer's own view of its threads' values: tid -> [up.prio, up.tid]. */
async function shown(w: Writer): Promise<Map<number, [number, number]>> {
  const seen = w.proc.lines.length;
  w.proc.send('show\n');
  await w.proc.waitForLine(/^shown$/, 30_000);
  const out = new Map<number, [number, number]>();
  for (const l of w.proc.lines.slice(seen)) {
    const m = /^value (\d+) (\d+) (\d+)$/.exec(l.trim());
    if (m) out.set(Number(m[1]), [Number(m[2]), Number(m[3])]);
  }
  return out;
}

async function snapshotJson(w: World, pid: number, env: NodeJS.ProcessEnv = w.env, prefix: readonly string[] = []): Promise<SnapshotJson> {
  const r = prefix.length
    ? await run(w.procs, prefix[0]!, [...prefix.slice(1), process.execPath, tldctlScript, 'snapshot', String(pid), '--json'], { env })
    : await runTldctl(w.procs, ['snapshot', String(pid), '--json'], { env });
  assert.equal(r.code, 0, `tldctl snapshot failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as SnapshotJson;
}

/** Every thread's up.prio and up.tid in a snapshot. */
function upValues(s: SnapshotJson): Map<number, [number, number]> {
  return new Map(s.threads.filter((t) => Object.keys(t.values).length > 0).map((t) => [t.tid, [Number(t.values['up.prio']), Number(t.values['up.tid'])]]));
}

const expectedUp = (w: Writer, prio: (i: number) => number) => new Map(w.tids.map((tid, i) => [tid, [prio(i), tid] as [number, number]]));

for (const r of [1, 2] as const) {
  const w = r === 1 ? rev1 : rev2;
  const writer = r === 1 ? UPSTREAM_STYLE.writerRev1Pages : UPSTREAM_STYLE.writerRev2;
  const where = r === 1 ? 'the data page (first revision)' : 'the map value (later revision, data inside its page)';

  test(`start in ${where}: tldctl reads and writes an upstream-style producer, doctor names the layout, and the upstream-style reader sees what tldctl wrote`, async () => {
    await schedulerMakesMap(w, r);
    const p = await startWriter(w.procs, writer, w.pinPath);
    const pid = p.proc.pid;
    const snap = await snapshotJson(w, pid);
    assert.deepEqual(snap.keys, [
      { name: 'up.prio', size: 4, offset: 0 },
      { name: 'up.tid', size: 8, offset: 8 },
    ]);
    assert.deepEqual(upValues(snap), expectedUp(p, (i) => 1000 + i));

    const doc = await runTldctl(w.procs, ['doctor', String(pid)], { env: w.env });
    assert.match(doc.stdout, new RegExp(`✓ process ${pid}: 2 key\\(s\\).*${r === 1 ? 'start in the data page' : 'start in the map value'}`));

    const set = await runTldctl(w.procs, ['set', String(pid), 'up.prio', '7'], { env: w.env });
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(await shown(p), expectedUp(p, () => 7));
    const seen = await read(w, r, pid, 'up.prio', 'up.tid');
    assert.deepEqual(seen, new Map(p.tids.map((tid) => [tid, [3, 7n, BigInt(tid)]])));
    p.proc.endInput();
    await p.proc.waitForExit(30_000);
  });

  test(`libtld pins its pages in a map made for upstream's ${r === 1 ? 'first' : 'later'} revision as that revision holds them: the upstream-style reader and tldctl find its values`, async () => {
    await schedulerMakesMap(w, r);
    const { proc } = await w.procs.fixture(['--mode', 'hints', '--threads', String(THREADS), '--keys', '4']);
    const seen = await read(w, r, proc.pid, 'fx.k02', 'fx.k03');
    const workers = [...seen.keys()];
    assert.equal(workers.length, THREADS, `the reader saw ${workers.length} threads`);
    for (const [tid, v] of seen) assert.deepEqual(v, [3, BigInt(tid * 16 + 2), BigInt(tid * 16 + 3)], `thread ${tid}`);
    const snap = await snapshotJson(w, proc.pid);
    for (const t of snap.threads.filter((x) => workers.includes(x.tid))) assert.equal(Number(t.values['fx.k03']), t.tid * 16 + 3);
    proc.endInput();
    await proc.waitForExit(30_000);
  });
}

test('a first-revision producer with data inside its page (upstream\'s default TLD_DYN_DATA_SIZE) is reported by snapshot, set and doctor PID, and never written', async () => {
  await schedulerMakesMap(rev1, 1);
  const p = await startWriter(rev1.procs, UPSTREAM_STYLE.writerRev1Malloc, rev1.pinPath);
  const pid = p.proc.pid;
  const snap = await runTldctl(rev1.procs, ['snapshot', String(pid)], { env: rev1.env });
  assert.equal(snap.code, 1);
  assert.ok(snap.stderr.includes(DATA_NOT_AT_PAGE_START), snap.stderr);
  assert.doesNotMatch(snap.stderr, /outside its page|\n\s+at /);
  const doc = await runTldctl(rev1.procs, ['doctor', String(pid)], { env: rev1.env });
  assert.equal(doc.code, 1);
  assert.match(doc.stdout, new RegExp(`✗ process ${pid}: .*data is not at the start of its page: upstream task_local_data\\.h with TLD_DYN_DATA_SIZE below a page; schedulers read wrong values here`));
  const set = await runTldctl(rev1.procs, ['set', String(pid), 'up.prio', '5'], { env: rev1.env });
  assert.equal(set.code, 1);
  assert.ok(set.stderr.includes(DATA_NOT_AT_PAGE_START), set.stderr);
  assert.deepEqual(await shown(p), expectedUp(p, (i) => 1000 + i), 'tldctl wrote into the producer');
  p.proc.endInput();
  await p.proc.waitForExit(30_000);
});

test('an ordinary user holding CAP_BPF and CAP_PERFMON (no CAP_SYS_ADMIN to read the map\'s BTF) reads and writes a later-revision producer: the value size tells the revision', async () => {
  await schedulerMakesMap(rev2, 2);
  const u = ensureTestUser();
  fs.chmodSync(rev2.pinPath, 0o666);
  const env = userEnv(u, rev2.env);
  const p = await startWriter(rev2.procs, UPSTREAM_STYLE.writerRev2, rev2.pinPath, asUser(u, ['bpf']), env);
  const prefix = asUser(u, ['bpf', 'perfmon']);
  assert.deepEqual(upValues(await snapshotJson(rev2, p.proc.pid, env, prefix)), expectedUp(p, (i) => 1000 + i));
  const set = await run(rev2.procs, prefix[0]!, [...prefix.slice(1), process.execPath, tldctlScript, 'set', String(p.proc.pid), 'up.prio', '9'], { env });
  assert.equal(set.code, 0, set.stderr);
  assert.deepEqual(await shown(p), expectedUp(p, () => 9));
  p.proc.endInput();
  await p.proc.waitForExit(30_000);
});

test('tldctl attach gives a process hints in a later-revision map as that revision holds them: the upstream-style reader finds the values tldctl set', async () => {
  await schedulerMakesMap(rev2, 2);
  const { proc: target } = await rev2.procs.fixture(['--mode', 'plain', '--threads', String(THREADS)]);
  const holder = rev2.procs.tldctl(['attach', String(target.pid), 'up.prio:4', 'up.tid:8', '--set', 'up.prio=5'], { env: rev2.env });
  try {
    await holder.waitForLine(/^attached /, 30_000);
    const seen = await read(rev2, 2, target.pid, 'up.prio', 'up.tid');
    assert.ok(seen.size >= THREADS, `the reader saw ${seen.size} threads`);
    for (const [tid, v] of seen) assert.deepEqual(v, [3, 5n, 0n], `thread ${tid}`);
  } finally {
    await holder.kill();
    await target.kill();
  }
});
