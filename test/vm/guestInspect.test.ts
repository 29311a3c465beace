// The guest inspected from the host while `tldctl vm run` runs: the helper host in the guest
// serves tldctl vm ps, snapshot and set through the run's relay (a virtio-serial port), on a
// real tld-demo under scx_hints in a real sched_ext guest.
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { repoRoot } from '../support/repo';
import { onceMoreIfGuestCrashed } from '../support/vm';

// The bundle users run (package.json's bin): in it koffi is an external, found by path for the overlay.
const tldctl = path.join(repoRoot, 'dist', 'tldctl.js');
const scheduler = path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c');

let world: string;
let env: NodeJS.ProcessEnv;

before(() => {
  world = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-guest-inspect-'));
  env = {
    ...process.env,
    TLD_VM_RUN_DIR: path.join(world, 'vm'),
    ...(process.env.TLD_VM_CACHE ? { XDG_CACHE_HOME: path.dirname(process.env.TLD_VM_CACHE) } : {}),
  };
});

after(() => fs.rmSync(world, { recursive: true, force: true }));

function tld(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [tldctl, ...args], { encoding: 'utf8', env, timeout: 60_000 });
}

interface Listed {
  readonly pid: number;
  readonly comm: string;
  readonly threads: number;
}

interface SnapshotJson {
  readonly pid: number;
  readonly keys: readonly { name: string }[];
  readonly threads: readonly { tid: number; values: Record<string, number | string> }[];
}

/** Polls @f every second until it returns a value, or fails with @what after @ms. */
async function waitFor<T>(what: string, ms: number, f: () => T | undefined, alive: () => boolean, tail: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (!alive()) throw new Error(`the vm run ended before ${what}:\n${tail()}`);
    if (Date.now() > end) throw new Error(`no ${what} in ${ms / 1000} s:\n${tail()}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

test('tldctl vm ps, with no VM running, says that none is and how to start one', () => {
  const r = tld(['vm', 'ps']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /no VM is running: start one with tldctl vm run/);
});

test('while vm run runs, the guest\'s tld-demo is listed, snapshotted and written from the host through the run', { timeout: 900_000 }, () => onceMoreIfGuestCrashed('vm run --inspect', async (seen) => {
  const run: ChildProcess = spawn(process.execPath, [tldctl, 'vm', 'run', '--inspect', '--scheduler', scheduler, '--seconds', '40', '--workload', 'tld-demo --threads 4 --seconds 300'], { env });
  run.stdout!.on('data', (b: Buffer) => (seen.text += b.toString()));
  run.stderr!.on('data', (b: Buffer) => (seen.text += b.toString()));
  const exited = new Promise<number | null>((resolve) => run.on('close', (code) => resolve(code)));
  const alive = () => run.exitCode === null && run.signalCode === null;
  const tail = () => seen.text.split('\n').filter((l) => !/tld-scx-run: \d+ s:/.test(l)).slice(-40).join('\n');
  try {
    await waitFor('helper host in the guest', 400_000, () => (/the guest's helper host is up/.test(seen.text) ? true : undefined), alive, tail);
    const demo = await waitFor('tld-demo in vm ps', 120_000, () => {
      const r = tld(['vm', 'ps', '--json']);
      if (r.status !== 0) return undefined;
      return (JSON.parse(r.stdout) as Listed[]).find((p) => p.comm === 'tld-demo' && p.threads >= 4);
    }, alive, tail);

    const snap = JSON.parse(tld(['vm', 'snapshot', String(demo.pid), '--json']).stdout) as SnapshotJson;
    assert.equal(snap.pid, demo.pid);
    assert.ok(snap.keys.some((k) => k.name === 'sched.latency_critical'), JSON.stringify(snap.keys));
    assert.ok(snap.threads.length >= 4);
    // The demo hints one thread in four latency critical: not all of them yet.
    assert.ok(snap.threads.some((t) => t.values['sched.latency_critical'] === 0), JSON.stringify(snap.threads));

    const set = tld(['vm', 'set', String(demo.pid), 'sched.latency_critical', '7']);
    assert.equal(set.status, 0, set.stderr);
    assert.match(set.stdout, /set sched\.latency_critical = 7 in [4-9] thread\(s\)/);
    const again = JSON.parse(tld(['vm', 'snapshot', String(demo.pid), '--json']).stdout) as SnapshotJson;
    const hinted = again.threads.filter((t) => 'sched.latency_critical' in t.values);
    assert.ok(hinted.length >= 4);
    for (const t of hinted) assert.equal(t.values['sched.latency_critical'], 7, `thread ${t.tid}`);

    const missing = tld(['vm', 'snapshot', '999999']);
    assert.equal(missing.status, 1);
    assert.doesNotMatch(missing.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    // Whatever failed above, the run ends by itself (--seconds) and is waited for.
    await exited;
  }
  assert.equal(run.exitCode, 0, seen.text.slice(-4000));
  assert.match(seen.text, /vm run: the scheduler stayed enabled/);
  assert.deepEqual(fs.readdirSync(path.join(world, 'vm')), [], 'the run removes its socket');
}));
