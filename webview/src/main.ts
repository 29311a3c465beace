// The Hint Inspector's UI: the layout drawn to scale, a plot of one key over time or over
// threads, and a live, virtualised table of every thread's values. Renders from state;
// patches touch only the cells that changed.
import { HostToWebview, KeyView, LayoutView, RowView, WebviewToHost, parseHostMessage } from './messages';
import { groupBy } from './groupModel';
import { PLOT_LINES, PlotModel, SCHED_TEXT_TYPE, SCHED_TYPE, formatNumber } from './plotModel';
import { PlotMode, PlotView, isPlotMode } from './plotView';

interface VsCodeApi {
  postMessage(m: WebviewToHost): void;
  getState(): UiState | undefined;
  setState(s: UiState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface UiState {
  filter: string;
  sortKey: number; // -1: tid
  sortDesc: boolean;
  paused: boolean;
  plotKey: string;
  plotMode: PlotMode;
  /** The scatter's scheduling figure. */
  plotAgainst: string;
  /** The key the table is grouped by ('' for none). */
  groupKey: string;
}

const vscode = acquireVsCodeApi();
const ui: UiState = { filter: '', sortKey: -1, sortDesc: false, paused: false, plotKey: '', plotMode: 'time', plotAgainst: '', groupKey: '', ...vscode.getState() };
const ROW_HEIGHT = 22;

let keys: readonly KeyView[] = [];
let columns: readonly string[] = [];
let rows = new Map<number, RowView>();
let order: number[] = [];
const flashing = new Map<string, number>(); // "tid:key" -> until (ms)
const shown = new Map<number, HTMLTableRowElement>(); // the rows drawn: tid -> row
let unflashTimer = 0;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const post = (m: WebviewToHost) => vscode.postMessage(m);

const plot = new PlotModel();
const plotView = new PlotView(
  plot,
  { canvas: $<HTMLCanvasElement>('plot'), key: $<HTMLSelectElement>('plot-key'), mode: $<HTMLSelectElement>('plot-mode'), against: $<HTMLSelectElement>('plot-against'), note: $('plot-note'), legend: $('plot-legend'), summary: $('plot-summary') },
  ui.plotMode,
);
let intervalMs = 1000;
let lastSample = 0;

/** The table's values become the plot's newest refresh, unless paused: pausing freezes the plot. */
function samplePlot(): void {
  if (ui.paused || !plot.keys.length) return;
  plot.sample();
  lastSample = performance.now();
  plotView.request(order.slice(0, PLOT_LINES));
}

// A refresh where nothing changed sends nothing: the plot still advances, holding the values.
setInterval(() => {
  if (performance.now() - lastSample > 1.5 * intervalMs) samplePlot();
}, 250);

function saveState(): void {
  vscode.setState(ui);
}

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** The data page to scale: each value, its padding, the free space and where the next key goes. */
function drawLayout(layout: LayoutView): void {
  const host = $('layout');
  host.textContent = '';
  const width = 1000;
  const scale = width / layout.capacity;
  const chart = svg('svg', { viewBox: `0 0 ${width} 56`, role: 'img', 'aria-label': 'data page layout' }) as SVGSVGElement;
  chart.appendChild(svg('rect', { x: 0, y: 8, width, height: 28, class: 'free' }));
  layout.segments.forEach((s, i) => {
    const value = svg('rect', { x: s.offset * scale, y: 8, width: Math.max(1, s.size * scale), height: 28, class: `value v${i % 8}` });
    const title = svg('title', {});
    title.textContent = `${s.name}: offset ${s.offset}, ${s.size} bytes${s.padding ? `, ${s.padding} bytes of padding` : ''}`;
    value.appendChild(title);
    chart.appendChild(value);
    if (s.padding) chart.appendChild(svg('rect', { x: (s.offset + s.size) * scale, y: 8, width: s.padding * scale, height: 28, class: 'padding' }));
  });
  const next = svg('line', { x1: layout.nextOffset * scale, x2: layout.nextOffset * scale, y1: 2, y2: 42, class: 'next' });
  const nextTitle = svg('title', {});
  nextTitle.textContent = `the next key would start at offset ${layout.nextOffset}`;
  next.appendChild(nextTitle);
  chart.appendChild(next);
  host.appendChild(chart);
  $('fill').textContent =
    `${layout.used} of ${layout.capacity} bytes of each thread's page used (${((100 * layout.used) / layout.capacity).toFixed(1)}%), ` +
    `${layout.entries} of ${layout.maxEntries} keys; the next key goes at offset ${layout.nextOffset}`;
  const legend = $('legend');
  legend.textContent = '';
  for (const [i, s] of layout.segments.entries()) {
    const item = document.createElement('span');
    item.className = `legend v${i % 8}`;
    item.textContent = `${s.name} @${s.offset} (${s.size}${s.padding ? ` + ${s.padding}` : ''} B)`;
    legend.appendChild(item);
  }
}

function visibleOrder(): number[] {
  const f = ui.filter.trim().toLowerCase();
  const list = [...rows.values()].filter((r) => !f || String(r.tid).includes(f) || r.comm.toLowerCase().includes(f) || r.cells.some((c) => c.toLowerCase().includes(f)));
  const k = ui.sortKey;
  const dir = ui.sortDesc ? -1 : 1;
  if (k < 0) return list.map((r) => r.tid).sort((a, b) => dir * (a - b));
  // Each cell parsed once, not once per comparison: 10,000 rows sort in a few ms.
  const keyed = list.map((r) => {
    const text = r.cells[k] ?? '';
    return { tid: r.tid, text, num: /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN };
  });
  keyed.sort((a, b) => dir * (!isNaN(a.num) && !isNaN(b.num) ? a.num - b.num : a.text.localeCompare(b.text)));
  return keyed.map((x) => x.tid);
}

function drawHeader(): void {
  const head = $('thead-row');
  head.textContent = '';
  const cols = ['tid', 'comm', ...keys.map((k) => k.name), ...columns];
  cols.forEach((name, i) => {
    const th = document.createElement('th');
    th.scope = 'col';
    const key = i - 2;
    const sortIdx = i === 0 ? -1 : key;
    th.textContent = name + (ui.sortKey === sortIdx && i !== 1 ? (ui.sortDesc ? ' ▾' : ' ▴') : '');
    if (key >= 0 && key < keys.length) th.title = `${keys[key]?.type}, ${keys[key]?.size} bytes at offset ${keys[key]?.offset}`;
    else if (key >= keys.length) th.title = 'scheduling, from the same pass as the values; rates over the last refresh';
    if (i !== 1) {
      th.tabIndex = 0;
      th.setAttribute('aria-sort', ui.sortKey === sortIdx ? (ui.sortDesc ? 'descending' : 'ascending') : 'none');
      const sort = () => {
        ui.sortDesc = ui.sortKey === sortIdx ? !ui.sortDesc : false;
        ui.sortKey = sortIdx;
        saveState();
        order = visibleOrder();
        drawHeader();
        drawRows();
        plotView.request(order.slice(0, PLOT_LINES));
      };
      th.addEventListener('click', sort);
      th.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && sort());
    }
    head.appendChild(th);
  });
  const select = $<HTMLSelectElement>('set-key');
  select.textContent = '';
  for (const k of keys) {
    const o = document.createElement('option');
    o.value = k.name;
    o.textContent = k.name;
    select.appendChild(o);
  }
  const group = $<HTMLSelectElement>('group-key');
  group.length = 1; // "no key" stays
  for (const k of keys) {
    const o = document.createElement('option');
    o.value = k.name;
    o.textContent = k.name;
    group.appendChild(o);
  }
  group.value = keys.some((k) => k.name === ui.groupKey) ? ui.groupKey : '';
}

/** The groups of the table's threads (filtered as the table is) by ui.groupKey, with their wait time's p50/p99. */
function drawGroups(): void {
  const table = $('groups');
  const key = keys.findIndex((k) => k.name === ui.groupKey);
  const wait = columns.indexOf('wait ms');
  table.hidden = key < 0;
  $('group-note').textContent =
    key < 0 ? '' : wait < 0 ? 'this kernel gives no wait time' : 'wait ms: time runnable but not running during the last refresh, per thread';
  if (key < 0) return;
  const shownRows = order.map((tid) => rows.get(tid)).filter((r): r is RowView => r !== undefined);
  const body = $('groups-body');
  body.textContent = '';
  for (const g of groupBy(shownRows, key, wait < 0 ? -1 : keys.length + wait)) {
    const tr = document.createElement('tr');
    for (const text of [g.value, String(g.threads), g.measured ? formatNumber(g.p50) : '–', g.measured ? formatNumber(g.p99) : '–']) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
}

/** Renders only the rows in view (plus a margin): 10,000 threads stay smooth. */
function drawRows(): void {
  const scroller = $('scroller');
  const body = $('tbody');
  const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - 10);
  const count = Math.ceil(scroller.clientHeight / ROW_HEIGHT) + 20;
  const slice = order.slice(first, first + count);
  $('spacer-top').style.height = `${first * ROW_HEIGHT}px`;
  $('spacer-bottom').style.height = `${Math.max(0, order.length - first - slice.length) * ROW_HEIGHT}px`;
  body.textContent = '';
  shown.clear();
  const now = Date.now();
  for (const tid of slice) {
    const r = rows.get(tid);
    if (!r) continue;
    const tr = document.createElement('tr');
    shown.set(tid, tr);
    tr.dataset.tid = String(tid);
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = String(tid);
    tr.appendChild(th);
    const comm = document.createElement('td');
    comm.textContent = r.comm;
    tr.appendChild(comm);
    r.cells.forEach((text, k) => {
      const td = document.createElement('td');
      td.textContent = text;
      td.tabIndex = 0;
      td.dataset.key = String(k);
      td.title = k < keys.length ? 'double-click or Enter to set this thread\'s value' : (columns[k - keys.length] ?? '');
      if ((flashing.get(`${tid}:${k}`) ?? 0) > now) td.className = 'changed';
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
  $('count').textContent = `${order.length} of ${rows.size} threads with hints`;
}

/** Writes the changed cells of the rows drawn in place: a refresh costs what changed in view. */
function patchShown(cells: readonly (readonly [number, number, string])[]): void {
  for (const [tid, k, text] of cells) {
    const td = shown.get(tid)?.children[k + 2];
    if (!td || td.querySelector('input')) continue; // not drawn, or being edited
    td.textContent = text;
    td.className = 'changed';
  }
}

/** Takes the flash off cells whose time is up (one timer, however many patches came). */
function unflash(): void {
  unflashTimer = 0;
  const now = Date.now();
  for (const [id, until] of flashing) if (until <= now) flashing.delete(id);
  for (const [tid, tr] of shown) {
    tr.querySelectorAll<HTMLElement>('td.changed').forEach((td) => {
      if ((flashing.get(`${tid}:${td.dataset.key}`) ?? 0) <= now) td.className = '';
    });
  }
  if (flashing.size) unflashTimer = window.setTimeout(unflash, 300);
}

function editCell(td: HTMLElement): void {
  const tid = Number(td.parentElement?.dataset.tid);
  const key = keys[Number(td.dataset.key)];
  if (!key || !tid) return;
  const input = document.createElement('input');
  input.value = td.textContent ?? '';
  input.setAttribute('aria-label', `new value of ${key.name} for thread ${tid}`);
  td.textContent = '';
  td.appendChild(input);
  input.focus();
  input.select();
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') post({ type: 'setValue', tid, key: key.name, value: input.value });
    if (e.key === 'Enter' || e.key === 'Escape') drawRows();
  });
  input.addEventListener('blur', () => drawRows());
}

function apply(m: HostToWebview): void {
  switch (m.type) {
    case 'snapshot':
      keys = m.keys;
      columns = m.columns;
      rows = new Map(m.rows.map((r) => [r.tid, r]));
      $('title').textContent = `Process ${m.pid} (${m.comm}): ${m.keys.length} keys, ${m.rows.length} of ${m.threads} threads with hints`;
      drawLayout(m.layout);
      order = visibleOrder();
      drawHeader();
      drawRows();
      // The scheduling figures plot like keys: over time, or as a histogram over threads.
      {
        const figures = m.columns.map((name) => ({ name, size: 0, offset: 0, type: name === 'state' || name === 'policy' || name === 'dsq' ? SCHED_TEXT_TYPE : SCHED_TYPE }));
        const plotKeys = [...m.keys, ...figures];
        plot.reset(plotKeys, m.rows);
        plot.select(plotKeys.findIndex((k) => k.name === ui.plotKey));
      }
      plotView.setKeys();
      plotView.setAgainst(ui.plotAgainst);
      samplePlot();
      drawGroups();
      break;
    case 'patch': {
      const until = Date.now() + 1200;
      for (const [tid, k, text] of m.cells) {
        const r = rows.get(tid);
        if (!r) continue;
        const cells = [...r.cells];
        cells[k] = text;
        rows.set(tid, { ...r, cells });
        flashing.set(`${tid}:${k}`, until);
      }
      for (const r of m.added) rows.set(r.tid, r);
      for (const tid of m.removed) rows.delete(tid);
      // The order changes only with threads that came or went, the filter, or the sorted column.
      if (m.added.length || m.removed.length || ui.filter || (ui.sortKey >= 0 && m.cells.some((c) => c[1] === ui.sortKey))) {
        order = visibleOrder();
        drawRows();
      } else {
        patchShown(m.cells);
      }
      if (!unflashTimer) unflashTimer = window.setTimeout(unflash, 1300);
      plot.applyPatch(m);
      samplePlot();
      drawGroups();
      break;
    }
    case 'status':
      ui.paused = m.paused;
      $('pause').textContent = m.paused ? 'Resume' : 'Pause';
      $('pause').setAttribute('aria-pressed', String(m.paused));
      $('rate').textContent = m.paused ? 'paused' : `refreshing every ${m.intervalMs} ms`;
      intervalMs = m.intervalMs;
      plotView.setInterval(m.intervalMs);
      lastSample = performance.now();
      break;
    case 'error':
      $('message').textContent = m.message;
      break;
    case 'exited':
      $('message').textContent = `Process ${m.pid} exited; the table shows its last values.`;
      break;
    default: {
      const never: never = m;
      throw new Error(`unhandled ${JSON.stringify(never)}`);
    }
  }
}

window.addEventListener('message', (e: MessageEvent<unknown>) => {
  const m = parseHostMessage(e.data);
  if (!m) {
    console.warn('Hint Inspector: dropped a malformed message', e.data);
    return;
  }
  apply(m);
});

$('scroller').addEventListener('scroll', () => drawRows());
$('tbody').addEventListener('dblclick', (e) => {
  const td = (e.target as HTMLElement).closest('td');
  if (td?.dataset.key) editCell(td);
});
$('tbody').addEventListener('keydown', (e) => {
  const td = (e.target as HTMLElement).closest('td');
  if (e.key === 'Enter' && td?.dataset.key) editCell(td);
});
$<HTMLInputElement>('filter').value = ui.filter;
$('filter').addEventListener('input', (e) => {
  ui.filter = (e.target as HTMLInputElement).value;
  saveState();
  order = visibleOrder();
  drawRows();
  drawGroups();
  plotView.request(order.slice(0, PLOT_LINES));
});
$('plot-key').addEventListener('change', (e) => {
  const k = Number((e.target as HTMLSelectElement).value);
  plot.select(k);
  ui.plotKey = plot.keys[k]?.name ?? '';
  saveState();
  plotView.request(order.slice(0, PLOT_LINES));
});
$('plot-mode').addEventListener('change', (e) => {
  const mode = (e.target as HTMLSelectElement).value;
  if (!isPlotMode(mode)) return;
  ui.plotMode = mode;
  saveState();
  plotView.setMode(mode);
});
$('plot-against').addEventListener('change', (e) => {
  const k = Number((e.target as HTMLSelectElement).value);
  plotView.setAgainst(plot.keys[k]?.name ?? '');
  ui.plotAgainst = plotView.against;
  saveState();
});
$('group-key').addEventListener('change', (e) => {
  ui.groupKey = (e.target as HTMLSelectElement).value;
  saveState();
  drawGroups();
});
window.addEventListener('resize', () => plotView.request(order.slice(0, PLOT_LINES)));
$('pause').addEventListener('click', () => post({ type: 'pause', paused: !ui.paused }));
$('export-json').addEventListener('click', () => post({ type: 'export', format: 'json' }));
$('export-csv').addEventListener('click', () => post({ type: 'export', format: 'csv' }));
$('export-trace').addEventListener('click', () => post({ type: 'export', format: 'trace' }));
$('set-all').addEventListener('click', () => {
  const key = $<HTMLSelectElement>('set-key').value;
  const value = $<HTMLInputElement>('set-value').value;
  if (key) post({ type: 'setValue', tid: 0, key, value });
});
post({ type: 'ready' });
