// End to end in real VS Code (code-server in Chromium): the walkthrough's first steps done from
// the walkthrough itself (Doctor, the demo started by the extension, the inspector on it), each
// step checked only once its work succeeded; and the VM view showing the kernel cache.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import type { Locator } from 'playwright-core';

import { cacheDir } from '../../extension/src/client/paths';
import { listCachedKernels } from '../../extension/src/vm/kernel';
import { CodeServer } from '../support/codeServer';
import { sleep } from '../support/processes';
import { World } from '../support/world';

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

test('the VM view shows the cached kernel (or how to get one) and an idle guest', async () => {
  await vsc.openContainer();
  await vsc.page.locator('.pane-header[aria-label^="VM"]').first().waitFor({ timeout: 30_000 });
  const rows = vsc.page.locator('.pane-body .monaco-list-row');
  const kernels = listCachedKernels(cacheDir());
  if (kernels.length > 0) {
    for (const k of kernels) {
      const row = rows.filter({ hasText: `Kernel ${k.version}` });
      await row.first().waitFor({ timeout: 30_000 });
      assert.match(await row.first().innerText(), /sched_ext · BTF · cached/);
    }
    assert.equal(await rows.filter({ hasText: 'No sched_ext kernel cached' }).count(), 0);
  } else {
    await rows.filter({ hasText: 'No sched_ext kernel cached' }).first().waitFor({ timeout: 30_000 });
  }
  await rows.filter({ hasText: 'Guest not running' }).first().waitFor({ timeout: 30_000 });
  await vsc.shot('vm-view');
});
