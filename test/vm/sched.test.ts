// The snapshot's scheduling fields in a real sched_ext guest: the helper's iterator, built with
// CO-RE against the host's kernel, loads on the guest's and reads p->scx; under scx_hints the
// DSQ each queued thread sits in is one the scheduler inserts into (its shared vtime queue 0, or
// a CPU's local queue, where a latency-critical wake-up goes), as its own counters say; and
// `vm run --trace` turns the same into a Perfetto trace whose waiting slices name those DSQs:
// hinted sleepers wake into a local queue, the others mostly into the shared one.
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

/** scx_hints's shared queue (bpf/schedulers/scx_hints.bpf.c) and the built-in local DSQ. */
const SHARED_DSQ = '0';
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
    assert.ok([SHARED_DSQ, SCX_DSQ_LOCAL].includes(scx.dsqId), `thread ${l.tid} with latency_critical ${hint} sat in DSQ ${scx.dsqId}`);
  }
  assert.ok(seen.has(SHARED_DSQ), `no thread was seen in the shared queue: ${JSON.stringify([...seen])}`);
  // The queue seen is one the scheduler counted insertions into.
  assert.ok((c.nr_queued ?? 0) > 0, `DSQ 0 seen ${seen.get(SHARED_DSQ)} times, nr_queued ${c.nr_queued}`);
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
    // Wake-ups into a queue, by hint: DSQ name -> count.
    const byHint = { '0': new Map<string, number>(), '1': new Map<string, number>() };
    for (const p of packets) {
      const e = p.trackEvent as { trackUuid: string; name?: string } | undefined;
      const dsq = /^Queued in (.+)$/.exec(e?.name ?? '')?.[1];
      if (!e || !dsq) continue;
      assert.ok([SHARED_DSQ, 'SCX_DSQ_LOCAL'].includes(dsq), `a thread queued in ${dsq}`);
      const hint = hintOf.get(e.trackUuid) as '0' | '1' | undefined;
      if (hint === undefined) continue; // a hog: no hints
      byHint[hint].set(dsq, (byHint[hint].get(dsq) ?? 0) + 1);
    }
    const n = (h: '0' | '1', d: string) => byHint[h].get(d) ?? 0;
    const summary = JSON.stringify({ hinted: [...byHint['1']], unhinted: [...byHint['0']] });
    assert.ok(n('0', SHARED_DSQ) > 0, `unhinted sleepers wait in the shared queue: ${summary}`);
    assert.ok(n('1', 'SCX_DSQ_LOCAL') > n('1', SHARED_DSQ), `hinted sleepers wake into a local queue: ${summary}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
