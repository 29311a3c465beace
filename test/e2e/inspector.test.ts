// End to end in real VS Code: code-server with the packaged .vsix installed, driven in Chromium
// by playwright-core. The demo's real threads and values, a value set from the webview that the
// demo then reads, and a compile error in the Problems panel. Screenshots go to test-results/e2e.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import { CodeServer } from '../support/codeServer';
import { demoBinary, Proc, sleep } from '../support/processes';
import { repoRoot } from '../support/repo';
import { World } from '../support/world';

const world = new World('e2e');
let vsc: CodeServer;
let demo: Proc;

/** The latest values tld-demo reports of itself: tid -> key -> value. */
function demoReport(): Map<number, Record<string, unknown>> {
  const line = [...demo.lines].reverse().find((l) => l.startsWith('{"pid"'));
  assert.ok(line, 'tld-demo printed no report');
  const r = JSON.parse(line) as { threads: { tid: number; values: Record<string, unknown> }[] };
  return new Map(r.threads.map((t) => [t.tid, t.values]));
}

before(async () => {
  demo = world.procs.spawn(demoBinary, ['--threads', '4', '--tick', '50', '--report', '200'], 'tld-demo');
  await demo.waitForLine(/^\{"pid"/, 10_000);
  vsc = await CodeServer.start({
    env: world.env,
    procs: world.procs,
    workspaceFiles: [path.join(repoRoot, 'test', 'integration', 'bpf', 'syntax_error.bpf.c')],
    settings: { 'tldStudio.refreshIntervalMs': 200 },
  });
});

afterEach(async (t) => {
  // A failing step leaves its picture behind.
  if (vsc) await vsc.shot(`last-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`);
});

after(async () => {
  await vsc?.dispose();
  await world.dispose();
});

test('the Processes view lists the running tld-demo', async () => {
  await vsc.openContainer();
  const row = vsc.page.locator('.pane-body .monaco-list-row', { hasText: `tld-demo (${demo.pid})` });
  await row.waitFor({ timeout: 30_000 });
  assert.match(await row.innerText(), /4 threads · 6 keys/);
  await vsc.shot('processes-view');
});

test("the Hint Inspector shows the demo's real threads and values", async () => {
  await vsc.runCommand('TLD Studio: Inspect Process');
  await vsc.page.locator('.quick-input-list .monaco-list-row', { hasText: `(${demo.pid})` }).first().click({ timeout: 30_000 });
  const frame = vsc.inspector();
  await frame.locator('#title').filter({ hasText: `Process ${demo.pid} (tld-demo)` }).waitFor({ timeout: 30_000 });
  await frame.locator('#tbody tr').nth(3).waitFor({ timeout: 30_000 });
  const headers = await frame.locator('#thead-row th').allInnerTexts();
  const col = (name: string) => headers.findIndex((h) => h.replace(/ [▴▾]$/, '') === name);
  const report = demoReport();
  const rows = await frame.locator('#tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
  assert.deepEqual(rows.map((r) => Number(r[0])).sort(), [...report.keys()].sort(), 'the table shows the demo threads');
  for (const r of rows) {
    const mine = report.get(Number(r[0]));
    assert.ok(mine);
    // Values the demo does not change after starting: each thread's weight and latency hint.
    assert.equal(r[col('sched.weight')], String(mine['sched.weight']));
    assert.equal(r[col('sched.latency_critical')], String(mine['sched.latency_critical']));
  }
  assert.match(await frame.locator('#fill').innerText(), /48 of 4088 bytes of each thread's page used/);
  await vsc.shot('hint-inspector');
});

test('a value set from the webview reaches the threads of the demo', async () => {
  const frame = vsc.inspector();
  await frame.locator('#set-key').selectOption('sched.latency_critical');
  await frame.locator('#set-value').fill('1');
  await frame.locator('#set-all').click();
  await vsc.page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Set$/ }).click({ timeout: 15_000 });
  const seen = Date.now();
  let values: unknown[] = [];
  while (Date.now() - seen < 10_000) {
    await sleep(300);
    values = [...demoReport().values()].map((v) => v['sched.latency_critical']);
    if (values.every((v) => v === 1)) break;
  }
  assert.deepEqual(values, [1, 1, 1, 1], 'the demo reads the value the inspector set');
  await vsc.shot('after-set');
});

test('a compile error shows in the Problems panel at its line', async () => {
  await vsc.page.keyboard.press('Control+P');
  await vsc.page.locator('.quick-input-widget input').fill('syntax_error.bpf.c');
  await vsc.page.locator('.quick-input-list .monaco-list-row', { hasText: 'syntax_error.bpf.c' }).first().click({ timeout: 15_000 });
  await vsc.page.locator('.monaco-editor').first().waitFor();
  await vsc.runCommand('TLD Studio: Compile BPF File');
  await vsc.page.keyboard.press('Control+Shift+M');
  const problem = vsc.page.locator('.markers-panel .monaco-list-row', { hasText: "expected ';'" });
  await problem.waitFor({ timeout: 60_000 });
  assert.match(await problem.innerText(), /\[Ln 10, Col \d+\]/);
  await vsc.shot('problems');
});
