// End to end in real VS Code: code-server with the packaged .vsix installed, driven in Chromium
// by playwright-core. The demo's real threads and values, a value set from the webview that the
// demo then reads, and a compile error in the Problems panel. Screenshots go to test-results/e2e.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import type { FrameLocator, Locator } from 'playwright-core';

import { CodeServer } from '../support/codeServer';
import { assertTableIsDemo, demoReport as demoReportOf, demoValuesOnce, inspectDemo, setInEveryThread } from '../support/demoInspector';
import { DATA_NOT_AT_PAGE_START } from '../../extension/src/client/snapshot';
import { demoBinary, Proc, sleep } from '../support/processes';
import { repoRoot } from '../support/repo';
import { UPSTREAM_STYLE, buildUpstreamStyle } from '../support/upstreamStyle';
import { World } from '../support/world';

const world = new World('e2e');
let vsc: CodeServer;
let demo: Proc;

const demoReport = () => demoReportOf(demo);

before(async () => {
  demo = world.procs.spawn(demoBinary, ['--threads', '4', '--tick', '50', '--report', '200'], 'tld-demo');
  await demo.waitForLine(/^\{"pid"/, 10_000);
  vsc = await CodeServer.start({
    env: world.env,
    procs: world.procs,
    workspaceFiles: ['syntax_error.bpf.c', 'inlined_null.bpf.c'].map((f) => path.join(repoRoot, 'test', 'integration', 'bpf', f)),
    settings: {
      'tldStudio.refreshIntervalMs': 200,
      'tldStudio.bpf.includePath': ['${workspaceFolder}/inc'],
      'tldStudio.bpf.cflags': ['-DFLAG_VALUE=7'],
    },
  });
  // A program that builds only with the settings' include folder and flag.
  fs.mkdirSync(path.join(vsc.workspace, 'inc'));
  fs.writeFileSync(path.join(vsc.workspace, 'inc', 'only_here.h'), '#define ONLY_HERE 3\n');
  fs.writeFileSync(path.join(vsc.workspace, 'needs_settings.bpf.c'), [
    '#include "vmlinux.h"', '#include <bpf/bpf_helpers.h>', '#include "only_here.h"',
    '#if FLAG_VALUE != 7', '#error FLAG_VALUE must be 7', '#endif',
    'char LICENSE[] SEC("license") = "GPL";', '__u64 seen;',
    'SEC("tracepoint/syscalls/sys_enter_getpid")', 'int count(void *ctx) { seen += ONLY_HERE; return 0; }', '',
  ].join('\n'));
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

test('the Processes view draws its rows again only when they changed, and shows a process that starts and one that ends', async () => {
  await vsc.openContainer();
  await vsc.page.locator('.pane-body .monaco-list-row', { hasText: `tld-demo (${demo.pid})` }).waitFor({ timeout: 30_000 });
  // Each redraw also makes VS Code forget the rows until the view answers again: a click on
  // Inspect Process then would come without its process.
  const list = vsc.page.locator('.pane', { has: vsc.page.locator('.pane-header', { hasText: /^Processes/ }) }).locator('.monaco-list-rows');
  await list.evaluate((el) => {
    const g = globalThis as unknown as { tldRowChanges: number; MutationObserver: new (cb: (m: unknown[]) => void) => { observe(n: unknown, o: object): void } };
    g.tldRowChanges = 0;
    new g.MutationObserver((m) => (g.tldRowChanges += m.length)).observe(el, { childList: true, subtree: true, characterData: true });
  });
  await sleep(6500); // three of the view's refreshes (every 2 s)
  const changes = await vsc.page.evaluate(() => (globalThis as unknown as { tldRowChanges: number }).tldRowChanges);
  assert.equal(changes, 0, 'the rows were drawn again while the processes stayed the same');

  const other = world.procs.spawn(demoBinary, ['--threads', '1', '--tick', '50', '--report', '200'], 'tld-demo (second)');
  try {
    await other.waitForLine(/^\{"pid"/, 10_000);
    const row = vsc.page.locator('.pane-body .monaco-list-row', { hasText: `tld-demo (${other.pid})` });
    await row.waitFor({ timeout: 10_000 });
    await other.kill();
    await row.waitFor({ state: 'detached', timeout: 10_000 });
  } finally {
    await other.kill();
  }
});

test("the Hint Inspector shows the demo's real threads and values", async () => {
  const frame = await inspectDemo(vsc, demo);
  await assertTableIsDemo(frame, demo);
  assert.match(await frame.locator('#fill').innerText(), /48 of 4088 bytes of each thread's page used/);
  await vsc.shot('hint-inspector');
});

/** What the plot's canvas holds: how many pixels are drawn on, and a hash of them all. */
function canvasInk(frame: FrameLocator): Promise<{ inked: number; hash: number }> {
  return frame.locator('#plot').evaluate(async (el) => {
    // The page's own types (this project's tsconfig has no DOM lib).
    const c = el as unknown as { width: number; height: number; getContext(t: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null };
    const raf = (globalThis as unknown as { requestAnimationFrame(cb: () => void): number }).requestAnimationFrame;
    // What a draw already requested lands first: two animation frames.
    await new Promise<void>((r) => raf(() => raf(r)));
    const d = c.getContext('2d')?.getImageData(0, 0, c.width, c.height).data ?? [];
    let inked = 0;
    let hash = 2166136261;
    for (let i = 0; i < d.length; i++) {
      if (i % 4 === 3 && d[i]) inked++;
      hash = Math.imul(hash ^ (d[i] as number), 16777619) >>> 0;
    }
    return { inked, hash };
  });
}

/** The plot's summary of plugin.requests: min, median, max and the thread count. */
function parseSummary(text: string): { min: number; median: number; max: number; threads: number } {
  const m = /^plugin\.requests: min (\d+), median (\d+), max (\d+) over (\d+) threads$/.exec(text.trim());
  assert.ok(m, `a summary of plugin.requests: ${JSON.stringify(text)}`);
  return { min: Number(m[1]), median: Number(m[2]), max: Number(m[3]), threads: Number(m[4]) };
}

/** The demo's own latest plugin.requests of every thread. */
function demoRequests(): number[] {
  return [...demoReport().values()].map((v) => Number(v['plugin.requests']));
}

/** Waits until @summary's text is other than @than; returns it. */
async function summaryOtherThan(summary: Locator, than: string, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const now = await summary.innerText();
    if (now !== than) return now;
    if (Date.now() > until) assert.fail(`the plot's summary stayed ${JSON.stringify(than)}`);
    await sleep(100);
  }
}

test("the plot draws a key chosen by keyboard over the demo's threads, as a histogram too, and Pause freezes it and the table while the demo goes on", async () => {
  const frame = vsc.inspector();
  const key = frame.locator('#plot-key');
  const summary = frame.locator('#plot-summary');
  const chosen = () => key.evaluate((s) => (s as unknown as { selectedOptions: ArrayLike<{ textContent: string | null }> }).selectedOptions[0]?.textContent ?? '');
  // The keyboard alone: focus the key's list and step down it to plugin.requests (the demo's plugin counts per thread).
  await key.focus();
  const options = await key.locator('option').count();
  for (let i = 0; i < options && !(await chosen()).startsWith('plugin.requests'); i++) await vsc.page.keyboard.press('ArrowDown');
  assert.equal(await chosen(), 'plugin.requests (u32)');
  await summary.filter({ hasText: /^plugin\.requests: / }).waitFor({ timeout: 15_000 });
  const first = parseSummary(await summary.innerText());
  assert.equal(first.threads, demoReport().size, "the summary is over the demo's threads");
  assert.ok(first.min > 0 && first.min <= first.median && first.median <= first.max, `${JSON.stringify(first)} is ordered`);
  assert.ok((await canvasInk(frame)).inked > 0, 'the canvas is drawn on');
  assert.match((await frame.locator('#plot').getAttribute('aria-label')) ?? '', /^plugin\.requests: .* over the last \d+ refreshes$/);
  assert.match(await frame.locator('#plot-legend').innerText(), /thread \d+/);
  await vsc.shot('plot-time');

  await frame.locator('#plot-mode').selectOption('histogram');
  await frame.locator('#plot[aria-label^="histogram of plugin.requests: "]').waitFor({ timeout: 15_000 });
  assert.ok((await canvasInk(frame)).inked > 0, 'the histogram is drawn');
  assert.equal(await frame.locator('#plot-legend > *').count(), 0, 'a histogram has no lines to name');
  assert.equal(parseSummary(await summary.innerText()).threads, demoReport().size);
  await vsc.shot('plot-histogram');

  // Paused: the plot holds still for several refreshes while the demo's own values go past it.
  await frame.locator('#pause').click();
  await frame.locator('#pause[aria-pressed="true"]', { hasText: 'Resume' }).waitFor({ timeout: 15_000 });
  assert.equal(await frame.locator('#rate').innerText(), 'paused');
  const frozenText = await summary.innerText();
  const frozenInk = await canvasInk(frame);
  await sleep(400); // a refresh the host had sent before it heard of the pause lands meanwhile
  const frozenTable = await frame.locator('#tbody').innerText();
  const frozen = parseSummary(frozenText);
  const since = demo.lines.length;
  const seen = Date.now();
  let moved = false;
  while (Date.now() - seen < 15_000) {
    await sleep(200);
    const r = demoRequests();
    // New reports of the demo since the pause, past the least and the most the plot holds.
    moved = demo.lines.length - since >= 3 && Math.min(...r) > frozen.min && Math.max(...r) > frozen.max;
    if (moved) break;
  }
  assert.ok(moved, 'the demo went on counting while the plot was paused');
  await sleep(3 * 200); // a few more of the inspector's refresh intervals (200 ms)
  assert.equal(await summary.innerText(), frozenText, 'the paused summary did not change');
  assert.deepEqual(await canvasInk(frame), frozenInk, 'the paused canvas did not change');
  assert.equal(await frame.locator('#tbody').innerText(), frozenTable, 'the paused table did not change');
  await vsc.shot('plot-paused');

  await frame.locator('#pause').click();
  await frame.locator('#pause[aria-pressed="false"]', { hasText: 'Pause' }).waitFor({ timeout: 15_000 });
  const resumed = parseSummary(await summaryOtherThan(summary, frozenText));
  assert.ok(resumed.max > frozen.max, 'resumed, the plot shows the values the demo reached');
  assert.equal(resumed.threads, demoReport().size);
  assert.notDeepEqual(await canvasInk(frame), frozenInk, 'resumed, the canvas is drawn again');
  await vsc.shot('plot-resumed');
});

test('a value set from the webview reaches the threads of the demo', async () => {
  await setInEveryThread(vsc, vsc.inspector(), 'sched.latency_critical', '1');
  const values = await demoValuesOnce(demo, 'sched.latency_critical', 1, 10_000);
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

/** Opens @name of the workspace through Quick Open. */
async function openFile(name: string): Promise<void> {
  await vsc.page.keyboard.press('Control+P');
  await vsc.page.locator('.quick-input-widget input').fill(name);
  await vsc.page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().click({ timeout: 15_000 });
  await vsc.page.locator('.monaco-editor').first().waitFor();
}

test('a verifier error in an inlined helper shows in Problems at its line and column, with the call and the lookup as related places', async () => {
  await openFile('inlined_null.bpf.c');
  await vsc.runCommand('TLD Studio: Load BPF File');
  await vsc.page.keyboard.press('Control+Shift+M');
  const problem = vsc.page.locator('.markers-panel .monaco-list-row', { hasText: 'R0 may be NULL here' });
  await problem.first().waitFor({ timeout: 90_000 });
  assert.match(await problem.first().innerText(), /\[Ln 27, Col 17\]/);
  // Related information: rows under the problem, each with its place.
  const call = vsc.page.locator('.markers-panel .monaco-list-row', { hasText: 'scaled() inlined into count_getpid() here' });
  await call.first().waitFor({ timeout: 15_000 });
  assert.match(await call.first().innerText(), /39/);
  const lookup = vsc.page.locator('.markers-panel .monaco-list-row', { hasText: 'bpf_map_lookup_elem() returns it here' });
  await lookup.first().waitFor({ timeout: 15_000 });
  assert.match(await lookup.first().innerText(), /34/);
  await vsc.shot('verifier-related');
});

test('Compile BPF File takes tldStudio.bpf.includePath (${workspaceFolder} expanded) and tldStudio.bpf.cflags', async () => {
  await openFile('needs_settings.bpf.c');
  await vsc.runCommand('TLD Studio: Compile BPF File');
  const done = vsc.page.locator('.notifications-toasts', { hasText: 'Compiled needs_settings.bpf.c: no problems.' });
  await done.first().waitFor({ timeout: 90_000 });
  await vsc.shot('compiled-with-settings');
});

test("the Hint Inspector on a producer of upstream's first layout revision with its default TLD_DYN_DATA_SIZE says its data is not at the start of its page", async () => {
  const bin = fs.mkdtempSync('/tmp/tld-e2e-upstream-style-');
  try {
    buildUpstreamStyle(bin);
    const writer = world.procs.spawn(path.join(bin, UPSTREAM_STYLE.writerRev1Malloc), [world.pinPath, '3'], 'upstream-style writer');
    await writer.waitForLine(/^ready \d+/, 30_000);
    // One inspector on screen: the demo's goes first.
    await vsc.runCommand('View: Close All Editors');
    await vsc.runCommand('TLD Studio: Inspect Process');
    await vsc.page.locator('.quick-input-list .monaco-list-row', { hasText: `(${writer.pid})` }).first().click({ timeout: 30_000 });
    const message = vsc.inspector().locator('#message');
    await message.filter({ hasText: DATA_NOT_AT_PAGE_START }).waitFor({ timeout: 30_000 });
    assert.doesNotMatch(await message.innerText(), /outside its page/);
    await vsc.shot('inspector-data-not-at-page-start');
    await writer.kill();
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
});
