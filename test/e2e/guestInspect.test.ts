// End to end in real VS Code: while `tldctl vm run` runs scx_hints with tld-demo in a real
// sched_ext guest, the Processes view shows the guest's tld-demo under the VM, a click opens the
// Hint Inspector on its threads, and a value set from the inspector's form reaches the guest.
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import { CodeServer } from '../support/codeServer';
import { setInEveryThread } from '../support/demoInspector';
import { sleep, tldctlScript } from '../support/processes';
import { repoRoot } from '../support/repo';
import { guestKernelCrashed, sayRunningOnceMore } from '../support/vm';
import { World } from '../support/world';

const world = new World('e2e-guest');
const env = { ...world.env, TLD_VM_RUN_DIR: path.join(world.runDir, 'vm') };
let vsc: CodeServer;
let run: ChildProcess;
let out = '';

function startRun(): void {
  out = '';
  run = spawn(process.execPath, [tldctlScript, 'vm', 'run', '--inspect', '--scheduler', path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c'),
    '--seconds', '150', '--workload', 'tld-demo --threads 4 --seconds 400'], { env });
  run.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  run.stderr!.on('data', (b: Buffer) => (out += b.toString()));
}

before(async () => {
  startRun();
  vsc = await CodeServer.start({ env, procs: world.procs, settings: { 'tldStudio.refreshIntervalMs': 500 } });
});

afterEach(async (t) => {
  if (vsc) await vsc.shot(`last-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`);
});

after(async () => {
  await vsc?.dispose();
  // The run ends by itself (--seconds); its qemu must not outlive the test.
  if (run.exitCode === null) await new Promise((r) => run.on('close', r));
  await world.dispose();
});

function guestDemo(): number | undefined {
  const r = spawnSync(process.execPath, [tldctlScript, 'vm', 'ps', '--json'], { encoding: 'utf8', env });
  if (r.status !== 0) return undefined;
  return (JSON.parse(r.stdout) as { pid: number; comm: string; threads: number }[]).find((p) => p.comm === 'tld-demo' && p.threads >= 4)?.pid;
}

test("the guest's tld-demo shows under the VM, opens in the Hint Inspector, and a value set there reaches the guest", { timeout: 900_000 }, async () => {
  let pid: number | undefined;
  let rerun = false;
  for (const end = Date.now() + 600_000; pid === undefined; await sleep(2000)) {
    if (run.exitCode !== null && !rerun && guestKernelCrashed(out)) {
      sayRunningOnceMore('vm run --inspect');
      rerun = true;
      startRun();
    }
    assert.ok(Date.now() < end && run.exitCode === null, `no tld-demo in the guest:\n${out.slice(-3000)}`);
    pid = guestDemo();
  }
  await vsc.openContainer();
  await vsc.page.locator('.pane-body .monaco-list-row', { hasText: `VM ${run.pid} (guest)` }).waitFor({ timeout: 60_000 });
  await vsc.page.locator('.pane-body .monaco-list-row', { hasText: `tld-demo (${pid})` }).first().click({ timeout: 60_000 });
  const frame = vsc.inspector();
  await frame.locator('#title').filter({ hasText: `Process ${pid} (tld-demo)` }).waitFor({ timeout: 60_000 });
  await frame.locator('#tbody tr').nth(3).waitFor({ timeout: 60_000 });

  await setInEveryThread(vsc, frame, 'sched.latency_critical', '9');
  let values: unknown[] = [];
  for (const end = Date.now() + 60_000; Date.now() < end; await sleep(1000)) {
    const r = spawnSync(process.execPath, [tldctlScript, 'vm', 'snapshot', String(pid), '--json'], { encoding: 'utf8', env });
    values = (JSON.parse(r.stdout) as { threads: { values: Record<string, unknown> }[] }).threads
      .filter((t) => 'sched.latency_critical' in t.values).map((t) => t.values['sched.latency_critical']);
    if (values.length >= 4 && values.every((v) => v === 9)) break;
  }
  assert.deepEqual(values, values.map(() => 9), 'every guest thread holds the value set in the inspector');
  // The table follows the guest, live: the written value shows in its column.
  await frame.locator('#tbody td', { hasText: /^9$/ }).nth(3).waitFor({ timeout: 30_000 });
});
