// tld-demo seen through the Hint Inspector in code-server: the demo's own report of its values,
// the inspector opened on it, its table checked against that report, and a key set in every
// thread from the inspector's form.
import assert from 'node:assert/strict';

// Types only (erased): playwright-core lives in test/e2e's own node_modules.
import type { FrameLocator } from '../e2e/node_modules/playwright-core';

import { CodeServer } from './codeServer';
import { Proc, sleep } from './processes';

/** The latest values tld-demo (run with --report) says it holds: tid -> key -> value. */
export function demoReport(demo: Proc): Map<number, Record<string, unknown>> {
  const line = [...demo.lines].reverse().find((l) => l.startsWith('{"pid"'));
  assert.ok(line, 'tld-demo printed no report');
  const r = JSON.parse(line) as { threads: { tid: number; values: Record<string, unknown> }[] };
  return new Map(r.threads.map((t) => [t.tid, t.values]));
}

/** Runs Inspect Process on the 4-thread @demo; returns the inspector once its table has every thread. */
export async function inspectDemo(vsc: CodeServer, demo: Proc): Promise<FrameLocator> {
  await vsc.runCommand('TLD Studio: Inspect Process');
  await vsc.page.locator('.quick-input-list .monaco-list-row', { hasText: `(${demo.pid})` }).first().click({ timeout: 30_000 });
  const frame = vsc.inspector();
  await frame.locator('#title').filter({ hasText: `Process ${demo.pid} (tld-demo)` }).waitFor({ timeout: 30_000 });
  await frame.locator('#tbody tr').nth(3).waitFor({ timeout: 30_000 });
  return frame;
}

/** Asserts the inspector's table has the demo's threads, with the values the demo reports. */
export async function assertTableIsDemo(frame: FrameLocator, demo: Proc): Promise<void> {
  const headers = await frame.locator('#thead-row th').allInnerTexts();
  const col = (name: string) => headers.findIndex((h) => h.replace(/ [▴▾]$/, '') === name);
  const report = demoReport(demo);
  const rows = await frame.locator('#tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent ?? '')));
  assert.deepEqual(rows.map((r) => Number(r[0])).sort(), [...report.keys()].sort(), 'the table shows the demo threads');
  for (const r of rows) {
    const mine = report.get(Number(r[0]));
    assert.ok(mine);
    // Values the demo does not change after starting: each thread's weight and latency hint.
    assert.equal(r[col('sched.weight')], String(mine['sched.weight']));
    assert.equal(r[col('sched.latency_critical')], String(mine['sched.latency_critical']));
  }
}

/** Sets @key to @value in every thread with the inspector's form, confirming the dialog. */
export async function setInEveryThread(vsc: CodeServer, frame: FrameLocator, key: string, value: string): Promise<void> {
  await frame.locator('#set-key').selectOption(key);
  await frame.locator('#set-value').fill(value);
  await frame.locator('#set-all').click();
  await vsc.page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Set$/ }).click({ timeout: 15_000 });
}

/** @key of every thread as the demo reports it, once all equal @value or after @timeoutMs. */
export async function demoValuesOnce(demo: Proc, key: string, value: unknown, timeoutMs: number): Promise<unknown[]> {
  const seen = Date.now();
  let values: unknown[] = [];
  while (Date.now() - seen < timeoutMs) {
    await sleep(300);
    values = [...demoReport(demo).values()].map((v) => v[key]);
    if (values.every((v) => v === value)) break;
  }
  return values;
}
