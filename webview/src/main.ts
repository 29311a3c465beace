// The Hint Inspector's UI: a live, virtualised table of every thread's values, then the layout
// (zoomed to the used bytes, over a full-scale overview) and a plot of one key over time or
// over threads, which fold. Renders from state (an open cell editor included); patches touch
// only the cells that changed.
import { ZoomPart, zoomLayout } from './layoutModel';
import { HostToWebview, KeyView, LayoutView, PatchCells, RowView, WebviewToHost, parseHostMessage } from './messages';
import { Flashes } from './flashModel';
import { groupBy } from './groupModel';
import { PLOT_LINES, PlotModel, SCHED_TEXT_TYPE, SCHED_TYPE, formatNumber } from './plotModel';
import { PlotMode, PlotView, isPlotMode } from './plotView';
import { defaultSetKey, matchesFilter } from './tableModel';

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
  layoutOpen: boolean;
  plotOpen: boolean;
  /** The scatter's scheduling figure. */
  plotAgainst: string;
  /** The key the table is grouped by ('' for none). */
  groupKey: string;
}

/** The cell being edited: its thread and key, what the user typed and where the caret is. */
interface Editing {
  readonly tid: number;
  readonly key: number;
  text: string;
  selStart: number;
  selEnd: number;
  focused: boolean;
}

const vscode = acquireVsCodeApi();
const ui: UiState = { filter: '', sortKey: -1, sortDesc: false, paused: false, plotKey: '', plotMode: 'time', plotAgainst: '', groupKey: '', layoutOpen: true, plotOpen: true, ...vscode.getState() };
const ROW_HEIGHT = 22;

let keys: readonly KeyView[] = [];
let columns: readonly string[] = [];
/** The table's rows: the parsed messages' own objects, whose cells a patch writes in place. */
type Row = RowView & { readonly cells: string[] };
let rows = new Map<number, Row>();
let order: number[] = [];
const flashing = new Flashes();
const shown = new Map<number, HTMLTableRowElement>(); // the rows drawn: tid -> row
let unflashTimer = 0;
let editing: Editing | undefined;
/** Set while rows are redrawn: the editor's input leaving the page is no blur by the user. */
let redrawing = false;
/** The process exited: the table keeps its last values, and nothing can change them. */
let exited = false;
/** Keys whose values changed since the table opened (counters), and whether the user chose the Set form's key. */
const changingKeys = new Set<number>();
let setKeyChosen = false;

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

const SVG_NS = 'http://www.w3.org/2000/svg';

function svgText(x: number, y: number, text: string, cls: string, anchor = 'middle'): SVGElement {
  const t = svg('text', { x, y, class: cls, 'text-anchor': anchor });
  t.textContent = text;
  return t;
}

function titled(el: SVGElement, text: string): SVGElement {
  const title = document.createElementNS(SVG_NS, 'title');
  title.textContent = text;
  el.appendChild(title);
  return el;
}

let lastLayout: LayoutView | undefined;

/**
 * The data page: the used bytes zoomed over most of the width (each value, its hatched padding,
 * a ruler of offsets) and the free tail collapsed into one labelled segment; under it the whole
 * page to scale, as an overview with the zoomed range marked.
 */
function drawLayout(layout: LayoutView): void {
  lastLayout = layout;
  const host = $('layout');
  host.textContent = '';
  const width = Math.max(320, Math.floor(host.clientWidth || 800));
  const zoom = zoomLayout(layout, width);
  const BAR_Y = 4;
  const BAR_H = 28;
  const RULER_Y = BAR_Y + BAR_H;
  const OVER_Y = RULER_Y + 30;
  const OVER_H = 10;
  const height = OVER_Y + OVER_H + 16;
  const chart = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'data page layout, zoomed to the used bytes' }) as SVGSVGElement;
  const defs = svg('defs', {});
  const hatch = svg('pattern', { id: 'hatch', width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' });
  hatch.appendChild(svg('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'hatch' }));
  defs.appendChild(hatch);
  chart.appendChild(defs);
  const partClass = (p: ZoomPart) => (p.kind === 'value' ? `value v${p.index % 8}` : p.kind);
  for (const p of zoom.parts) {
    const rect = titled(svg('rect', { x: p.x, y: BAR_Y, width: Math.max(p.width, 1), height: BAR_H, class: partClass(p), 'data-kind': p.kind }), p.label);
    chart.appendChild(rect);
    const name = p.kind === 'value' ? layout.segments[p.index]?.name ?? '' : p.kind === 'free' ? p.label : '';
    if (name && p.width > name.length * 6.5 + 8) chart.appendChild(svgText(p.x + p.width / 2, BAR_Y + BAR_H / 2 + 4, name, p.kind === 'free' ? 'free-label' : 'value-label'));
  }
  for (const t of zoom.ticks) {
    chart.appendChild(svg('line', { x1: t.x, x2: t.x, y1: RULER_Y, y2: RULER_Y + 5, class: 'tick' }));
    const anchor = t.x < 8 ? 'start' : t.x > width - 8 ? 'end' : 'middle';
    chart.appendChild(svgText(t.x, RULER_Y + 17, String(t.offset), 'ruler', anchor));
  }
  if (zoom.ticks.length) chart.appendChild(svg('line', { x1: 0, x2: zoom.usedWidth, y1: RULER_Y, y2: RULER_Y, class: 'tick' }));
  // The overview: the whole page to scale, where 48 used bytes of 4,088 are a sliver.
  const full = width / layout.capacity;
  chart.appendChild(titled(svg('rect', { x: 0, y: OVER_Y, width, height: OVER_H, class: 'free overview' }), `the whole page: ${layout.capacity} bytes`));
  layout.segments.forEach((s, i) => {
    chart.appendChild(titled(svg('rect', { x: s.offset * full, y: OVER_Y, width: Math.max(1, s.size * full), height: OVER_H, class: `value v${i % 8}` }), `${s.name}: offset ${s.offset}, ${s.size} bytes`));
  });
  chart.appendChild(svgText(0, OVER_Y + OVER_H + 13, `whole page to scale: ${layout.used} of ${layout.capacity} bytes used`, 'ruler', 'start'));
  const next = titled(svg('line', { x1: zoom.usedWidth, x2: zoom.usedWidth, y1: BAR_Y - 2, y2: BAR_Y + BAR_H + 2, class: 'next' }), `the next key would start at offset ${layout.nextOffset}`);
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
  const names = keys.map((k) => k.name);
  const list = ui.filter.trim() ? [...rows.values()].filter((r) => matchesFilter(names, r, ui.filter)) : [...rows.values()];
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
  const chosen = select.value;
  select.textContent = '';
  for (const k of keys) {
    const o = document.createElement('option');
    o.value = k.name;
    o.textContent = k.name;
    select.appendChild(o);
  }
  if (setKeyChosen && keys.some((k) => k.name === chosen)) select.value = chosen;
  else pickSetKey();
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

/** Points the Set form at a hint (a key that does not change by itself), until the user picks one. */
function pickSetKey(): void {
  if (setKeyChosen) return;
  const select = $<HTMLSelectElement>('set-key');
  const name = keys[defaultSetKey(keys.map((k) => k.name), changingKeys)]?.name;
  if (name !== undefined && select.value !== name) select.value = name;
}

/** The groups of the table's threads (filtered as the table is) by ui.groupKey, with their wait time's p50/p99. */
function drawGroups(): void {
  const table = $('groups');
  const key = keys.findIndex((k) => k.name === ui.groupKey);
  const wait = columns.indexOf('wait ms');
  // Written only when they change: every refresh comes here, and a write dirties the page's layout.
  if (table.hidden !== key < 0) table.hidden = key < 0;
  const note = key < 0 ? '' : wait < 0 ? 'this kernel gives no wait time' : 'wait ms: time runnable but not running during the last refresh, per thread';
  const noteEl = $('group-note');
  if (noteEl.textContent !== note) noteEl.textContent = note;
  if (key < 0) return;
  const shownRows = order.map((tid) => rows.get(tid)).filter((r): r is Row => r !== undefined);
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
  redrawing = true;
  body.textContent = '';
  redrawing = false;
  shown.clear();
  const now = Date.now();
  let editor: HTMLInputElement | undefined;
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
      td.tabIndex = 0;
      td.dataset.key = String(k);
      if (editing && editing.tid === tid && editing.key === k) {
        editor = editorInput(td, editing);
      } else {
        td.textContent = text;
        if (k >= keys.length) td.title = columns[k - keys.length] ?? '';
        else if (!exited) td.title = 'double-click or Enter to set this thread\'s value';
        if (flashing.isOn(tid, k, now)) td.className = 'changed';
      }
      tr.appendChild(td);
    });
    body.appendChild(tr);
  }
  if (rows.size > 0 && order.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.id = 'no-match';
    td.colSpan = keys.length + 2;
    td.textContent = `No thread matches the filter "${ui.filter.trim()}" (${rows.size} threads with hints).`;
    tr.appendChild(td);
    body.appendChild(tr);
  }
  // The editor scrolled out of view stays in state, and comes back with what was typed.
  if (editor && editing?.focused) {
    editor.focus();
    editor.setSelectionRange(editing.selStart, editing.selEnd);
  }
  $('count').textContent = `${order.length} of ${rows.size} threads with hints`;
}

/** Writes the changed cells of the rows drawn in place: a refresh costs what changed in view. */
function patchShown(cells: PatchCells): void {
  const { tids, cols, texts } = cells;
  for (let i = 0; i < tids.length; i++) {
    const td = shown.get(tids[i] as number)?.children[(cols[i] as number) + 2];
    if (!td || td.querySelector('input')) continue; // not drawn, or being edited
    td.textContent = texts[i] as string;
    td.className = 'changed';
  }
}

/** Takes the flash off cells whose time is up (one timer, however many patches came). */
function unflash(): void {
  unflashTimer = 0;
  const now = Date.now();
  const more = flashing.expire(now);
  for (const [tid, tr] of shown) {
    tr.querySelectorAll<HTMLElement>('td.changed').forEach((td) => {
      if (!flashing.isOn(tid, Number(td.dataset.key), now)) td.className = '';
    });
  }
  if (more) unflashTimer = window.setTimeout(unflash, 300);
}

/** The input of the cell editor @e inside @td, wired to keep @e current. */
function editorInput(td: HTMLElement, e: Editing): HTMLInputElement {
  const key = keys[e.key];
  const input = document.createElement('input');
  input.value = e.text;
  input.setAttribute('aria-label', `new value of ${key?.name ?? ''} for thread ${e.tid}`);
  td.classList.add('editing');
  td.appendChild(input);
  const keep = () => {
    e.text = input.value;
    e.selStart = input.selectionStart ?? input.value.length;
    e.selEnd = input.selectionEnd ?? input.value.length;
  };
  input.addEventListener('input', keep);
  input.addEventListener('select', keep);
  input.addEventListener('keyup', keep);
  input.addEventListener('focus', () => (e.focused = true));
  input.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && key) post({ type: 'setValue', tid: e.tid, key: key.name, value: input.value });
    if (ev.key === 'Enter' || ev.key === 'Escape') {
      ev.stopPropagation();
      endEdit();
    }
  });
  // A redraw takes the input out of the page, and focus may leave the whole webview for a
  // while: only the user moving elsewhere in the inspector ends the edit.
  input.addEventListener('blur', () => {
    if (!redrawing && input.isConnected && document.hasFocus()) endEdit();
  });
  return input;
}

function endEdit(): void {
  if (!editing) return;
  const { tid, key } = editing;
  editing = undefined;
  drawRows();
  (shown.get(tid)?.children[key + 2] as HTMLElement | undefined)?.focus();
}

function editCell(td: HTMLElement): void {
  const tid = Number(td.parentElement?.dataset.tid);
  const k = Number(td.dataset.key);
  if (exited || !keys[k] || !tid || (editing?.tid === tid && editing.key === k)) return;
  const text = rows.get(tid)?.cells[k] ?? td.textContent ?? '';
  editing = { tid, key: k, text, selStart: 0, selEnd: text.length, focused: true };
  drawRows();
}

function apply(m: HostToWebview): void {
  switch (m.type) {
    case 'snapshot':
      if (JSON.stringify(m.keys) !== JSON.stringify(keys)) changingKeys.clear();
      keys = m.keys;
      if (editing && (!m.rows.some((r) => r.tid === editing?.tid) || editing.key >= m.keys.length)) editing = undefined;
      columns = m.columns;
      rows = new Map(m.rows.map((r) => [r.tid, r as Row]));
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
      flashing.begin(Date.now() + 1200);
      const { tids, cols, texts } = m.cells;
      for (let i = 0; i < tids.length; i++) {
        const tid = tids[i] as number;
        const k = cols[i] as number;
        const r = rows.get(tid);
        if (!r) continue;
        r.cells[k] = texts[i] as string;
        flashing.mark(tid, k);
        changingKeys.add(k);
      }
      pickSetKey();
      if (editing && m.removed.includes(editing.tid)) editing = undefined;
      for (const r of m.added) rows.set(r.tid, r as Row);
      for (const tid of m.removed) rows.delete(tid);
      // The order changes only with threads that came or went, the filter, or the sorted column.
      if (m.added.length || m.removed.length || ui.filter || (ui.sortKey >= 0 && cols.includes(ui.sortKey))) {
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
      if (exited) break;
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
      setExited();
      break;
    default: {
      const never: never = m;
      throw new Error(`unhandled ${JSON.stringify(never)}`);
    }
  }
}

/** After the process exits nothing can pause, set or refresh it: the controls say so. */
function setExited(): void {
  exited = true;
  editing = undefined;
  for (const id of ['pause', 'set-all', 'set-key', 'set-value']) {
    const el = $<HTMLButtonElement | HTMLInputElement | HTMLSelectElement>(id);
    el.disabled = true;
    el.title = 'the process exited';
  }
  $('rate').textContent = 'not refreshing: the process exited';
  drawRows();
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
window.addEventListener('resize', () => {
  plotView.request(order.slice(0, PLOT_LINES));
  if (lastLayout) drawLayout(lastLayout);
});
$('set-key').addEventListener('change', () => (setKeyChosen = true));
for (const [id, field] of [['layout-fold', 'layoutOpen'], ['plot-fold', 'plotOpen']] as const) {
  const fold = $<HTMLDetailsElement>(id);
  fold.open = ui[field];
  fold.addEventListener('toggle', () => {
    ui[field] = fold.open;
    saveState();
    if (fold.open && field === 'layoutOpen' && lastLayout) drawLayout(lastLayout);
    if (fold.open && field === 'plotOpen') plotView.request(order.slice(0, PLOT_LINES));
  });
}
$('pause').addEventListener('click', () => !exited && post({ type: 'pause', paused: !ui.paused }));
$('export-json').addEventListener('click', () => post({ type: 'export', format: 'json' }));
$('export-csv').addEventListener('click', () => post({ type: 'export', format: 'csv' }));
$('export-trace').addEventListener('click', () => post({ type: 'export', format: 'trace' }));
$('set-all').addEventListener('click', () => {
  const key = $<HTMLSelectElement>('set-key').value;
  const value = $<HTMLInputElement>('set-value').value;
  if (key && !exited) post({ type: 'setValue', tid: 0, key, value });
});
// The table the panel opened with, in the page itself: shown before any message comes.
const initial = document.getElementById('tld-initial')?.textContent;
if (initial) {
  for (const raw of JSON.parse(initial) as unknown[]) {
    const m = parseHostMessage(raw);
    if (m) apply(m);
  }
}
post({ type: 'ready' });
