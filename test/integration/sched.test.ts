// Every thread's scheduling, read in the snapshot's pass: a busy thread's figures move
// between two snapshots while an idle thread's stay put, and `tldctl snapshot --json`
// and `tldctl watch` show them (sched_ext fields only where the kernel has sched_ext).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, test } from 'node:test';

import { SchedJson } from '../../extension/src/client/sched';
import { runTldctl, sleep } from '../support/processes';
import { World } from '../support/world';

const world = new World('sched');
after(() => world.dispose());

/** Whether the running kernel has sched_ext (then the scx fields are there). */
const hostHasScx = fs.existsSync('/sys/kernel/sched_ext');

test('the sched fields of a busy thread move between two snapshots and an idle thread\'s do not', async () => {
  const { proc, ready } = await world.procs.fixture(['--mode', 'busy', '--keys', '4']);
  const [busy, idle] = [Number(ready[2]), Number(ready[3])];
  const client = await world.client();
  try {
    const first = await client.snapshot(proc.pid);
    await sleep(400);
    const second = await client.snapshot(proc.pid);
    const sched = (snap: typeof first, tid: number) => {
      const s = snap.threads.find((t) => t.tid === tid)?.sched;
      assert.ok(s, `thread ${tid} has no sched record`);
      return s;
    };
    const [b1, b2, i1, i2] = [sched(first, busy), sched(second, busy), sched(first, idle), sched(second, idle)];
    assert.ok(b2.now - b1.now >= 400_000_000n, 'now is the boot clock at each read');
    // 400 ms with 2 ms sleeps after every 50 ms of running: it ran, and switched off the CPU to sleep.
    assert.ok(b2.runtime > b1.runtime, `busy run time ${b1.runtime} -> ${b2.runtime}`);
    assert.ok(b2.nvcsw > b1.nvcsw, `busy voluntary switches ${b1.nvcsw} -> ${b2.nvcsw}`);
    assert.ok(b2.pcount !== undefined && b1.pcount !== undefined && b2.pcount > b1.pcount, 'busy got a CPU again');
    for (const f of ['runtime', 'nvcsw', 'nivcsw', 'runDelay', 'pcount', 'cpu', 'state', 'policy'] as const) {
      assert.equal(i2[f], i1[f], `the idle thread's ${f} stays put`);
    }
    assert.equal(i1.state & 1, 1, 'the idle thread sleeps interruptibly (read on a pipe)');
    assert.equal(i1.onCpu, false);
    assert.equal(b1.policy, 0, 'SCHED_NORMAL');
    assert.equal(b1.scx !== undefined, hostHasScx, 'scx fields exactly when the kernel has sched_ext');

    // The same figures through tldctl: the documented sched object.
    const r = await runTldctl(world.procs, ['snapshot', String(proc.pid), '--json'], { env: world.env });
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as { threads: { tid: number; sched?: SchedJson }[] };
    const js = json.threads.find((t) => t.tid === idle)?.sched;
    assert.ok(js, `no sched object for the idle thread: ${r.stdout}`);
    assert.equal(js.state, 'S');
    assert.equal(js.policy, 'SCHED_NORMAL');
    assert.equal(js.runtimeNs, Number(i2.runtime), 'the idle thread has not run since');
    assert.equal(js.voluntarySwitches, Number(i2.nvcsw));
    assert.ok(Number.isInteger(js.cpu) && js.cpu >= 0);
    assert.equal('scx' in js, hostHasScx);
    if (!hostHasScx) assert.ok(!r.stdout.includes('dsq'), 'no DSQ fields without sched_ext');
  } finally {
    await proc.kill();
  }
});

test('tldctl watch shows run %, wait ms and switches/s per refresh, the busy thread running and the idle one at 0', async () => {
  const { proc, ready } = await world.procs.fixture(['--mode', 'busy', '--keys', '2']);
  const [busy, idle] = [Number(ready[2]), Number(ready[3])];
  try {
    const r = await runTldctl(world.procs, ['watch', String(proc.pid), '--interval', '300', '--count', '2'], { env: world.env });
    assert.equal(r.code, 0, r.stderr);
    const second = r.stdout.split('\n\n').slice(-1)[0] ?? '';
    const lines = r.stdout.split('\n');
    const header = lines.filter((l) => l.startsWith('TID'));
    assert.equal(header.length, 2, r.stdout);
    assert.match(header[0]!, /CPU +ST +POLICY +RUN ms +WAIT ms +SWITCHES/, 'the first refresh shows totals');
    assert.match(header[1]!, /CPU +ST +POLICY +RUN% +WAIT ms +SW\/s/, 'the next ones show rates');
    const cols = header[1]!.split(/\s{2,}/);
    const row = (tid: number) => {
      const line = lines.filter((l) => l.startsWith(`${tid} `)).slice(-1)[0];
      assert.ok(line, `no row for ${tid}:\n${r.stdout}`);
      const cells = line.split(/\s{2,}/);
      return (name: string) => cells[cols.indexOf(name)] ?? '';
    };
    assert.ok(Number(row(busy)('RUN%')) > 0, `busy thread's RUN%:\n${second}`);
    assert.ok(Number(row(busy)('SW/s')) > 0, `busy thread's SW/s:\n${second}`);
    assert.equal(row(idle)('RUN%'), '0.0');
    assert.equal(row(idle)('SW/s'), '0');
    assert.equal(row(idle)('WAIT ms'), '0.00');
    assert.equal(row(idle)('ST'), 'S');
    assert.equal(row(idle)('POLICY'), 'NORMAL');
  } finally {
    await proc.kill();
  }
});
