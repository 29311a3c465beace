// End to end in real VS Code (code-server in Chromium): the walkthrough's first steps done from
// the walkthrough itself (Doctor, the demo started by the extension, the inspector on it), each
// step checked only once its work succeeded; and the VM view showing the kernel cache.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import type { Locator } from 'playwright-core';

import { cacheDir } from '../../extension/src/client/paths';
import { listCachedKernels } from '../../extension/src/vm/kernel';
import { CodeServer } from '../support/codeServer';
import { setInEveryThread } from '../support/demoInspector';
import { sleep } from '../support/processes';
import { World, valuesByTid } from '../support/world';

const world = new World('e2e-walk');
let vsc: CodeServer;

/** The walkthrough's step @id (its button in the Welcome page). */
function step(id: string): Locator {
  return vsc.page.locator(`button.getting-started-step[data-step-id$="#${id}"]`);
}

async function openWalkthrough(): Promise<void> {
  await vsc.runCommand('Welcome: Open Walkthrough...');
  await vsc.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Hints for sched_ext schedulers' }).first().click({ timeout: 15_000 });
  await step('doctor').waitFor({ timeout: 30_000 });
}

/** Expands step @id and clicks its button titled @button. */
async function runFromStep(id: string, button: string): Promise<void> {
  await step(id).click();
  await vsc.page.locator('.getting-started-step.expanded .monaco-button, .getting-started-step.expanded a', { hasText: button }).first().click({ timeout: 15_000 });
}

async function waitChecked(id: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await step(id).getAttribute('aria-checked')) !== 'true') {
    if (Date.now() > until) assert.fail(`step ${id} was not checked within ${timeoutMs} ms`);
    await sleep(200);
  }
}

/** The tld-demo processes publishing hints on this world's pin. */
async function demos(): Promise<number[]> {
  const client = await world.client();
  try {
    return (await client.processes()).filter((p) => p.comm === 'tld-demo' && p.keys > 0).map((p) => p.pid);
  } finally {
    world.release(client);
  }
}

/** The qemu processes under @root (code-server and its extension host). */
function qemuBelow(root: number): number[] {
  const parent = new Map<number, number>();
  const qemu: number[] = [];
  for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      parent.set(Number(name), Number(stat.slice(close + 2).split(' ')[1]));
      if (stat.slice(stat.indexOf('(') + 1, close).startsWith('qemu-system')) qemu.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return qemu.filter((pid) => {
    for (let p = parent.get(pid), hops = 0; p !== undefined && p > 1 && hops < 16; p = parent.get(p), hops++) if (p === root) return true;
    return false;
  });
}

before(async () => {
  vsc = await CodeServer.start({
    // The user's kernel cache (the VM tests fill it), read by the VM view; the rest of the home is the test's own.
    env: { ...world.env, XDG_CACHE_HOME: path.dirname(cacheDir()) },
    procs: world.procs,
    settings: { 'tldStudio.refreshIntervalMs': 200 },
  });
});

afterEach(async (t) => {
  if (vsc) await vsc.shot(`last-walkthrough-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`);
});

after(async () => {
  // The demo the extension started outlives a killed code-server: end it here.
  const left = await demos().catch(() => []);
  await vsc?.dispose();
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ended with the extension host
    }
  }
  await world.dispose();
});

test('the walkthrough opens with none of its steps done', async () => {
  await openWalkthrough();
  for (const id of ['doctor', 'demo', 'inspect', 'setValue', 'vmRun', 'stats']) {
    assert.equal(await step(id).getAttribute('aria-checked'), 'false', `${id} starts unchecked`);
  }
  await vsc.shot('walkthrough-open');
});

test('running Doctor from its step checks the step', async () => {
  await runFromStep('doctor', 'Run Doctor');
  await waitChecked('doctor');
  assert.equal(await step('demo').getAttribute('aria-checked'), 'false', 'only the step whose work was done');
  await vsc.shot('walkthrough-doctor');
});

test('Start Demo Process starts tld-demo with its hints, and checks the step', async () => {
  assert.deepEqual(await demos(), [], 'no demo before');
  await runFromStep('demo', 'Start Demo Process');
  await waitChecked('demo');
  const pids = await demos();
  assert.equal(pids.length, 1, 'one tld-demo publishes hints on the pinned map');
  await vsc.shot('walkthrough-demo');
});

test('inspecting the demo from its step opens the Hint Inspector on it and checks the step', async () => {
  const [pid] = await demos();
  assert.ok(pid);
  assert.equal(await step('inspect').getAttribute('aria-checked'), 'false');
  await runFromStep('inspect', 'Inspect Process');
  await vsc.page.locator('.quick-input-list .monaco-list-row', { hasText: `tld-demo (${pid})` }).first().click({ timeout: 30_000 });
  await vsc.inspector().locator('#title').filter({ hasText: `Process ${pid} (tld-demo)` }).waitFor({ timeout: 30_000 });
  await vsc.shot('walkthrough-inspector');
  await openWalkthrough();
  await waitChecked('inspect');
  assert.equal(await step('setValue').getAttribute('aria-checked'), 'false', 'no value was written yet');
  await vsc.shot('walkthrough-inspect-done');
});

test('setting a value from the Hint Inspector checks the "change a hint" step, not before', async () => {
  const [pid] = await demos();
  assert.ok(pid);
  await step('setValue').waitFor({ timeout: 15_000 });
  assert.equal(await step('setValue').getAttribute('aria-checked'), 'false', 'unchecked before any value is set');
  await vsc.page.locator('.tab', { hasText: `Hints: ${pid}` }).click();
  const frame = vsc.inspector();
  await frame.locator('#title').filter({ hasText: `Process ${pid} (tld-demo)` }).waitFor({ timeout: 30_000 });
  await setInEveryThread(vsc, frame, 'sched.latency_critical', '1');
  // The work succeeded: every thread of the demo holds the value.
  const client = await world.client();
  try {
    const seen = Date.now();
    let values: unknown[] = [];
    while (Date.now() - seen < 10_000) {
      values = [...valuesByTid(await client.snapshot(pid)).values()].map((v) => v['sched.latency_critical']);
      if (values.length > 0 && values.every((v) => v === 1)) break;
      await sleep(200);
    }
    assert.ok(values.length > 0, 'the demo has threads with hints');
    assert.deepEqual(values, values.map(() => 1), "the demo's threads hold the value set");
  } finally {
    world.release(client);
  }
  await vsc.shot('walkthrough-set-value');
  await openWalkthrough();
  await waitChecked('setValue');
  assert.equal(await step('vmRun').getAttribute('aria-checked'), 'false', 'only the step whose work was done');
  await vsc.shot('walkthrough-set-value-done');
});

test('the VM view shows the cached kernel (or how to get one) and an idle guest', async () => {
  await vsc.openContainer();
  await vsc.page.locator('.pane-header[aria-label^="VM"]').first().waitFor({ timeout: 30_000 });
  const rows = vsc.page.locator('.pane-body .monaco-list-row');
  const kernels = listCachedKernels(cacheDir());
  if (kernels.length > 0) {
    for (const k of kernels) {
      const row = rows.filter({ hasText: `Kernel ${k.version}` });
      await row.first().waitFor({ timeout: 30_000 });
      // Where it came from, then what it has: Debian's, the minimal build, or the user's file.
      const origin = k.source.startsWith('built:') ? 'minimal build' : k.source.startsWith('debian:') ? 'Debian' : 'your file';
      assert.match(await row.first().innerText(), new RegExp(`${origin} · sched_ext · BTF`));
    }
    assert.equal(await rows.filter({ hasText: 'No sched_ext kernel cached' }).count(), 0);
  } else {
    await rows.filter({ hasText: 'No sched_ext kernel cached' }).first().waitFor({ timeout: 30_000 });
  }
  await rows.filter({ hasText: 'Guest not running' }).first().waitFor({ timeout: 30_000 });
  await vsc.shot('vm-view');
});

test('New Scheduler from Template creates NAME.bpf.c renamed, opens it, and refuses an existing name', async () => {
  await vsc.runCommand('TLD Studio: New Scheduler from Template');
  const input = vsc.page.locator('.quick-input-widget input');
  await input.fill('scx-e2e');
  await vsc.page.locator('.quick-input-message', { hasText: "'scx-e2e' is not a C identifier" }).waitFor({ timeout: 15_000 });
  await input.fill('scx_e2e');
  await input.press('Enter');
  await vsc.page.locator('.tab', { hasText: 'scx_e2e.bpf.c' }).waitFor({ timeout: 30_000 });
  const text = fs.readFileSync(path.join(vsc.workspace, 'scx_e2e.bpf.c'), 'utf8');
  assert.match(text, /struct sched_ext_ops scx_e2e_ops = \{/);
  assert.match(text, /\.name = "scx_e2e",/);
  await vsc.runCommand('TLD Studio: New Scheduler from Template');
  await vsc.page.locator('.quick-input-widget input').fill('scx_e2e');
  await vsc.page.locator('.quick-input-message', { hasText: 'scx_e2e.bpf.c exists already' }).waitFor({ timeout: 15_000 });
  await vsc.page.keyboard.press('Escape');
  await vsc.shot('new-scheduler');
});

test('Run Scheduler in VM shows the running guest in the VM view, and Stop Guest ends it', async () => {
  assert.ok(listCachedKernels(cacheDir()).length > 0, 'no sched_ext kernel cached: npm test gets it before the tests (tldctl vm kernel)');
  await vsc.page.locator('.tab', { hasText: 'scx_e2e.bpf.c' }).click();
  await vsc.runCommand('TLD Studio: Run Scheduler in VM');
  await vsc.openContainer();
  const rows = vsc.page.locator('.pane-body .monaco-list-row');
  const running = rows.filter({ hasText: 'Guest running scx_e2e.bpf.c' }).first();
  await running.waitFor({ timeout: 60_000 });
  await vsc.shot('vm-guest-running');
  // Stopped while it builds: its qemu is ended as soon as it starts, and the run says so.
  await running.hover();
  await running.locator('.action-label[aria-label^="Stop Guest"]').click();
  await rows.filter({ hasText: 'Last run: scx_e2e.bpf.c was stopped' }).first().waitFor({ timeout: 120_000 });
  await rows.filter({ hasText: 'Guest not running' }).first().waitFor({ timeout: 15_000 });
  assert.deepEqual(qemuBelow(vsc.server.pid), [], 'no qemu is left running');
  await vsc.shot('vm-guest-stopped');
});
