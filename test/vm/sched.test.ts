// The snapshot's scheduling fields in a real sched_ext guest: the helper's iterator, built with
// CO-RE against the host's kernel, loads on the guest's and reads p->scx; under scx_hints the
// DSQ each queued thread sits in is the one the scheduler's enqueue chose for its hint (HI_DSQ 1
// for sched.latency_critical = 1, NORMAL_DSQ 2 for 0), as its own counters of both queues say;
// and `vm run --trace` turns the same into a Perfetto trace whose waiting slices name those DSQs.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { decodePerfetto } from '../../extension/src/client/perfettoTrace';
import { repoRoot } from '../support/repo';
import { VmJsonOutcome, guestConsole, vmRun } from '../support/vm';

interface Line {
  tid: number;
  values: Record<string, number>;
  sched: { policy: number; scx?: { weight: number; flags: number; dsqId?: string } };
}

/** scx_hints's queues (bpf/schedulers/scx_hints.bpf.c) and the built-in local DSQ. */
const HI_DSQ = '1';
const NORMAL_DSQ = '2';
const SCX_DSQ_LOCAL = ((1n << 63n) | 2n).toString();

test('under scx_hints in the guest, snapshots read every thread\'s sched_ext state and the DSQ its hint sent it to, matching the scheduler\'s counters', { timeout: 400_000 }, () => {
  // tld-latency: hinted and unhinted sleepers among CPU hogs, so sleepers wait in queues. The
  // lines go to the console at once, long before the loader's final statistics (no interleaving).
  const workload = 'tld-latency --hogs 2 --sleepers 2 --seconds 30 & sleep 1; tld-snapshot $! --count 40 --interval-ms 20 > /tmp/snap.json; cat /tmp/snap.json; wait';
  const r = vmRun(['--scheduler', path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c'), '--seconds', '20', '--workload', workload, '--json'], { timeoutMs: 380_000 });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  const lines = guestConsole(r).filter((l) => l.startsWith('{"round"')).map((l) => JSON.parse(l) as Line);
  assert.ok(lines.length >= 10, `tld-snapshot printed ${lines.length} thread lines:\n${r.stderr.slice(-3000)}`);
  const o = JSON.parse(r.stdout) as VmJsonOutcome;
  assert.ok(o.stats, `no final statistics from the scheduler:\n${r.stderr.slice(-3000)}`);
  const c = o.stats.counters;

  const seen = new Map<string, number>();
  for (const l of lines) {
    const scx = l.sched.scx;
    assert.ok(scx, `thread ${l.tid}: no p->scx fields on the sched_ext kernel`);
    assert.equal((scx.flags >> 8) & 3, 3, `thread ${l.tid}: sched_ext runs it (task state enabled)`);
    assert.ok(scx.weight > 0);
    const hint = l.values['sched.latency_critical'];
    assert.ok(hint === 0 || hint === 1, `thread ${l.tid} publishes its hint: ${JSON.stringify(l.values)}`);
    if (scx.dsqId === undefined) continue;
    seen.set(scx.dsqId, (seen.get(scx.dsqId) ?? 0) + 1);
    assert.ok([hint ? HI_DSQ : NORMAL_DSQ, SCX_DSQ_LOCAL].includes(scx.dsqId), `thread ${l.tid} with latency_critical ${hint} sat in DSQ ${scx.dsqId}`);
  }
  assert.ok(seen.size > 0, 'some thread was seen queued');
  // The queues seen are queues the scheduler counted enqueues into.
  if (seen.has(HI_DSQ)) assert.ok((c.nr_enq_hi ?? 0) > 0, `DSQ 1 seen ${seen.get(HI_DSQ)} times, nr_enq_hi ${c.nr_enq_hi}`);
  if (seen.has(NORMAL_DSQ)) assert.ok((c.nr_enq_normal ?? 0) > 0, `DSQ 2 seen ${seen.get(NORMAL_DSQ)} times, nr_enq_normal ${c.nr_enq_normal}`);
  assert.ok(seen.has(HI_DSQ) || seen.has(NORMAL_DSQ), `only the local DSQ was seen: ${JSON.stringify([...seen])}`);
});

test('vm run --trace writes a Perfetto trace of the guest workload: its threads queued in the DSQ their hint chose, its hints as counters', { timeout: 400_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-vm-trace-'));
  const file = path.join(dir, 'guest.pftrace');
  try {
    const r = vmRun(['--scheduler', path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c'), '--seconds', '8', '--workload', 'tld-latency --hogs 2 --sleepers 2 --seconds 12', '--trace', file], { timeoutMs: 380_000 });
    assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr.slice(-3000));
    assert.match(r.stdout, /vm run: wrote .*guest\.pftrace \(\d+ bytes\): process \d+ \(tld-latency\), \d+ threads, \d+ scheduling events/);
    assert.ok(!/"ev":/.test(r.stdout), 'the trace lines went to the file, not the screen');
    const packets = decodePerfetto(fs.readFileSync(file)).packet;
    const tracks = packets.filter((p) => p.trackDescriptor).map((p) => p.trackDescriptor as { uuid: string; parentUuid?: string; name?: string; counter?: object; thread?: { tid: string } });
    // Each sleeper's latency hint, from its counter track (its value never changes).
    const hintOf = new Map<string, string>(); // thread track -> value
    for (const t of tracks.filter((x) => x.counter && x.name === 'sched.latency_critical')) {
      const value = packets.find((p) => (p.trackEvent as { trackUuid?: string } | undefined)?.trackUuid === t.uuid);
      hintOf.set(t.parentUuid ?? '', String((value?.trackEvent as { counterValue?: string }).counterValue));
    }
    assert.deepEqual([...hintOf.values()].sort(), ['0', '0', '1', '1'], 'two hinted and two unhinted sleepers');
    let queued = 0;
    for (const p of packets) {
      const e = p.trackEvent as { trackUuid: string; name?: string } | undefined;
      const dsq = /^Queued in (\d+)$/.exec(e?.name ?? '')?.[1];
      if (!e || !dsq) continue;
      const hint = hintOf.get(e.trackUuid);
      if (hint === undefined) continue; // a hog: no hints, never latency critical
      assert.equal(dsq, hint === '1' ? HI_DSQ : NORMAL_DSQ, `a sleeper with latency_critical ${hint} queued in DSQ ${dsq}`);
      queued++;
    }
    assert.ok(queued > 0, 'some sleeper was seen queued in a DSQ');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
