// The VM view: the sched_ext kernel in the cache (or how to get one), the guest of Run
// Scheduler in VM while it runs, and how the last run ended with the scheduler's statistics.
import * as vscode from 'vscode';

import { cacheDir } from '../client/paths';
import { Ctx, PREFIX } from '../ctx';
import { GuestOutcome, loaderWords, resultWords } from '../guest';
import { KernelInfo, listCachedKernels } from '../vm/kernel';
import { describeKernel } from '../vm/kernelInfo';
import type { HistogramSummary, SchedulerStats } from '../vm/schedulerStats';
import { VisiblePoller } from './visiblePoller';

export type VmNode =
  | { readonly kind: 'kernel'; readonly kernel: KernelInfo }
  | { readonly kind: 'noKernel' }
  | { readonly kind: 'fetching'; readonly message: string }
  | { readonly kind: 'guest' }
  | { readonly kind: 'lastRun'; readonly outcome: GuestOutcome }
  | { readonly kind: 'stat'; readonly label: string; readonly value: string; readonly tooltip: string };

const TICK_MS = 1000;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}

function micros(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(1)} ms` : `${(ns / 1e3).toFixed(1)} µs`;
}

/** The scheduler's statistics as rows: counters, then histograms as n/p50/p99/max. */
export function statRows(stats: SchedulerStats): VmNode[] {
  const counters = Object.entries(stats.counters).map(([name, v]): VmNode => ({
    kind: 'stat', label: name, value: String(v), tooltip: `${name}: ${v} after ${stats.seconds} s`,
  }));
  const hist = Object.entries(stats.histograms).map(([name, h]: [string, HistogramSummary]): VmNode => ({
    kind: 'stat',
    label: name,
    value: `n ${h.count} · p50 ${micros(h.p50_ns)} · p99 ${micros(h.p99_ns)} · max ${micros(h.max_ns)}`,
    tooltip: `${name}: ${h.count} samples; p50 ${micros(h.p50_ns)}, p90 ${micros(h.p90_ns)}, p99 ${micros(h.p99_ns)}, max ${micros(h.max_ns)} (bucket bounds, within 25%)`,
  }));
  return [...counters, ...hist];
}

export class VmView implements vscode.TreeDataProvider<VmNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<VmNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  /** Ticks the elapsed time each second while a guest runs and the view is visible. */
  private readonly ticker = new VisiblePoller(TICK_MS, () => this.changed.fire(undefined));

  constructor(private readonly ctx: Ctx) {
    this.ticker.setWanted(false);
    this.disposables.push(this.changed, ctx.onDidChangeVm(() => this.update()));
  }

  /** The view's visibility (TreeView.onDidChangeVisibility). */
  setVisible(visible: boolean): void {
    this.ticker.setVisible(visible);
  }

  private update(): void {
    this.ticker.setWanted(this.ctx.guest !== undefined);
    this.changed.fire(undefined);
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  getTreeItem(node: VmNode): vscode.TreeItem {
    switch (node.kind) {
      case 'kernel': {
        const k = node.kernel;
        const item = new vscode.TreeItem(`Kernel ${k.version}`);
        const minimal = k.source.startsWith('built:');
        item.description = [minimal ? 'minimal build' : k.source.startsWith('debian:') ? 'Debian' : 'your file', k.hasSchedExt ? 'sched_ext' : 'no sched_ext', k.hasBtf ? 'BTF' : 'no BTF'].join(' · ');
        item.tooltip = `${describeKernel(k)}\nbzImage: ${k.bzImage}\nvmlinux.h: ${k.vmlinuxH}` +
          (minimal ? '\nRun Scheduler in VM boots it unless tldStudio.vm.kernel says debian' : '');
        item.iconPath = new vscode.ThemeIcon('chip');
        item.contextValue = 'tldKernel';
        return item;
      }
      case 'noKernel': {
        const item = new vscode.TreeItem('No sched_ext kernel cached');
        item.description = 'Get sched_ext kernel';
        item.tooltip = `Download Debian's sched_ext kernel into ${cacheDir()}/kernel (as tldctl vm kernel does)`;
        item.iconPath = new vscode.ThemeIcon('cloud-download');
        item.contextValue = 'tldNoKernel';
        item.command = { command: `${PREFIX}.getKernel`, title: 'Get sched_ext kernel' };
        return item;
      }
      case 'fetching': {
        const item = new vscode.TreeItem(this.ctx.kernelWork === 'build' ? 'Building the minimal kernel' : 'Getting a sched_ext kernel');
        item.description = node.message;
        item.iconPath = new vscode.ThemeIcon('loading~spin');
        return item;
      }
      case 'guest': {
        const run = this.ctx.guest;
        if (!run) {
          const item = new vscode.TreeItem('Guest not running');
          item.description = 'Run Scheduler in VM';
          item.tooltip = 'Boot the sched_ext guest with a scheduler of the workspace and tld-demo: the generic loader, or your own command (tldStudio.vm.command or a tasks.json task)';
          item.iconPath = new vscode.ThemeIcon('vm-outline');
          item.contextValue = 'tldGuestIdle';
          item.command = { command: `${PREFIX}.runInVm`, title: 'Run Scheduler in VM' };
          return item;
        }
        const item = new vscode.TreeItem(`Guest running ${run.scheduler}`);
        item.description = `${loaderWords(run.loader)} · ${seconds(Date.now() - run.startedAt)} · ${run.step}`;
        item.tooltip = `${run.scheduler} (${loaderWords(run.loader)}${run.loader.kind === 'command' ? ` in ${run.loader.share}` : ''}), started ${new Date(run.startedAt).toLocaleTimeString()}: ${run.step}`;
        item.iconPath = new vscode.ThemeIcon('vm-running');
        item.contextValue = 'tldGuestRunning';
        return item;
      }
      case 'lastRun': {
        const o = node.outcome;
        const item = new vscode.TreeItem(`Last run: ${o.scheduler} ${resultWords(o.result)}`,
          o.stats ? vscode.TreeItemCollapsibleState.Collapsed : vscode.TreeItemCollapsibleState.None);
        item.id = `lastRun-${o.endedAt}`;
        item.description = [loaderWords(o.loader), seconds(o.endedAt - o.startedAt), o.accel, new Date(o.endedAt).toLocaleTimeString()].filter(Boolean).join(' · ');
        item.tooltip = `${o.message}\nLoader: ${loaderWords(o.loader)}` + (o.stats ? `\nExpand for the scheduler's statistics after ${o.stats.seconds} s` : '');
        item.iconPath = new vscode.ThemeIcon(o.result === 'enabled' ? 'pass' : o.result === 'stopped' ? 'debug-stop' : 'error');
        item.contextValue = 'tldLastRun';
        item.command = { command: `${PREFIX}.showVmRun`, title: 'Show the Last Run' };
        return item;
      }
      case 'stat': {
        const item = new vscode.TreeItem(node.label);
        item.description = node.value;
        item.tooltip = node.tooltip;
        item.iconPath = new vscode.ThemeIcon('graph');
        return item;
      }
      default: {
        const never: never = node;
        return new vscode.TreeItem(String(never));
      }
    }
  }

  getChildren(node?: VmNode): VmNode[] {
    if (node) return node.kind === 'lastRun' && node.outcome.stats ? statRows(node.outcome.stats) : [];
    const out: VmNode[] = [];
    const fetching = this.ctx.kernelFetch;
    const kernels = listCachedKernels(cacheDir()).map((kernel): VmNode => ({ kind: 'kernel', kernel }));
    if (fetching !== undefined) out.push({ kind: 'fetching', message: fetching });
    else if (kernels.length === 0) out.push({ kind: 'noKernel' });
    out.push(...kernels, { kind: 'guest' });
    const last = this.ctx.lastRun;
    if (last) out.push({ kind: 'lastRun', outcome: last });
    return out;
  }

  /** Expanding the last run's statistics is the walkthrough's last step. */
  expanded(node: VmNode): void {
    if (node.kind === 'lastRun' && node.outcome.stats && node.outcome.result === 'enabled') this.ctx.stepDone('stats');
  }

  dispose(): void {
    this.ticker.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
