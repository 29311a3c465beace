// The Hint Inspector's page alone in Chromium (no VS Code): the webview bundle the panel carries,
// fed the messages a refresh sends, and what the browser does for each, counted by DevTools.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import type { Browser, CDPSession, Page } from '../e2e/node_modules/playwright-core';
import { inspectorHtml } from '../../extension/src/inspector/page';
import { layoutOf } from '../../webview/src/layoutModel';
import type { HostToWebview } from '../../webview/src/messages';
import { VIEWPORT, launchChromium } from '../support/chromium';
import { repoRoot } from '../support/repo';

const THREADS = 2000;
const KEYS = 16;
const REFRESHES = 20;

function snapshotMessage(): HostToWebview {
  const keys = Array.from({ length: KEYS }, (_, k) => ({ name: `key${k}`, size: 8, offset: 8 * k, type: 'u64' }));
  return {
    type: 'snapshot', pid: 4242, comm: 'app', keys, columns: [],
    layout: layoutOf(keys.map(({ name, size, offset }) => ({ name, size, offset }))),
    rows: Array.from({ length: THREADS }, (_, i) => ({ tid: 5000 + i, comm: 'worker', cells: keys.map((__, k) => String(i * k)) })),
    threads: THREADS,
  };
}

/** Refresh @n: a third of the threads changed one value each, as a busy process's refresh does. */
function patchMessage(n: number): HostToWebview {
  const tids: number[] = [];
  const cols: number[] = [];
  const texts: string[] = [];
  for (let i = n % 3; i < THREADS; i += 3) {
    tids.push(5000 + i);
    cols.push(i % KEYS);
    texts.push(String(n * 1000 + i));
  }
  return { type: 'patch', cells: { tids, cols, texts }, added: [], removed: [] };
}

let browser: Browser;
let page: Page;
let cdp: CDPSession;
const errors: string[] = [];

before(async () => {
  const script = fs.readFileSync(path.join(repoRoot, 'dist', 'webview.js'), 'utf8');
  const style = fs.readFileSync(path.join(repoRoot, 'media', 'inspector.css'), 'utf8');
  browser = await launchChromium();
  page = await browser.newPage({ viewport: VIEWPORT });
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  // What VS Code gives a webview; the page's messages to the host are kept, not sent anywhere.
  await page.addInitScript(() => {
    const g = globalThis as unknown as { acquireVsCodeApi: () => unknown; sent: unknown[] };
    g.sent = [];
    let state: unknown;
    g.acquireVsCodeApi = () => ({ postMessage: (m: unknown) => g.sent.push(m), getState: () => state, setState: (s: unknown) => (state = s) });
  });
  const initial = [snapshotMessage(), { type: 'status', paused: false, intervalMs: 100 } as const];
  const html = inspectorHtml({ cspSource: 'vscode-webview:', nonce: 'test-nonce', code: { script, style }, pid: 4242, initial });
  // Served from an address, not set into about:blank: init scripts run on navigations only.
  await page.route('http://inspector.test/', (route) => route.fulfill({ contentType: 'text/html', body: html }));
  await page.goto('http://inspector.test/');
  await page.waitForSelector('#tbody tr', { timeout: 10_000 }).catch((e: Error) => {
    throw new Error(`the page drew no table: ${e.message}\n${errors.join('\n')}`);
  });
  cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
});

after(async () => {
  await browser?.close();
});

async function metric(name: string): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return metrics.find((m) => m.name === name)?.value ?? 0;
}

/** Posts @m to the page as the host does, then lets two frames go by (the plot draws in the first). */
async function deliver(m: HostToWebview): Promise<void> {
  await page.evaluate(async (msg) => {
    const g = globalThis as unknown as { postMessage: (m: unknown, to: string) => void; requestAnimationFrame: (f: () => void) => number };
    g.postMessage(msg, '*');
    await new Promise<void>((r) => g.requestAnimationFrame(() => g.requestAnimationFrame(r)));
  }, m);
}

test('a refresh lays the Hint Inspector out once, not again for the plot', async () => {
  for (const mode of ['time', 'histogram']) {
    await page.selectOption('#plot-mode', mode);
    for (let n = 0; n < 3; n++) await deliver(patchMessage(n));
    const before = await metric('LayoutCount');
    for (let n = 3; n < 3 + REFRESHES; n++) await deliver(patchMessage(n));
    const layouts = (await metric('LayoutCount')) - before;
    // One frame lays out what the message changed; the plot's draw used to read the canvas's
    // size in its animation frame, after the message's changes: a layout forced there, then
    // the frame's own after the draw wrote its summary.
    assert.ok(layouts <= REFRESHES, `${mode} plot: ${layouts} layouts for ${REFRESHES} refreshes`);
    assert.ok(layouts >= REFRESHES / 2, `${mode} plot: ${layouts} layouts for ${REFRESHES} refreshes: the changed cells were not laid out`);
  }
  const shown = await page.$eval('#tbody tr:first-child td:nth-of-type(2)', (td) => td.textContent);
  assert.match(shown ?? '', /^\d+$/, 'the table shows values');
});

test('the thread table lays out apart from the page around it', async () => {
  await page.selectOption('#plot-mode', 'time');
  const layoutRoots: string[] = [];
  await cdp.send('Tracing.start', { categories: 'devtools.timeline', transferMode: 'ReturnAsStream' });
  for (let n = 0; n < 5; n++) await deliver(patchMessage(n));
  const done = new Promise<string>((resolve) => cdp.once('Tracing.tracingComplete', (e) => resolve(e.stream ?? '')));
  await cdp.send('Tracing.end');
  const stream = await done;
  let text = '';
  for (;;) {
    const chunk = await cdp.send('IO.read', { handle: stream });
    text += chunk.base64Encoded ? Buffer.from(chunk.data, 'base64').toString('utf8') : chunk.data;
    if (chunk.eof) break;
  }
  await cdp.send('IO.close', { handle: stream });
  const events = (JSON.parse(text) as { traceEvents: { name: string; args?: { endData?: { layoutRoots?: { nodeName: string }[] } } }[] }).traceEvents;
  for (const e of events) if (e.name === 'Layout') for (const r of e.args?.endData?.layoutRoots ?? []) layoutRoots.push(r.nodeName);
  const table = layoutRoots.filter((n) => n.includes("id='scroller'")).length;
  // The changed cells' layout starts at the table's scroller (CSS containment), not the document.
  assert.ok(table >= 1, `layout roots: ${layoutRoots.join(', ') || 'none'}`);
});
