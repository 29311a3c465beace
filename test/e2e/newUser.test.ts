// End to end in real VS Code (code-server in Chromium), as a new user walks through it with
// this checkout's bpf/templates open, as `npm run demo` used to: work done before the
// walkthrough opens shows there and stays across a reload; a cell edit survives the refreshes
// of a table sorted by a changing column; the layout zoomed to the used bytes; the demo's
// struct key decoded with no settings; filters that match nothing or key names; the Set form
// on a hint; the proposed export name; the themes; the controls after the process exits; and
// New Scheduler from Template writing to the user's folder while `make -C bpf` still passes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import type { FrameLocator, Locator } from 'playwright-core';

import { CodeServer } from '../support/codeServer';
import { inspectDemo, setInEveryThread } from '../support/demoInspector';
import { demoBinary, Proc, sleep } from '../support/processes';
import { repoRoot } from '../support/repo';
import { World } from '../support/world';

const world = new World('e2e-newuser');
const templates = path.join(repoRoot, 'bpf', 'templates');
let vsc: CodeServer;
let demo: Proc;
let frame: FrameLocator;

function step(id: string): Locator {
  return vsc.page.locator(`button.getting-started-step[data-step-id$="#${id}"]`);
}

async function openWalkthrough(): Promise<void> {
  await vsc.runCommand('Welcome: Open Walkthrough...');
  await vsc.page.locator('.quick-input-list .monaco-list-row', { hasText: 'Hints for sched_ext schedulers' }).first().click({ timeout: 15_000 });
  await step('doctor').waitFor({ state: 'attached', timeout: 30_000 });
}

async function checked(ids: readonly string[], timeoutMs = 20_000): Promise<Record<string, string | null>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const state = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await step(id).getAttribute('aria-checked')] as const)));
    if (Object.values(state).every((v) => v === 'true') || Date.now() > until) return state;
    await sleep(250);
  }
}

/** The column index of @key in the inspector's table. */
async function column(key: string): Promise<number> {
  const headers = await frame.locator('#thead-row th').allInnerTexts();
  return headers.findIndex((h) => h.replace(/ [▴▾]$/, '') === key);
}

/** Waits until the text of cell (@row, @col) differs from @than (the table refreshed). */
async function cellChanges(row: number, col: number, than: string, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const now = await frame.locator('#tbody tr').nth(row).locator('th, td').nth(col).innerText();
    if (now !== than) return now;
    if (Date.now() > until) assert.fail(`cell ${row},${col} stayed ${than}`);
    await sleep(100);
  }
}

/** The computed style @prop of the first element matching @selector in the inspector. */
function styleOf(selector: string, prop: string, pseudo?: string): Promise<string> {
  return frame.locator(selector).first().evaluate((el, [p, ps]) => (globalThis as unknown as { getComputedStyle: Styles }).getComputedStyle(el, ps ?? null).getPropertyValue(p as string), [prop, pseudo] as const);
}

// The page's own functions (this project's tsconfig has no DOM lib).
type Styles = (el: unknown, pseudo?: string | null) => { getPropertyValue(p: string): string; backgroundColor: string; outlineColor: string };

const transparent = (c: string) => c === '' || c === 'transparent' || /rgba\(\d+, \d+, \d+, 0\)/.test(c);


before(async () => {
  demo = world.procs.spawn(demoBinary, ['--threads', '4', '--tick', '50', '--report', '200'], 'tld-demo');
  await demo.waitForLine(/^\{"pid"/, 10_000);
  // No tldStudio.keyTypes: the demo's struct is found in its debug information.
  vsc = await CodeServer.start({ env: world.env, procs: world.procs, folder: templates, settings: { 'tldStudio.refreshIntervalMs': 200 } });
});

afterEach(async (t) => {
  if (vsc) await vsc.shot(`last-newuser-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`);
});

after(async () => {
  await vsc?.dispose();
  await world.dispose();
});

test('Doctor, Inspect and a value set before the walkthrough opens show as done in it, and stay done after a reload', async () => {
  await vsc.runCommand('TLD Studio: Doctor');
  frame = await inspectDemo(vsc, demo);
  await setInEveryThread(vsc, frame, 'sched.latency_critical', '1');
  await openWalkthrough();
  assert.deepEqual(await checked(['doctor', 'inspect', 'setValue']), { doctor: 'true', inspect: 'true', setValue: 'true' });
  assert.equal(await step('vmRun').getAttribute('aria-checked'), 'false', 'a step not done stays unchecked');
  await vsc.shot('newuser-walkthrough-before');
  await vsc.page.reload();
  await vsc.page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  // The reloaded window restores the open walkthrough by itself; else it is opened again.
  const restored = await step('doctor').waitFor({ state: 'attached', timeout: 20_000 }).then(() => true, () => false);
  if (!restored) await openWalkthrough();
  assert.deepEqual(await checked(['doctor', 'inspect', 'setValue']), { doctor: 'true', inspect: 'true', setValue: 'true' });
  await vsc.shot('newuser-walkthrough-reloaded');
});

test('a cell edit survives the refreshes of a table sorted by a changing column, then sets the value', async () => {
  // The walkthrough's media is a webview too: only the inspector's stays open.
  await vsc.runCommand('View: Close All Editors');
  frame = await inspectDemo(vsc, demo);
  const counter = await column('demo.counter');
  const weight = await column('sched.weight');
  assert.ok(counter > 0 && weight > 0);
  // Sorted by the counter, which every refresh changes: each refresh redraws the rows.
  await frame.locator('#thead-row th').nth(counter).click();
  await frame.locator('#thead-row th').nth(counter).click();
  const row = frame.locator('#tbody tr').first();
  const tid = Number(await row.locator('th').innerText());
  await row.locator('td').nth(weight - 1).dblclick();
  const input = frame.locator('#tbody input');
  await input.fill('55');
  await input.press('End');
  await input.press('5');
  // Several refreshes redraw the row under the editor.
  let seen = await frame.locator('#tbody tr').first().locator('td').nth(counter - 1).innerText();
  for (let i = 0; i < 4; i++) seen = await cellChanges(0, counter, seen);
  assert.equal(await input.count(), 1, 'the editor is still open');
  assert.equal(await input.inputValue(), '555', 'with what was typed');
  // And the focus, while the webview has it (the workbench may take it for a moment, and a
  // cross-origin frame cannot take it back without the user).
  const focus = await input.evaluate((el) => {
    const doc = (globalThis as unknown as { document: { activeElement: unknown; hasFocus(): boolean } }).document;
    return { active: el === doc.activeElement, frameFocused: doc.hasFocus() };
  });
  assert.ok(focus.active || !focus.frameFocused, 'and keeps the focus');
  await input.press('Enter');
  await vsc.page.locator('.monaco-dialog-box', { hasText: `Set sched.weight = 555 in thread ${tid}?` }).waitFor({ timeout: 15_000 });
  await vsc.page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Set$/ }).click();
  await frame.locator(`#tbody tr[data-tid="${tid}"] td:nth-child(${weight + 1})`).filter({ hasText: /^555$/ }).waitFor({ timeout: 15_000 });
  await vsc.shot('newuser-edit-sorted');
});

test('the layout zooms to the used bytes with a ruler, hatched padding and the free tail as one segment, over the whole page', async () => {
  const layout = frame.locator('#layout svg');
  await layout.scrollIntoViewIfNeeded();
  const width = Number(await layout.getAttribute('width'));
  const free = frame.locator('#layout rect[data-kind="free"]');
  assert.equal(await free.count(), 1, 'the free tail is one segment');
  assert.match(await free.locator('title').textContent() ?? '', /^free: 4,040 B$/);
  assert.ok(await frame.locator('#layout text.free-label', { hasText: 'free: 4,040 B' }).count(), 'labelled on the bar');
  // 48 used bytes over most of the width: the 1-byte keys are far wider than a sliver.
  const widths = await frame.locator('#layout rect[data-kind="value"]').evaluateAll((rs) => rs.map((r) => Number(r.getAttribute('width'))));
  assert.equal(widths.length, 6);
  for (const w of widths) assert.ok(w >= width * 0.8 / 48 - 0.5, `a value is ${w} units of ${width}`);
  assert.ok(await frame.locator('#layout rect[data-kind="padding"]').count() > 0, 'padding is drawn');
  assert.equal(await styleOf('#layout rect.padding', 'fill'), 'url("#hatch")');
  const ruler = await frame.locator('#layout text.ruler').allTextContents();
  assert.ok(ruler.includes('0') && ruler.includes('48'), `the ruler marks 0 and 48: ${ruler.join(' ')}`);
  assert.ok(ruler.some((t) => /whole page to scale: 48 of 4088/.test(t)), 'the overview stays');
  await vsc.shot('newuser-layout-zoomed');
});

test("the demo's struct key shows its fields with no settings, and the Set form starts on a hint", async () => {
  const request = await column('demo.request');
  const cell = await frame.locator('#tbody tr').first().locator('td').nth(request - 1).innerText();
  assert.match(cell, /^\{prio: \d, id: \d+\}$/);
  assert.match((await frame.locator('#thead-row th').nth(request).getAttribute('title')) ?? '', /^struct demo_request, 8 bytes/);
  assert.match(await frame.locator('#set-key').inputValue(), /^sched\./);
});

test('filters: nothing matching says so, a key name keeps every thread, key=value picks threads', async () => {
  const filter = frame.locator('#filter');
  await filter.fill('no-such-thread');
  await frame.locator('#no-match', { hasText: 'No thread matches the filter "no-such-thread"' }).waitFor({ timeout: 10_000 });
  await vsc.shot('newuser-filter-empty');
  await filter.fill('latency_crit');
  await frame.locator('#tbody tr[data-tid]').nth(3).waitFor({ timeout: 10_000 });
  await filter.fill('sched.weight=555');
  await frame.locator('#count', { hasText: /^1 of 4 threads/ }).waitFor({ timeout: 10_000 });
  await filter.fill('');
});

test('Export proposes a file name of the process and the time', async () => {
  await frame.locator('#export-json').click();
  const input = vsc.page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15_000 });
  // The dialog fills its input once it has listed the folder.
  const proposed = new RegExp(`/tld-tld-demo-${demo.pid}-\\d{8}-\\d{6}\\.json$`);
  const until = Date.now() + 15_000;
  while (!proposed.test(await input.inputValue()) && Date.now() < until) await sleep(200);
  assert.match(await input.inputValue(), proposed);
  await vsc.shot('newuser-export-name');
  await vsc.page.keyboard.press('Escape');
});

test('dark and high-contrast themes keep swatches, flashes and buttons visible', async () => {
  // The picker's labels (the settings' ids are "Default Dark Modern" and "Default High Contrast").
  for (const theme of ['Dark Modern', 'Dark High Contrast']) {
    await vsc.runCommand('Preferences: Color Theme');
    await vsc.page.locator('.quick-input-widget input').fill(theme);
    await vsc.page.locator('.quick-input-list .monaco-list-row', { hasText: theme }).first().click({ timeout: 15_000 });
    await vsc.page.locator(`.monaco-workbench.${theme.includes('High Contrast') ? 'hc-black' : 'vs-dark'}`).waitFor({ timeout: 15_000 });
    await sleep(1000); // the webview takes the theme's colours on its next message
    const button = await styleOf('#pause', 'border-top-color');
    const buttonBg = await styleOf('#pause', 'background-color');
    assert.ok(!transparent(buttonBg) || !transparent(button), `${theme}: the button has a background or a border`);
    if (theme.includes('High Contrast')) assert.ok(!transparent(button), `${theme}: the button has a border`);
    assert.ok(!transparent(await styleOf('.legend.v0', 'background-color', '::before')), `${theme}: the swatch is coloured`);
    // One read of a flashing cell's colours (rows are redrawn on every refresh of this sorted table).
    let flash: [string, string] | null = null;
    for (let i = 0; i < 50 && !flash; i++, await sleep(100)) {
      flash = await frame.locator('#tbody').evaluate((tbody) => {
        const td = (tbody as unknown as { querySelector(s: string): unknown }).querySelector('td.changed');
        if (!td) return null;
        const st = (globalThis as unknown as { getComputedStyle: Styles }).getComputedStyle(td);
        return [st.backgroundColor, st.outlineColor] as [string, string];
      });
    }
    assert.ok(flash, `${theme}: a cell flashed`);
    const [bg, outline] = flash;
    assert.ok(!transparent(bg) || !transparent(outline), `${theme}: a changed cell flashes (${bg}, ${outline})`);
    await vsc.shot(`newuser-theme-${theme.replace(/\W+/g, '-').toLowerCase()}`);
  }
});

test("New Scheduler from Template with the checkout's bpf/templates open writes to the user's folder, and make -C bpf passes", async () => {
  const before = fs.readdirSync(templates);
  await vsc.runCommand('TLD Studio: New Scheduler from Template');
  const input = vsc.page.locator('.quick-input-widget input');
  await input.fill('scx_newuser');
  await input.press('Enter');
  await vsc.page.locator('.tab', { hasText: 'scx_newuser.bpf.c' }).waitFor({ timeout: 30_000 });
  try {
    assert.deepEqual(fs.readdirSync(templates), before, 'nothing new in bpf/templates');
    assert.ok(fs.existsSync(path.join(vsc.home, 'tld-schedulers', 'scx_newuser.bpf.c')), "the scheduler is in the user's folder");
  } finally {
    fs.rmSync(path.join(templates, 'scx_newuser.bpf.c'), { force: true });
  }
  const make = spawnSync('make', ['-C', path.join(repoRoot, 'bpf')], { encoding: 'utf8' });
  assert.equal(make.status, 0, make.stderr);
  await vsc.shot('newuser-new-scheduler');
});

test('after the process exits, Pause, Set and refreshing stop, and the table keeps its last values', async () => {
  await vsc.page.locator('.tab', { hasText: `Hints: ${demo.pid}` }).click();
  await demo.kill();
  await frame.locator('#message', { hasText: `Process ${demo.pid} exited` }).waitFor({ timeout: 15_000 });
  for (const id of ['pause', 'set-all', 'set-key', 'set-value']) assert.ok(await frame.locator(`#${id}`).isDisabled(), `#${id} is disabled`);
  assert.match(await frame.locator('#rate').innerText(), /not refreshing/);
  assert.equal(await frame.locator('#tbody tr[data-tid]').count(), 4, 'the last values stay');
  await vsc.shot('newuser-exited');
});
