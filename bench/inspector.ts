// Benchmark: the Hint Inspector's webview on 10,000 threads x 16 keys refreshed at 10 Hz.
// A real libtld process (the test fixture, two values of every thread changing each second),
// the host's real refresh in Node (the helper's records, then the panel's FeedThread: decoded and
// diffed on its worker thread, as the panel does it)
// and the real bundle dist/webview.js in the panel's page in Chromium, its messages delivered
// by window.postMessage as VS Code delivers them. Frame times come from requestAnimationFrame
// in the page: while messages stream, beside the same page idle in the same run, with the
// page's long tasks (> 50 ms, PerformanceObserver) and the refresh rate the host achieved.
// Bytes are the JSON of each message the host posts. Before the page opens, the same refresh
// loop runs alone for the extension host's event-loop delay (perf_hooks), in process and
// through the helper host.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

import type { Browser, Page } from '../test/e2e/node_modules/playwright-core';

import { TldClient } from '../extension/src/client/client';
import { FeedThread } from '../extension/src/inspector/feedThread';
import { inspectorHtml } from '../extension/src/inspector/page';
import { HostToWebview, parseWebviewMessage } from '../webview/src/messages';
import { VIEWPORT, launchChromium } from '../test/support/chromium';
import { repoRoot } from '../test/support/repo';
import { sleep } from '../test/support/processes';
import { World } from '../test/support/world';
import { Figure, boundFigure, ratioFigure } from './figure';
import { median } from './stats';

export interface FrameFigures {
  readonly frames: number;
  /** 1000 / the median frame time. */
  readonly fps_median: number;
  /** 1000 / the 95th percentile frame time: the frame rate of the slowest 5% of frames. */
  readonly fps_p5: number;
  readonly frame_ms_median: number;
  readonly frame_ms_p95: number;
  readonly frame_ms_p99: number;
  readonly frame_ms_worst: number;
}

export interface InspectorFigures {
  readonly threads: number;
  readonly keys: number;
  readonly interval_ms: number;
  readonly seconds: number;
  /** Refreshes the host made while frames were measured, and their rate. */
  readonly refreshes: number;
  readonly refresh_hz: number;
  /** Host CPU time of one refresh in Node: snapshot, formatting, diff (median ms). */
  readonly host_refresh_ms: number;
  readonly idle: FrameFigures;
  readonly streaming_time_plot: FrameFigures;
  readonly streaming_histogram: FrameFigures;
  /** Long tasks (> 50 ms) of the page while streaming: how many, and the longest (ms). */
  readonly long_tasks: { readonly count: number; readonly longest_ms: number };
  /** The event loop's delay while this process refreshes at 10 Hz alone (ms, p99 and max). */
  readonly event_loop: {
    readonly seconds: number;
    readonly in_process: EventLoopFigures;
    readonly host: EventLoopFigures;
  };
  readonly bytes: {
    /** The JSON of the first message: every thread's every value. */
    readonly full_snapshot: number;
    readonly per_refresh_median: number;
    readonly per_refresh_max: number;
    readonly changed_cells_median: number;
    readonly per_changed_cell: number;
    /** per_refresh_median / full_snapshot. */
    readonly ratio_changed_to_full: number;
  };
}

export interface EventLoopFigures {
  readonly refreshes: number;
  readonly delay_ms_p50: number;
  readonly delay_ms_p99: number;
  readonly delay_ms_max: number;
  /** The refresh's own time, snapshot to messages serialised (median ms). */
  readonly refresh_ms: number;
}

const THREADS = 10_000;
const KEYS = 16;
const INTERVAL_MS = 100;
/** Every thread changes two values every second: about 2,000 cells per refresh. */
const UPDATE_MS = 1000;

const round = (v: number, digits = 1) => Number(v.toFixed(digits));

/** The value at quantile @q of a sorted sample. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function frameFigures(deltas: readonly number[]): FrameFigures {
  const s = [...deltas].sort((a, b) => a - b);
  const med = quantile(s, 0.5);
  const p95 = quantile(s, 0.95);
  return {
    frames: s.length,
    fps_median: round(1000 / med),
    fps_p5: round(1000 / p95),
    frame_ms_median: round(med, 2),
    frame_ms_p95: round(p95, 2),
    frame_ms_p99: round(quantile(s, 0.99), 2),
    frame_ms_worst: round(s[s.length - 1] ?? 0, 2),
  };
}

/** The page's globals the benchmark touches (this project compiles without the DOM library). */
interface PageGlobals {
  acquireVsCodeApi?: () => unknown;
  tldBenchToHost(m: unknown): void;
  postMessage(m: unknown, target: string): void;
  requestAnimationFrame(f: (now: number) => void): number;
  document: { getElementById(id: string): { textContent: string | null; value?: string; dispatchEvent(e: unknown): boolean } | null };
  Event: new (type: string, init: { bubbles: boolean }) => unknown;
}

/** The page's long tasks, as PerformanceObserver reports them: [start, duration] in ms. */
interface LongTaskGlobals {
  tldLongTasks: [number, number][];
  PerformanceObserver: new (cb: (list: { getEntries(): { startTime: number; duration: number }[] }) => void) => { observe(o: object): void };
  performance: { now(): number };
}

/** VS Code's webview API as the panel's page has it: messages to the host, state kept; and a long task log. */
function vscodeApiShim(): void {
  const lt = globalThis as unknown as LongTaskGlobals;
  lt.tldLongTasks = [];
  new lt.PerformanceObserver((list) => {
    for (const e of list.getEntries()) lt.tldLongTasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  const g = globalThis as unknown as PageGlobals;
  let state: unknown;
  g.acquireVsCodeApi = () => ({
    postMessage: (m: unknown) => g.tldBenchToHost(m),
    getState: () => state,
    setState: (s: unknown) => {
      state = s;
    },
  });
}

/** Frame times (ms between requestAnimationFrame callbacks) over @ms (runs in the page). */
function frameTimes(ms: number): Promise<number[]> {
  const g = globalThis as unknown as PageGlobals;
  return new Promise((resolve) => {
    const times: number[] = [];
    const frame = (now: number) => {
      times.push(now);
      if (now - (times[0] as number) < ms) g.requestAnimationFrame(frame);
      else resolve(times.slice(1).map((t, i) => t - (times[i] as number)));
    };
    g.requestAnimationFrame(frame);
  });
}

/** Delivers one host message as VS Code does: its JSON, parsed, posted to the page's window. */
function deliver(json: string): void {
  const g = globalThis as unknown as PageGlobals;
  g.postMessage(JSON.parse(json), '*');
}

/** The page's clock now. */
function pageNow(): number {
  return (globalThis as unknown as LongTaskGlobals).performance.now();
}

/** The durations of the long tasks that started at or after @since (the page's clock). */
function longTasksSince(since: number): number[] {
  return (globalThis as unknown as LongTaskGlobals).tldLongTasks.filter(([start]) => start >= since).map(([, d]) => d);
}

function countText(): string {
  const g = globalThis as unknown as PageGlobals;
  return g.document.getElementById('count')?.textContent ?? '';
}

function choosePlotMode(mode: string): void {
  const g = globalThis as unknown as PageGlobals;
  const select = g.document.getElementById('plot-mode');
  if (!select) throw new Error('no #plot-mode');
  select.value = mode;
  select.dispatchEvent(new g.Event('change', { bubbles: true }));
}

/** The theme variables VS Code sets on a webview (Dark+ values), so that the page draws as in the editor. */
const THEME_CSS = `:root {
  --vscode-font-family: system-ui, sans-serif; --vscode-font-size: 13px; --vscode-editor-font-family: monospace;
  --vscode-foreground: #cccccc; --vscode-editor-background: #1e1e1e; --vscode-panel-border: #80808059;
  --vscode-editorWidget-background: #252526; --vscode-editorWidget-border: #454545; --vscode-disabledForeground: #cccccc80;
  --vscode-button-background: #0e639c; --vscode-button-foreground: #ffffff; --vscode-button-hoverBackground: #1177bb;
  --vscode-input-background: #3c3c3c; --vscode-input-foreground: #cccccc; --vscode-focusBorder: #007fd4;
  --vscode-editor-findMatchHighlightBackground: #ea5c0055; --vscode-editorError-foreground: #f14c4c;
  --vscode-editorWarning-foreground: #cca700; --vscode-descriptionForeground: #ccccccb3;
  --vscode-charts-foreground: #cccccc; --vscode-charts-lines: #cccccc80; --vscode-charts-red: #f14c4c; --vscode-charts-blue: #3794ff;
  --vscode-charts-yellow: #cca700; --vscode-charts-orange: #d18616; --vscode-charts-green: #89d185; --vscode-charts-purple: #b180d7;
}
body { background: var(--vscode-editor-background); }
`;

/** Serves the panel's page, the bundle and the stylesheet from one origin (the page's cspSource). */
async function servePage(pid: number): Promise<{ server: http.Server; url: string }> {
  const nonce = crypto.randomBytes(16).toString('base64');
  const files: Record<string, [string, string]> = {
    '/webview.js': [path.join(repoRoot, 'dist', 'webview.js'), 'text/javascript'],
    '/inspector.css': [path.join(repoRoot, 'media', 'inspector.css'), 'text/css'],
  };
  for (const [file] of Object.values(files)) if (!fs.existsSync(file)) throw new Error(`${file} is missing: run npm run build`);
  let origin = '';
  const server = http.createServer((req, res) => {
    const file = files[req.url ?? ''];
    if (req.url === '/theme.css') {
      res.writeHead(200, { 'content-type': 'text/css' });
      res.end(THEME_CSS);
    } else if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(inspectorHtml({ cspSource: origin, nonce, code: { scriptUri: `${origin}/webview.js`, styleUri: `${origin}/inspector.css` }, pid }));
    } else if (file) {
      res.writeHead(200, { 'content-type': file[1] });
      res.end(fs.readFileSync(file[0]));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url: `${origin}/` };
}

/**
 * The panel's refresh (the helper's records, the diff on the feed's worker, each message
 * serialised as postMessage does)
 * at @intervalMs for @seconds, alone in this process: how late its event loop ran meanwhile.
 */
async function eventLoopDelay(client: TldClient, pid: number, intervalMs: number, seconds: number): Promise<EventLoopFigures> {
  const feed = new FeedThread(async () => new Map());
  const status = { paused: false, intervalMs };
  const refresh = async () => {
    for (const m of (await feed.next(pid, await client.snapshotRecords(pid), false, status)).messages) JSON.stringify(m);
  };
  // The first refresh sends every value: a panel's opening, not its steady state.
  await refresh();
  await refresh();
  const h = monitorEventLoopDelay({ resolution: 1 });
  const times: number[] = [];
  h.enable();
  const start = performance.now();
  for (let n = 1; performance.now() - start < seconds * 1000; n++) {
    const t0 = performance.now();
    await refresh();
    times.push(performance.now() - t0);
    await sleep(Math.max(0, start + n * intervalMs - performance.now()));
  }
  h.disable();
  feed.dispose();
  const ms = (ns: number) => round(ns / 1e6, 2);
  return { refreshes: times.length, delay_ms_p50: ms(h.percentile(50)), delay_ms_p99: ms(h.percentile(99)), delay_ms_max: ms(h.max), refresh_ms: round(median(times), 2) };
}

export async function runInspectorBench(quick: boolean): Promise<InspectorFigures> {
  const seconds = quick ? 2 : 5;
  const world = new World('bench-inspector');
  let browser: Browser | undefined;
  let server: http.Server | undefined;
  let streaming = false;
  const feeds: FeedThread[] = [];
  let stop = false;
  try {
    process.stderr.write(`bench: Hint Inspector webview on ${THREADS} threads x ${KEYS} keys at ${1000 / INTERVAL_MS} Hz ...\n`);
    const fixture = (await world.procs.fixture(['--mode', 'hints', '--threads', String(THREADS), '--keys', String(KEYS), '--update-ms', String(UPDATE_MS)], 120_000)).proc;
    const pid = fixture.pid;
    const client: TldClient = await world.client();

    process.stderr.write('bench: the extension host\'s event loop while it refreshes, in process and through the helper host ...\n');
    const inProcessLoop = await eventLoopDelay(client, pid, INTERVAL_MS, seconds);
    const host = await TldClient.create({ pinPath: world.pinPath, transport: 'host', launcher: [] });
    let hostLoop: EventLoopFigures;
    try {
      hostLoop = await eventLoopDelay(host, pid, INTERVAL_MS, seconds);
    } finally {
      host.dispose();
    }

    const feed = new FeedThread(async () => new Map());
    feeds.push(feed);
    const status = { paused: false, intervalMs: INTERVAL_MS };

    const served = await servePage(pid);
    server = served.server;
    browser = await launchChromium();
    const page: Page = await browser.newPage({ viewport: VIEWPORT });
    page.on('pageerror', (e) => process.stderr.write(`bench: the webview threw: ${e.message}\n`));

    // The host's side: the refresh loop, and what the webview says.
    const refreshBytes: number[] = [];
    const refreshCells: number[] = [];
    const hostMs: number[] = [];
    let fullSnapshot = 0;
    let ready = false;
    const post = async (m: HostToWebview): Promise<number> => {
      const json = JSON.stringify(m);
      await page.evaluate(deliver, json);
      return Buffer.byteLength(json);
    };
    const refresh = async (): Promise<void> => {
      const t0 = performance.now();
      const { messages } = await feed.next(pid, await client.snapshotRecords(pid), false, status);
      hostMs.push(performance.now() - t0);
      let bytes = 0;
      let cells = 0;
      for (const m of messages) {
        const n = await post(m);
        if (m.type === 'snapshot') fullSnapshot = n;
        if (m.type === 'patch') cells += m.cells.tids.length;
        bytes += n;
      }
      if (streaming) {
        refreshBytes.push(bytes);
        refreshCells.push(cells);
      }
    };
    await page.exposeFunction('tldBenchToHost', (raw: unknown) => {
      const m = parseWebviewMessage(raw);
      if (m?.type === 'ready') {
        feed.restart();
        ready = true;
      }
    });
    await page.addInitScript(vscodeApiShim);
    await page.goto(served.url);
    await page.addStyleTag({ url: `${served.url}theme.css` });
    for (let i = 0; !ready; i++) {
      if (i > 600) throw new Error('the webview did not say ready');
      await sleep(50);
    }
    await refresh();
    const full = `${THREADS} of ${THREADS} threads with hints`;
    for (let i = 0; (await page.evaluate(countText)) !== full; i++) {
      if (i > 600) throw new Error(`the webview shows "${await page.evaluate(countText)}", not ${full}`);
      await sleep(50);
    }

    // The same page idle: the table and plot drawn, no messages.
    await sleep(500);
    const idle = frameFigures(await page.evaluate(frameTimes, seconds * 1000));

    // Streaming at 10 Hz; frames measured after a second of warm-up, with each plot mode.
    // When each refresh (snapshot to messages delivered) ended while frames were measured.
    const ends: number[] = [];
    const loop = (async () => {
      const start = performance.now();
      for (let n = 1; !stop; n++) {
        await refresh();
        if (streaming) ends.push(performance.now());
        await sleep(Math.max(0, start + n * INTERVAL_MS - performance.now()));
      }
    })();
    await sleep(1000);
    // TLD_BENCH_PROFILE=FILE: the page's CPU profile while streaming (.cpuprofile, for Chromium's
    // DevTools; build with webpack --mode development for names).
    const profiler = process.env.TLD_BENCH_PROFILE ? await page.context().newCDPSession(page) : undefined;
    if (profiler) {
      await profiler.send('Profiler.enable');
      await profiler.send('Profiler.start');
    }
    // TLD_BENCH_TRACE=FILE: Chromium's timeline of the page while streaming (frames, tasks, GC;
    // open it in DevTools' Performance panel). Tracing slows the page: its frame times are not the figure's.
    if (process.env.TLD_BENCH_TRACE) await browser.startTracing(page, { path: process.env.TLD_BENCH_TRACE, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline.frame', 'blink.user_timing'] });
    streaming = true;
    const pageT0 = await page.evaluate(pageNow);
    const timePlot = frameFigures(await page.evaluate(frameTimes, seconds * 1000));
    await page.evaluate(choosePlotMode, 'histogram');
    const histogramPlot = frameFigures(await page.evaluate(frameTimes, seconds * 1000));
    streaming = false;
    const counted = ends.length;
    const span = (ends[ends.length - 1] ?? 0) - (ends[0] ?? 0);
    const longTasks = await page.evaluate(longTasksSince, pageT0);
    if (process.env.TLD_BENCH_TRACE) await browser.stopTracing();
    if (profiler) fs.writeFileSync(process.env.TLD_BENCH_PROFILE!, JSON.stringify((await profiler.send('Profiler.stop')).profile));
    // TLD_BENCH_SHOTS=DIR: pictures of the page as measured, for a person to look at.
    if (process.env.TLD_BENCH_SHOTS) {
      await page.screenshot({ path: path.join(process.env.TLD_BENCH_SHOTS, 'inspector-histogram.png') });
      await page.evaluate(choosePlotMode, 'time');
      await sleep(300);
      await page.screenshot({ path: path.join(process.env.TLD_BENCH_SHOTS, 'inspector-time.png') });
    }
    stop = true;
    await loop;

    const medBytes = median(refreshBytes);
    const medCells = median(refreshCells);
    return {
      threads: THREADS,
      keys: KEYS,
      interval_ms: INTERVAL_MS,
      seconds,
      refreshes: counted,
      refresh_hz: span > 0 ? round((1000 * (counted - 1)) / span, 2) : 0,
      host_refresh_ms: round(median(hostMs)),
      idle,
      streaming_time_plot: timePlot,
      streaming_histogram: histogramPlot,
      long_tasks: { count: longTasks.length, longest_ms: round(Math.max(0, ...longTasks)) },
      event_loop: { seconds, in_process: inProcessLoop, host: hostLoop },
      bytes: {
        full_snapshot: fullSnapshot,
        per_refresh_median: medBytes,
        per_refresh_max: Math.max(0, ...refreshBytes),
        changed_cells_median: medCells,
        per_changed_cell: medCells ? round(medBytes / medCells) : 0,
        ratio_changed_to_full: fullSnapshot ? round(medBytes / fullSnapshot, 4) : 0,
      },
    };
  } finally {
    stop = true;
    for (const f of feeds) f.dispose();
    await browser?.close();
    server?.close();
    await world.dispose();
  }
}

/** The configured rate is held when at least 99% of its refreshes happen (timers are not exact). */
const HELD = 0.99;

export function inspectorFigures(hi: InspectorFigures): Figure[] {
  const run = `${hi.threads.toLocaleString('en-US')} threads x ${hi.keys} keys refreshed every ${hi.interval_ms} ms`;
  const target = 1000 / hi.interval_ms;
  const frames = (k: 'streaming_time_plot' | 'streaming_histogram', plot: string) => {
    const f = hi[k];
    return boundFigure(`Hint Inspector p99 frame time in Chromium, ${run}, ${plot} shown`, f.frame_ms_p99, 'ms', 'under 33 ms', f.frame_ms_p99 < 33, {
      note: `p95 ${f.frame_ms_p95} ms, median ${f.frame_ms_median} ms, worst ${f.frame_ms_worst} ms; idle page p99 ${hi.idle.frame_ms_p99} ms`,
    });
  };
  const loop = (e: EventLoopFigures, how: string) =>
    boundFigure(`extension host event-loop delay p99 while the Hint Inspector refreshes ${run}, ${how}`, e.delay_ms_p99, 'ms', 'under 10 ms', e.delay_ms_p99 < 10, {
      note: `max ${e.delay_ms_max} ms; a refresh takes ${e.refresh_ms} ms, median`,
    });
  return [
    frames('streaming_time_plot', 'time plot'),
    frames('streaming_histogram', 'histogram'),
    boundFigure(`Hint Inspector long tasks (> 50 ms) in Chromium over ${2 * hi.seconds} s, ${run}`, hi.long_tasks.count, 'tasks', 'none', hi.long_tasks.count === 0, {
      ...(hi.long_tasks.count ? { note: `longest ${hi.long_tasks.longest_ms} ms` } : {}),
    }),
    boundFigure(`Hint Inspector refresh rate achieved, ${run}, page drawing`, hi.refresh_hz, 'Hz', `${target} Hz held (at least ${round(target * HELD, 2)})`, hi.refresh_hz >= target * HELD, {
      note: `${hi.refreshes} refreshes; the host's side of one takes ${hi.host_refresh_ms} ms, median`,
    }),
    ratioFigure(`Hint Inspector bytes host to webview per refresh (median; ${hi.bytes.changed_cells_median} of ${hi.threads * hi.keys} cells changed: only what changed, so at most twice their share)`, hi.bytes.per_refresh_median, 'bytes',
      'the whole table as one snapshot message', hi.bytes.full_snapshot, Number(((2 * hi.bytes.changed_cells_median) / (hi.threads * hi.keys)).toFixed(4))),
    loop(hi.event_loop.in_process, "in process (the helper's call on koffi's worker, decoding and diffing on the panel's worker thread)"),
    loop(hi.event_loop.host, "through the helper host (framed JSON headers and raw bytes, as for an ordinary user; decoding and diffing on the panel's worker thread)"),
  ];
}
