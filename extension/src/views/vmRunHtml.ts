// The page of the VM's last run (vmRunPanel.ts), as text from its outcome: the verdict, the
// scheduler's counters, and each latency histogram drawn, hinted beside unhinted. No script:
// the page is rebuilt when the outcome changes. Pure, so that it is tested without VS Code.
import { HistogramSummary, SchedulerStats } from '../vm/schedulerStats';

export interface VmRunPage {
  readonly scheduler: string;
  readonly message: string;
  readonly accel?: string;
  readonly endedAt: number;
  readonly stats?: SchedulerStats;
}

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** ns as people read latencies: µs below a millisecond, ms above. */
export function latencyText(ns: number): string {
  return ns < 1e6 ? `${(ns / 1e3).toFixed(ns < 1e4 ? 1 : 0)} µs` : `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 1)} ms`;
}

/**
 * Histograms grouped for drawing: NAME_hinted beside NAME_unhinted (scx_hints's lat_hinted and
 * lat_unhinted), every other histogram alone.
 */
export function histogramGroups(h: Readonly<Record<string, HistogramSummary>>): { title: string; series: { name: string; h: HistogramSummary }[] }[] {
  const groups: { title: string; series: { name: string; h: HistogramSummary }[] }[] = [];
  const used = new Set<string>();
  // Sorted, NAME_hinted comes before NAME_unhinted and takes it along.
  for (const name of Object.keys(h).sort()) {
    if (used.has(name)) continue;
    used.add(name);
    const twin = /hinted$/.test(name) && !/unhinted$/.test(name) ? name.replace(/hinted$/, 'unhinted') : undefined;
    if (twin !== undefined && h[twin]) {
      used.add(twin);
      groups.push({ title: `${name.replace(/_?hinted$/, '') || 'latency'}: hinted beside unhinted`, series: [{ name, h: h[name]! }, { name: twin, h: h[twin]! }] });
    } else {
      groups.push({ title: name, series: [{ name, h: h[name]! }] });
    }
  }
  return groups;
}

const BAR_W = 14;
const PLOT_H = 120;

/** One SVG of a group's buckets: bars per bucket (share of each series' count), series side by side. */
function histogramSvg(series: readonly { name: string; h: HistogramSummary }[]): string {
  const bounds = [...new Set(series.flatMap((s) => s.h.buckets.map((b) => b[0])))].sort((a, b) => a - b);
  if (bounds.length === 0) return '<p class="empty">no samples</p>';
  const groupW = BAR_W * series.length + 6;
  const width = bounds.length * groupW + 10;
  const bars: string[] = [];
  bounds.forEach((lo, i) => {
    series.forEach((s, j) => {
      const count = s.h.buckets.find((b) => b[0] === lo)?.[1] ?? 0;
      const share = s.h.count ? count / s.h.count : 0;
      const hgt = Math.max(share > 0 ? 1 : 0, Math.round(share * PLOT_H));
      bars.push(`<rect class="s${j}" x="${5 + i * groupW + j * BAR_W}" y="${PLOT_H - hgt}" width="${BAR_W - 2}" height="${hgt}"><title>${esc(s.name)}: ${count} of ${s.h.count} at ≥ ${latencyText(lo)}</title></rect>`);
    });
  });
  const labels = bounds
    .map((lo, i) => (i % Math.max(1, Math.ceil(bounds.length / 8)) === 0 ? `<text x="${5 + i * groupW}" y="${PLOT_H + 14}">${latencyText(lo)}</text>` : ''))
    .join('');
  return `<svg class="hist" width="${width}" height="${PLOT_H + 20}" role="img">${bars.join('')}${labels}</svg>`;
}

/** The page's body for @page (the panel adds the head and its CSP). */
export function vmRunBody(page: VmRunPage): string {
  const parts: string[] = [
    `<h1>${esc(page.scheduler)}</h1>`,
    `<p class="verdict">${esc(page.message)}</p>`,
    `<p class="meta">ended ${esc(new Date(page.endedAt).toLocaleString())}${page.accel ? ` · ${esc(page.accel.toUpperCase())}` : ''}${page.stats ? ` · statistics after ${page.stats.seconds} s` : ''}</p>`,
  ];
  if (page.accel === 'tcg') {
    parts.push('<p class="caveat">The guest ran under TCG: qemu emulated its CPUs, so these times are emulated times, slower and noisier than on hardware. Compare hinted with unhinted within this run, not with other machines.</p>');
  }
  const s = page.stats;
  if (!s) {
    parts.push('<p class="empty">This run left no statistics (the scheduler did not run to the end, or it was not a scheduler of TLD Studio\'s loader).</p>');
    return parts.join('\n');
  }
  const counters = Object.entries(s.counters);
  parts.push('<h2>Counters</h2>');
  parts.push(counters.length
    ? `<table class="counters"><tbody>${counters.map(([n, v]) => `<tr><th>${esc(n)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`
    : '<p class="empty">no integer globals</p>');
  parts.push('<h2>Latency histograms</h2>');
  const groups = histogramGroups(s.histograms);
  if (groups.length === 0) parts.push('<p class="empty">no histograms</p>');
  for (const g of groups) {
    const legend = g.series
      .map((x, j) => `<span class="key s${j}"></span>${esc(x.name)}: n ${x.h.count}, p50 ${latencyText(x.h.p50_ns)}, p90 ${latencyText(x.h.p90_ns)}, p99 ${latencyText(x.h.p99_ns)}, max ${latencyText(x.h.max_ns)}`)
      .join('<br>');
    parts.push(`<section class="histogram"><h3>${esc(g.title)}</h3><p class="legend">${legend}</p>${histogramSvg(g.series)}</section>`);
  }
  return parts.join('\n');
}
