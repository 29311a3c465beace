// End to end as an ordinary user, as desktop VS Code runs: after `tldctl helper install --user`,
// code-server runs as the test user without any capability, and the extension reaches the
// user's own tld-demo (run with CAP_BPF + CAP_PERFMON) through sudo -n and the installed host.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import { INSTALL_DIR } from '../../extension/src/client/hostConfig';
import { CodeServer, shotsDir } from '../support/codeServer';
import { ProcessSet, Proc, demoBinary, runTldctl, sleep } from '../support/processes';
import { TestUser, asUser, ensureTestUser, userEnv } from '../support/user';

const procs = new ProcessSet(process.env);
const pinDir = `/sys/fs/bpf/tld-e2e-user-${process.pid}`;
const pinPath = `${pinDir}/tld_data_map`;
let user: TestUser;
let vsc: CodeServer | undefined;
let demo: Proc;

/** The latest values tld-demo reports of itself: tid -> key -> value. */
function demoReport(): Map<number, Record<string, unknown>> {
  const line = [...demo.lines].reverse().find((l) => l.startsWith('{"pid"'));
  assert.ok(line, 'tld-demo printed no report');
  const r = JSON.parse(line) as { threads: { tid: number; values: Record<string, unknown> }[] };
  return new Map(r.threads.map((t) => [t.tid, t.values]));
}

before(async () => {
  user = ensureTestUser();
  assert.ok(!fs.existsSync(INSTALL_DIR), `a helper host is installed on this machine (${INSTALL_DIR}); this test installs and removes its own: run tldctl helper uninstall first`);
  const inst = await runTldctl(procs, ['helper', 'install', '--user', user.name, '--pin-dir', pinDir], { timeoutMs: 120_000 });
  assert.equal(inst.code, 0, inst.stdout + inst.stderr);
  const [cmd, ...prefix] = asUser(user, ['bpf', 'perfmon']) as [string, ...string[]];
  demo = procs.spawn(cmd, [...prefix, demoBinary, '--threads', '4', '--tick', '50', '--report', '200'], 'tld-demo as the user', {
    env: userEnv(user, process.env, { TLD_PIN_DIR: pinDir }),
  });
  await demo.waitForLine(/^\{"pid"/, 15_000);
  vsc = await CodeServer.start({
    env: process.env,
    procs,
    user,
    settings: { 'tldStudio.refreshIntervalMs': 200, 'tldStudio.pinPath': pinPath },
    shots: path.join(shotsDir, 'ordinary-user'),
  });
});

afterEach(async (t) => {
  if (vsc) await vsc.shot(`last-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`);
});

after(async () => {
  await vsc?.dispose();
  await procs.killAll();
  if (fs.existsSync(INSTALL_DIR)) await runTldctl(procs, ['helper', 'uninstall'], { timeoutMs: 60_000 });
  fs.rmSync(pinDir, { recursive: true, force: true });
});

test("as an ordinary user, the Processes view lists the user's tld-demo", async () => {
  assert.ok(vsc);
  await vsc.openContainer();
  const row = vsc.page.locator('.pane-body .monaco-list-row', { hasText: `tld-demo (${demo.pid})` });
  await row.waitFor({ timeout: 60_000 });
  assert.match(await row.innerText(), /4 threads · 6 keys/);
  await vsc.shot('processes-view');
});

test("as an ordinary user, the Hint Inspector shows the demo's values", async () => {
  assert.ok(vsc);
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
    assert.equal(r[col('sched.weight')], String(mine['sched.weight']));
    assert.equal(r[col('sched.latency_critical')], String(mine['sched.latency_critical']));
  }
  await vsc.shot('hint-inspector');
});

test('as an ordinary user, a value set from the inspector reaches the demo', async () => {
  assert.ok(vsc);
  const frame = vsc.inspector();
  await frame.locator('#set-key').selectOption('sched.latency_critical');
  await frame.locator('#set-value').fill('1');
  await frame.locator('#set-all').click();
  await vsc.page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Set$/ }).click({ timeout: 15_000 });
  const seen = Date.now();
  let values: unknown[] = [];
  while (Date.now() - seen < 15_000) {
    await sleep(300);
    values = [...demoReport().values()].map((v) => v['sched.latency_critical']);
    if (values.every((v) => v === 1)) break;
  }
  assert.deepEqual(values, [1, 1, 1, 1], 'the demo reads the value the inspector set');
  await vsc.shot('after-set');
});
