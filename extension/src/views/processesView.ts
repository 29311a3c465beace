// The Processes view: every process with task local data, refreshed while the view is visible,
// and under each running VM (vm run, Run Scheduler in VM) the guest's own, read by its helper host.
import * as vscode from 'vscode';

import { printable } from '../client/printable';
import { ProcessSummary } from '../client/snapshot';
import { Ctx, PREFIX } from '../ctx';
import { VisiblePoller } from './visiblePoller';

export class ProcessItem extends vscode.TreeItem {
  /** @vm: the running VM whose guest it is in (the pid of its vm run); undefined on this machine. */
  constructor(readonly process: ProcessSummary, readonly vm?: number) {
    super(`${printable(process.comm)} (${process.pid})`, vscode.TreeItemCollapsibleState.None);
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

export class ProcessesView implements vscode.TreeDataProvider<Item>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly poller = new VisiblePoller(2000, () => this.changed.fire());
  private error: string | undefined;

  constructor(private readonly ctx: Ctx) {}

  /** The view's visibility (TreeView.onDidChangeVisibility): it polls only while visible. */
  setVisible(visible: boolean): void {
    this.poller.setVisible(visible);
  }

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(item: Item): vscode.TreeItem {
    return item;
  }

  async getChildren(parent?: Item): Promise<Item[]> {
    if (parent instanceof ProcessItem) return [];
    if (parent instanceof VmItem) return this.guestProcesses(parent.vm);
    const { runningVms } = await import('../vm/guestRelay');
    const vms = runningVms().map((v) => new VmItem(v.id));
    try {
      const client = await this.ctx.getClient();
      const list = await client.processes();
      this.warn(undefined);
      return [...list.map((p) => new ProcessItem(p)), ...vms];
    } catch (e) {
      this.warn(e);
      return vms;
    }
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
