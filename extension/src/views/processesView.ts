// The Processes view: every process with task local data, refreshed while the view is visible,
// and under each running VM (vm run, Run Scheduler in VM) the guest's own, read by its helper host.
//
// VS Code forgets every item of a tree as soon as it is told the tree changed, and asks for the
// items again: a click on a row's inline action (Inspect Process) that falls in between reaches
// its command without the row. So the view reads the lists first, tells VS Code only when what
// it shows changed, and then hands over the items already read.
import * as vscode from 'vscode';

import { printable } from '../client/printable';
import { ProcessSummary } from '../client/snapshot';
import { Ctx, PREFIX } from '../ctx';
import { VisiblePoller } from './visiblePoller';

export class ProcessItem extends vscode.TreeItem {
  /** @vm: the running VM whose guest it is in (the pid of its vm run); undefined on this machine. */
  constructor(readonly process: ProcessSummary, readonly vm?: number) {
    super(`${printable(process.comm)} (${process.pid})`, vscode.TreeItemCollapsibleState.None);
    // Stable across refreshes: VS Code keeps the row (and the pointer's hover on it).
    this.id = vm === undefined ? `tld-process-${process.pid}` : `tld-vm-${vm}-process-${process.pid}`;
    const fill = ((100 * process.used) / process.capacity).toFixed(1);
    this.description = `${process.threads} threads · ${process.keys} keys · ${fill}%`;
    const where = vm === undefined ? '' : ` in the guest of VM ${vm}`;
    this.tooltip = `pid ${process.pid}${where}: ${process.threads} threads with hints, ${process.keys} keys, ${process.used} of ${process.capacity} bytes of each page`;
    this.iconPath = new vscode.ThemeIcon(vm === undefined ? 'server-process' : 'vm');
    this.contextValue = 'tldProcess';
    // The Keys view reads this machine's processes; a guest's opens in the inspector.
    this.command = vm === undefined
      ? { command: `${PREFIX}.selectProcess`, title: 'Show keys', arguments: [process.pid] }
      : { command: `${PREFIX}.inspectProcess`, title: 'Inspect Process', arguments: [this] };
  }
}

/** A running VM, its guest's processes below it. */
export class VmItem extends vscode.TreeItem {
  constructor(readonly vm: number) {
    super(`VM ${vm} (guest)`, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `tld-vm-${vm}`;
    this.tooltip = `the sched_ext guest of the vm run with pid ${vm}: its processes with task local data`;
    this.iconPath = new vscode.ThemeIcon('vm-running');
    this.contextValue = 'tldVm';
  }
}

type Item = ProcessItem | VmItem;

/** What the view shows: the top level, each VM's guest processes, and a key to compare them by. */
interface Shown {
  readonly top: Item[];
  readonly guests: ReadonlyMap<number, ProcessItem[]>;
  readonly key: string;
}

export class ProcessesView implements vscode.TreeDataProvider<Item>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly poller = new VisiblePoller(2000, () => void this.update(false));
  private error: string | undefined;
  private shown: Shown | undefined;
  /** The read under way: ticks that come meanwhile (a slow guest) wait for it instead of piling up. */
  private reading: Promise<Shown> | undefined;

  constructor(private readonly ctx: Ctx) {}

  /** The view's visibility (TreeView.onDidChangeVisibility): it polls only while visible. */
  setVisible(visible: boolean): void {
    this.poller.setVisible(visible);
  }

  /** Reads the lists again and shows them (the view's Refresh button, a VM that started or ended). */
  refresh(): void {
    void this.update(true);
  }

  /** Reads the lists; tells VS Code when they differ from what it shows, or always with @force. */
  private async update(force: boolean): Promise<void> {
    // A refresh asked for wants a read that starts after it (a demo just started), not one under way.
    if (force) await this.reading?.catch(() => undefined);
    const next = await this.read();
    // Against what is shown now, which another update may have set while this one read.
    if (force || this.shown === undefined || next.key !== this.shown.key) {
      this.shown = next;
      this.changed.fire();
    }
  }

  private read(): Promise<Shown> {
    this.reading ??= this.readLists().finally(() => (this.reading = undefined));
    return this.reading;
  }

  getTreeItem(item: Item): vscode.TreeItem {
    return item;
  }

  async getChildren(parent?: Item): Promise<Item[]> {
    if (parent instanceof ProcessItem) return [];
    this.shown ??= await this.read();
    if (parent instanceof VmItem) return this.shown.guests.get(parent.vm) ?? [];
    return this.shown.top;
  }

  private async readLists(): Promise<Shown> {
    const { runningVms } = await import('../vm/guestRelay');
    const vms = runningVms().map((v) => v.id);
    let top: Item[];
    try {
      const client = await this.ctx.getClient();
      const list = await client.processes();
      this.warn(undefined);
      top = list.map((p) => new ProcessItem(p));
    } catch (e) {
      this.warn(e);
      top = [];
    }
    top.push(...vms.map((vm) => new VmItem(vm)));
    // Each guest answers over its own emulated link: asked all at once, not one after another.
    const guests = new Map(await Promise.all(vms.map(async (vm) => [vm, await this.guestProcesses(vm)] as const)));
    const keyOf = (items: readonly Item[]) => items.map((i) => `${String(i.label)}\0${String(i.description ?? '')}\0${String(i.tooltip ?? '')}`).join('\n');
    const key = [keyOf(top), ...vms.map((vm) => `${vm}\n${keyOf(guests.get(vm) ?? [])}`)].join('\n\n');
    return { top, guests, key };
  }

  private async guestProcesses(vm: number): Promise<ProcessItem[]> {
    try {
      const list = await (await this.ctx.getGuestClient(vm)).processes();
      return list.map((p) => new ProcessItem(p, vm));
    } catch (e) {
      // While the guest boots its helper host is not up yet: said once in the log.
      this.warn(e);
      return [];
    }
  }

  private warn(e: unknown): void {
    const message = e === undefined ? undefined : e instanceof Error ? e.message : String(e);
    if (message !== undefined && message !== this.error) this.ctx.log.warn(`processes: ${message}`);
    this.error = message;
  }

  dispose(): void {
    this.poller.dispose();
    this.changed.dispose();
  }
}
