// Draws the Hint Inspector's plot of one key on a canvas: each of the first threads of the
// table over the last refreshes inside the min–max band of all threads, or a histogram of the
// current values over threads. One draw per animation frame at most, whatever the thread count.
import { PLOT_LINES, PlotModel, SCHED_TEXT_TYPE, extent, formatNumber } from './plotModel';

export type PlotMode = 'time' | 'histogram' | 'scatter';

export function isPlotMode(v: string): v is PlotMode {
  return v === 'time' || v === 'histogram' || v === 'scatter';
}

/** The theme's chart colours, one per line (with Dark+ values when the theme has none). */
const LINE_COLOURS: readonly (readonly [string, string])[] = [
  ['--vscode-charts-blue', '#3794ff'],
  ['--vscode-charts-orange', '#d18616'],
  ['--vscode-charts-green', '#89d185'],
  ['--vscode-charts-purple', '#b180d7'],
  ['--vscode-charts-red', '#f14c4c'],
  ['--vscode-charts-yellow', '#cca700'],
  ['--vscode-terminal-ansiCyan', '#11a8cd'],
  ['--vscode-terminal-ansiMagenta', '#bc3fbc'],
];

export interface PlotElements {
  readonly canvas: HTMLCanvasElement;
  readonly key: HTMLSelectElement;
  readonly mode: HTMLSelectElement;
  /** The second figure of a scatter (a thread's scheduling against its hint). */
  readonly against: HTMLSelectElement;
  readonly note: HTMLElement;
  readonly legend: HTMLElement;
  readonly summary: HTMLElement;
}

export class PlotView {
  private frame = 0;
  private colours = new Map<string, string>();
  private lines: readonly number[] = [];
  private legendFor = '';
  private intervalMs = 0;
  /** The scatter's vertical figure (a key index of the model), or -1. */
  private againstKey = -1;
  /**
   * The canvas's box in CSS pixels, from a ResizeObserver: reading clientWidth in draw() would
   * force a layout of whatever the refresh's message changed, and a second one after it.
   */
  private box: { w: number; h: number } | undefined;
  /** The summary and label last written: the same text written again still dirties the page. */
  private summaryText: string | undefined;
  private label: string | undefined;

  constructor(
    private readonly model: PlotModel,
    private readonly el: PlotElements,
    private mode: PlotMode,
  ) {
    el.mode.value = mode;
    // Theme colours are read once per theme, not per frame (each read would restyle the page).
    new MutationObserver(() => {
      this.colours.clear();
      this.request(this.lines);
    }).observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'], subtree: false });
    new MutationObserver(() => {
      this.colours.clear();
      this.request(this.lines);
    }).observe(document.body, { attributes: true, attributeFilter: ['class'] });
    new ResizeObserver((entries) => {
      const r = entries[entries.length - 1]?.contentRect;
      if (!r) return;
      this.box = { w: r.width, h: r.height };
      this.request(this.lines);
    }).observe(el.canvas);
  }

  get plotMode(): PlotMode {
    return this.mode;
  }

  setMode(mode: PlotMode): void {
    this.mode = mode;
    this.el.mode.value = mode;
    this.legendFor = '';
    this.request(this.lines);
  }

  /** The scatter's vertical figure, by name (kept across new keys); the wait time when none fits. */
  setAgainst(name: string): void {
    const keys = this.model.keys;
    let k = keys.findIndex((x, i) => x.name === name && this.model.isNumeric(i));
    if (k < 0) k = keys.findIndex((x, i) => x.name === 'wait ms' && this.model.isNumeric(i));
    this.againstKey = k;
    this.el.against.value = String(k);
    this.request(this.lines);
  }

  get against(): string {
    return this.model.keys[this.againstKey]?.name ?? '';
  }

  /** The refresh interval, for the time axis's label. */
  setInterval(ms: number): void {
    this.intervalMs = ms;
  }

  /** Fills the key choice from the model's keys; keys without numbers are listed but cannot be chosen. */
  setKeys(): void {
    const select = this.el.key;
    select.textContent = '';
    const skipped: string[] = [];
    this.model.keys.forEach((k, i) => {
      if (k.type === SCHED_TEXT_TYPE) return;
      const o = document.createElement('option');
      o.value = String(i);
      if (this.model.isNumeric(i)) {
        o.textContent = `${k.name} (${k.type})`;
      } else {
        o.textContent = `${k.name} (${k.type}: not a number)`;
        o.disabled = true;
        skipped.push(`${k.name} (${k.type})`);
      }
      select.appendChild(o);
    });
    select.value = String(this.model.selected);
    select.disabled = this.model.selected < 0;
    const against = this.el.against;
    const name = this.against;
    against.textContent = '';
    this.model.keys.forEach((k, i) => {
      if (!this.model.isNumeric(i)) return;
      const o = document.createElement('option');
      o.value = String(i);
      o.textContent = k.name;
      against.appendChild(o);
    });
    this.setAgainst(name);
    this.el.note.textContent =
      this.model.selected < 0
        ? 'No key of this process holds an integer: there is nothing to plot.'
        : skipped.length
          ? `Not plotted (only integer keys are): ${skipped.join(', ')}.`
          : '';
    this.legendFor = '';
  }

  /** Draws at the next animation frame with @lines (thread ids) as the time plot's lines. */
  request(lines: readonly number[]): void {
    this.lines = lines.slice(0, PLOT_LINES);
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private colour(name: string, fallback: string): string {
    let c = this.colours.get(name);
    if (c === undefined) {
      c = getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
      this.colours.set(name, c);
    }
    return c;
  }

  /** The left margin that fits the value axis's labels. */
  private margin(ctx: CanvasRenderingContext2D, labels: readonly string[]): number {
    return Math.ceil(Math.max(24, ...labels.map((l) => ctx.measureText(l).width))) + 10;
  }

  /** The canvas's backing store in device pixels, resized only when its box changed. */
  private context(): { ctx: CanvasRenderingContext2D; w: number; h: number } | undefined {
    const c = this.el.canvas;
    const ratio = window.devicePixelRatio || 1;
    // Before the observer's first report (it comes with the first layout), the box is read once.
    this.box ??= { w: c.clientWidth, h: c.clientHeight };
    const w = Math.max(1, Math.round(this.box.w * ratio));
    const h = Math.max(1, Math.round(this.box.h * ratio));
    if (c.width !== w) c.width = w;
    if (c.height !== h) c.height = h;
    const ctx = c.getContext('2d');
    if (!ctx) return undefined;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    return { ctx, w: w / ratio, h: h / ratio };
  }

  private draw(): void {
    const got = this.context();
    if (!got) return;
    const { ctx, w, h } = got;
    const key = this.model.keys[this.model.selected];
    const fg = this.colour('--vscode-foreground', '#cccccc');
    ctx.font = `11px ${this.colour('--vscode-font-family', 'sans-serif')}`;
    ctx.fillStyle = fg;
    if (!key || !this.model.isNumeric(this.model.selected)) {
      this.setLabel('no plot: no integer key');
      this.setSummary('');
      this.setLegend([]);
      return;
    }
    const s = this.model.summary();
    const summary = s
      ? `${key.name}: min ${formatNumber(s.min)}, median ${formatNumber(s.median)}, max ${formatNumber(s.max)} over ${s.count} threads`
      : `${key.name}: no thread has a value`;
    this.setSummary(summary);
    switch (this.mode) {
      case 'time':
        this.drawTime(ctx, w, h, fg);
        this.setLabel(`${summary}; over the last ${this.model.length} refreshes`);
        break;
      case 'histogram':
        this.drawHistogram(ctx, w, h, fg);
        this.setLabel(`histogram of ${summary}`);
        this.setLegend([]);
        break;
      case 'scatter': {
        const other = this.model.keys[this.againstKey]?.name ?? 'nothing';
        this.drawScatter(ctx, w, h, fg);
        this.setLabel(`each thread's ${key.name} (across) against its ${other} (up)`);
        this.setLegend([]);
        break;
      }
      default: {
        const never: never = this.mode;
        throw new Error(`unknown plot mode ${String(never)}`);
      }
    }
  }

  private drawTime(ctx: CanvasRenderingContext2D, w: number, h: number, fg: string): void {
    const m = this.model;
    const band = m.band();
    const series = this.lines.map((tid) => m.series(tid));
    const { lo, hi } = extent([band.min, band.max, ...series]);
    const left = this.margin(ctx, [formatNumber(hi), formatNumber(lo)]);
    const right = w - 8;
    const top = 8;
    const bottom = h - 18;
    const n = m.length;
    const x = (i: number) => right - ((n - 1 - i) / Math.max(1, m.capacity - 1)) * (right - left);
    const y = (v: number) => bottom - ((v - lo) / (hi - lo)) * (bottom - top);

    this.axes(ctx, left, right, top, bottom, fg);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(formatNumber(hi), left - 6, top);
    ctx.fillText(formatNumber(lo), left - 6, bottom);
    ctx.textBaseline = 'top';
    ctx.fillText('now', right, bottom + 4);
    ctx.textAlign = 'left';
    const span = this.intervalMs ? ` (${((m.capacity * this.intervalMs) / 1000).toFixed(0)} s)` : '';
    ctx.fillText(`${m.capacity} refreshes ago${span}`, left, bottom + 4);

    // The band of all threads: min to max, each run of refreshes where some thread had a value.
    ctx.globalAlpha = 0.18;
    ctx.fillStyle = fg;
    for (let i = 0; i < n; ) {
      if (Number.isNaN(band.max[i] as number)) {
        i++;
        continue;
      }
      let j = i;
      while (j + 1 < n && !Number.isNaN(band.max[j + 1] as number)) j++;
      ctx.beginPath();
      for (let k = i; k <= j; k++) ctx.lineTo(x(k), y(band.max[k] as number));
      for (let k = j; k >= i; k--) ctx.lineTo(x(k), y(band.min[k] as number));
      if (i === j) ctx.rect(x(i) - 1, y(band.max[i] as number), 2, Math.max(1, y(band.min[i] as number) - y(band.max[i] as number)));
      ctx.closePath();
      ctx.fill();
      i = j + 1;
    }
    ctx.globalAlpha = 1;
    ctx.setLineDash([4, 3]);
    this.polyline(ctx, band.median, x, y, fg);
    ctx.setLineDash([]);
    ctx.lineWidth = 1.5;
    series.forEach((s, i) => {
      const [name, fallback] = LINE_COLOURS[i % LINE_COLOURS.length] as readonly [string, string];
      this.polyline(ctx, s, x, y, this.colour(name, fallback));
    });
    ctx.lineWidth = 1;
    this.setLegend(this.lines);
  }

  /** A line through the numbers of @v, broken where there is none (steps hold between refreshes). */
  private polyline(ctx: CanvasRenderingContext2D, v: Float64Array, x: (i: number) => number, y: (v: number) => number, colour: string): void {
    ctx.strokeStyle = colour;
    ctx.beginPath();
    let open = false;
    for (let i = 0; i < v.length; i++) {
      const val = v[i] as number;
      if (Number.isNaN(val)) {
        open = false;
        continue;
      }
      if (open) ctx.lineTo(x(i), y(v[i - 1] as number));
      else ctx.moveTo(x(i), y(val));
      ctx.lineTo(x(i), y(val));
      open = true;
    }
    ctx.stroke();
  }

  private drawHistogram(ctx: CanvasRenderingContext2D, w: number, h: number, fg: string): void {
    const right = w - 8;
    const top = 8;
    const bottom = h - 18;
    const hist = this.model.histogram(Math.max(1, Math.min(40, Math.floor((w - 80) / 10))));
    const most = hist ? Math.max(...hist.counts) : 0;
    const left = this.margin(ctx, [`${most} threads`]);
    this.axes(ctx, left, right, top, bottom, fg);
    if (!hist) return;
    const bar = (right - left) / hist.counts.length;
    ctx.fillStyle = this.colour('--vscode-charts-blue', '#3794ff');
    hist.counts.forEach((c, i) => {
      if (!c) return;
      const top_ = bottom - (c / most) * (bottom - top);
      ctx.fillRect(left + i * bar + 1, top_, Math.max(1, bar - 2), bottom - top_);
    });
    ctx.fillStyle = fg;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(`${most} threads`, left - 6, top);
    ctx.fillText('0', left - 6, bottom);
    ctx.textBaseline = 'top';
    const last = hist.lo + hist.width * hist.counts.length - 1;
    ctx.fillText(hist.width === 1 ? formatNumber(last) : `< ${formatNumber(last + 1)}`, right, bottom + 4);
    ctx.textAlign = 'left';
    ctx.fillText(`${formatNumber(hist.lo)}${hist.width > 1 ? ` (bins of ${formatNumber(hist.width)})` : ''}`, left, bottom + 4);
  }

  /** One dot per thread: the chosen key across, the chosen figure up (threads without both are left out). */
  private drawScatter(ctx: CanvasRenderingContext2D, w: number, h: number, fg: string): void {
    const xs = this.model.current();
    const ys = this.againstKey >= 0 ? this.model.current(this.againstKey) : new Float64Array(0);
    const n = Math.min(xs.length, ys.length);
    const px: number[] = [];
    const py: number[] = [];
    for (let i = 0; i < n; i++) {
      if (!Number.isNaN(xs[i] as number) && !Number.isNaN(ys[i] as number)) {
        px.push(xs[i] as number);
        py.push(ys[i] as number);
      }
    }
    const ex = extent([px]);
    const ey = extent([py]);
    const left = this.margin(ctx, [formatNumber(ey.hi), formatNumber(ey.lo)]);
    const right = w - 8;
    const top = 8;
    const bottom = h - 18;
    this.axes(ctx, left, right, top, bottom, fg);
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(formatNumber(ey.hi), left - 6, top);
    ctx.fillText(formatNumber(ey.lo), left - 6, bottom);
    ctx.textBaseline = 'top';
    ctx.fillText(`${formatNumber(ex.hi)} ${this.model.keys[this.model.selected]?.name ?? ''}`, right, bottom + 4);
    ctx.textAlign = 'left';
    ctx.fillText(formatNumber(ex.lo), left, bottom + 4);
    const sx = (v: number) => left + 4 + ((v - ex.lo) / (ex.hi - ex.lo)) * (right - left - 8);
    const sy = (v: number) => bottom - 4 - ((v - ey.lo) / (ey.hi - ey.lo)) * (bottom - top - 8);
    ctx.fillStyle = this.colour('--vscode-charts-blue', '#3794ff');
    ctx.globalAlpha = px.length > 500 ? 0.4 : 0.8;
    for (let i = 0; i < px.length; i++) ctx.fillRect(sx(px[i] as number) - 2, sy(py[i] as number) - 2, 4, 4);
    ctx.globalAlpha = 1;
    ctx.fillStyle = fg;
  }

  private axes(ctx: CanvasRenderingContext2D, left: number, right: number, top: number, bottom: number, fg: string): void {
    ctx.strokeStyle = fg;
    ctx.globalAlpha = 0.4;
    ctx.beginPath();
    ctx.moveTo(left, top);
    ctx.lineTo(left, bottom);
    ctx.lineTo(right, bottom);
    ctx.stroke();
    ctx.globalAlpha = 1;
    ctx.fillStyle = fg;
  }

  private setSummary(text: string): void {
    if (text === this.summaryText) return;
    this.summaryText = text;
    this.el.summary.textContent = text;
  }

  private setLabel(text: string): void {
    if (text === this.label) return;
    this.label = text;
    this.el.canvas.setAttribute('aria-label', text);
  }

  /** The lines' legend, rebuilt only when the threads drawn change. */
  private setLegend(tids: readonly number[]): void {
    const id = `${tids.join(',')}/${this.model.threads}`;
    if (id === this.legendFor) return;
    this.legendFor = id;
    const legend = this.el.legend;
    legend.textContent = '';
    if (!tids.length) return;
    tids.forEach((tid, i) => {
      const item = document.createElement('span');
      item.className = `legend line${i % LINE_COLOURS.length}`;
      item.textContent = `thread ${tid}`;
      legend.appendChild(item);
    });
    const band = document.createElement('span');
    band.className = 'legend band';
    band.textContent = `min–max of all ${this.model.threads} threads (dashed: median); the lines are the first ${tids.length} threads of the table: sort or filter it to choose them`;
    legend.appendChild(band);
  }
}
