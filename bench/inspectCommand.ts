// Benchmark: Inspect Process in real VS Code (code-server in Chromium, the packaged .vsix), from
// the click on a process's inline Inspect action to the Hint Inspector's first full table: every
// thread counted and the rows in view holding every key's value. On a 1,000-thread libtld
// process (the test fixture, 16 keys): the first Inspect after the window loaded (cold: a new
// extension host, the helper opens, the webview's code loads for the first time in that
// window), then warm ones, beside the same on a 1-thread process in the same run. The browser
// has shown a webview before the window loads, as a user's has: the first webview ever in a
// new browser profile also installs VS Code's webview service worker, which is reported too.
import { performance } from 'node:perf_hooks';

import type { Frame } from '../test/e2e/node_modules/playwright-core';

import { CodeServer } from '../test/support/codeServer';
import { Proc, sleep } from '../test/support/processes';
import { World } from '../test/support/world';
import { Figure, boundFigure, ratioFigure } from './figure';
import { median } from './stats';

export interface InspectCommandFigures {
  readonly keys: number;
  readonly rounds: number;
  /** Median ms from the click to the full table, per process size. */
  readonly threads_1000_ms: number;
  readonly threads_1_ms: number;
  /** The first Inspect Process after the window loaded, on the 1,000-thread process. */
  readonly threads_1000_cold_ms: number;
  /** The first ever in the browser's new profile (the webview's service worker installs). */
  readonly threads_1000_first_ever_ms: number;
  readonly threads_1000_all_ms: readonly number[];
  readonly threads_1_all_ms: readonly number[];
}

const KEYS = 16;
const TIMEOUT_MS = 60_000;

/** The little of the DOM noteFullTable reads (this project compiles without the DOM library). */
interface Node {
  readonly textContent: string | null;
  readonly children: ArrayLike<Node>;
}
interface Doc {
  getElementById(id: string): Node | null;
  querySelectorAll(selector: string): ArrayLike<Node>;
}

/**
 * Installed in every frame as it is made (an init script): in the frames inside the workbench,
 * checks every few milliseconds whether the document is the inspector's with a full table
 * (every thread counted, the rows in view holding every cell), then notes the page's clock
 * (Date.now, shared by every frame of the browser) at the next frame drawn, and the thread
 * count. The time is the page's own, so the driver's round trips to find the webview's frame
 * are not counted. A timer, not DOM events: the webview writes its document into the frame
 * (document.write), which drops the listeners of the document it replaces.
 */
function noteFullTable(): void {
  const g = globalThis as unknown as {
    document: Doc;
    top: unknown;
    tldFullTable?: { threads: number; at: number };
    requestAnimationFrame(f: () => void): void;
    setInterval(f: () => void, ms: number): number;
    clearInterval(id: number): void;
  };
  if (g.top === globalThis) return;
  const timer = g.setInterval(() => {
    const doc = g.document;
    const count = /^(\d+) of (\d+) threads with hints$/.exec(doc.getElementById('count')?.textContent ?? '');
    if (!count || count[1] !== count[2]) return;
    const columns = doc.querySelectorAll('#thead-row th').length;
    const rows = Array.from(doc.querySelectorAll('#tbody tr'));
    if (columns > 2 && rows.length > 0 && rows.every((r) => r.children.length === columns && Array.from(r.children).every((c) => (c.textContent ?? '') !== ''))) {
      g.clearInterval(timer);
      g.requestAnimationFrame(() => (g.tldFullTable = { threads: Number(count[1]), at: Date.now() }));
    }
  }, 4);
}

function fullTableSeen(): { threads: number; at: number } | undefined {
  return (globalThis as unknown as { tldFullTable?: { threads: number; at: number } }).tldFullTable;
}

/** In the workbench page: note the page's clock when the next click begins (pointer down, in the capture phase: before VS Code sees it). */
function noteClick(): void {
  const g = globalThis as unknown as { tldClickAt: number; addEventListener(t: string, f: () => void, o: object): void };
  g.tldClickAt = 0;
  g.addEventListener('pointerdown', () => (g.tldClickAt = Date.now()), { capture: true, once: true });
}

function clickedAt(): number {
  return (globalThis as unknown as { tldClickAt: number }).tldClickAt;
}

/** What VS Code shows in its notifications, and its editors' titles, for an error message. */
async function shownMessages(vsc: CodeServer): Promise<string> {
  const toasts = await vsc.page.locator('.notification-toast').allInnerTexts().catch(() => []);
  const tabs = await vsc.page.locator('.tabs-container .tab').allInnerTexts().catch(() => []);
  return `; notifications: ${JSON.stringify(toasts)}; editors: ${JSON.stringify(tabs)}`;
}

/** The inspector's inner document, once the webview has made it. */
async function inspectorFrame(vsc: CodeServer, deadline: number): Promise<Frame> {
  for (;;) {
    const outer = await (await vsc.page.$('iframe.webview.ready'))?.contentFrame();
    const f = await (await outer?.$('iframe#active-frame'))?.contentFrame();
    if (f) return f;
    if (performance.now() > deadline) throw new Error(`the Hint Inspector did not open in ${TIMEOUT_MS} ms${await shownMessages(vsc)}`);
    await sleep(2);
  }
}

/**
 * One Inspect Process on @pid: ms from the click to a full table of @rows threads, both read
 * off the browser's own clock (noteFullTable), so the driver's round trips are not counted.
 */
async function inspectOnce(vsc: CodeServer, pid: number, rows: number): Promise<number> {
  const row = vsc.page.locator('.pane-body .monaco-list-row', { hasText: `(${pid})` }).first();
  await row.waitFor({ timeout: TIMEOUT_MS });
  await row.hover();
  const action = row.locator('.action-label[aria-label^="Inspect Process"]');
  await action.waitFor({ timeout: TIMEOUT_MS });
  await vsc.page.evaluate(noteClick);
  const deadline = performance.now() + TIMEOUT_MS;
  await action.click();
  for (;;) {
    const frame = await inspectorFrame(vsc, deadline);
    try {
      const seen = await frame.evaluate(fullTableSeen);
      if (seen?.threads === rows) {
        const start = await vsc.page.evaluate(clickedAt);
        if (!start) throw new Error('the click on Inspect Process was not seen by the page');
        return seen.at - start;
      }
      if (seen) throw new Error(`the Hint Inspector shows ${seen.threads} threads, not ${rows}`);
    } catch (e) {
      // The webview swaps its pending frame in after load: follow the new one.
      if (!frame.isDetached()) throw e;
    }
    if (performance.now() > deadline) throw new Error(`the Hint Inspector showed no full table of ${rows} threads in ${TIMEOUT_MS} ms`);
    await sleep(10);
  }
}

/** Closes every editor (so the next Inspect Process opens a new panel) and waits for the webview to go. */
async function closeEditors(vsc: CodeServer): Promise<void> {
  await vsc.runCommand('View: Close All Editors');
  const until = performance.now() + TIMEOUT_MS;
  while (await vsc.page.$('iframe.webview')) {
    if (performance.now() > until) throw new Error('the Hint Inspector did not close');
    await sleep(20);
  }
}

/** How many threads of @proc have data, as the inspector counts them. */
async function threadsWithData(world: World, proc: Proc): Promise<number> {
  const client = await world.client();
  try {
    return (await client.snapshot(proc.pid)).threads.filter((t) => t.hasData).length;
  } finally {
    world.release(client);
  }
}

export async function runInspectCommandBench(quick: boolean): Promise<InspectCommandFigures> {
  const rounds = quick ? 3 : 9;
  const world = new World('bench-inspect');
  let vsc: CodeServer | undefined;
  try {
    process.stderr.write('bench: Inspect Process in code-server (packaging the .vsix, starting code-server) ...\n');
    const big = (await world.procs.fixture(['--mode', 'hints', '--threads', '1000', '--keys', String(KEYS)], 30_000)).proc;
    const small = (await world.procs.fixture(['--mode', 'hints', '--threads', '1', '--keys', String(KEYS)], 30_000)).proc;
    const sizes = [
      { proc: big, rows: await threadsWithData(world, big), times: [] as number[] },
      { proc: small, rows: await threadsWithData(world, small), times: [] as number[] },
    ];
    // The default refresh interval: what a user has.
    vsc = await CodeServer.start({ env: world.env, procs: world.procs });
    await vsc.page.context().addInitScript(noteFullTable);
    await vsc.openContainer();
    // The first webview ever in this browser profile; then the window loads again, as a user's
    // does, and the next round is cold: a new extension host, the helper opens, the webview's
    // code loads. The large process goes first: what a user sees on their first Inspect.
    const firstEver = await inspectOnce(vsc, big.pid, sizes[0]!.rows);
    await closeEditors(vsc);
    await vsc.page.reload();
    await vsc.openContainer();
    const cold: number[] = [];
    for (const s of sizes) {
      cold.push(await inspectOnce(vsc, s.proc.pid, s.rows));
      await closeEditors(vsc);
    }
    for (let i = 0; i < rounds; i++) {
      for (const s of i % 2 ? [...sizes].reverse() : sizes) {
        s.times.push(await inspectOnce(vsc, s.proc.pid, s.rows));
        await closeEditors(vsc);
      }
    }
    const round = (ms: number) => Number(ms.toFixed(1));
    const [b, sm] = sizes as [typeof sizes[0], typeof sizes[0]];
    return {
      keys: KEYS,
      rounds,
      threads_1000_ms: round(median(b.times)),
      threads_1_ms: round(median(sm.times)),
      threads_1000_cold_ms: round(cold[0] ?? 0),
      threads_1000_first_ever_ms: round(firstEver),
      threads_1000_all_ms: b.times.map(round),
      threads_1_all_ms: sm.times.map(round),
    };
  } finally {
    await vsc?.dispose();
    await world.dispose();
  }
}

export function inspectCommandFigures(ic: InspectCommandFigures): Figure[] {
  const what = `Inspect Process to the first full table in code-server, 1,000 threads x ${ic.keys} keys`;
  return [
    boundFigure(`${what}, warm (median of ${ic.rounds})`, ic.threads_1000_ms, 'ms', 'under 300 ms', ic.threads_1000_ms < 300),
    boundFigure(`${what}, cold (the first after the window loaded)`, ic.threads_1000_cold_ms, 'ms', 'under 1 s', ic.threads_1000_cold_ms < 1000, {
      context: { name: 'the warm one', value: ic.threads_1000_ms },
      note: `the first ever in a new browser profile, which installs VS Code's webview service worker: ${Math.round(ic.threads_1000_first_ever_ms)} ms`,
    }),
    ratioFigure(`${what}, warm`, ic.threads_1000_ms, 'ms', 'the same on a 1-thread process (opening the webview panel)', ic.threads_1_ms, 1.5),
  ];
}
