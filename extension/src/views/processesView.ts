// The Processes view: every process with task local data, refreshed while the view is visible.
import * as vscode from 'vscode';

import { printable } from '../client/printable';
import { ProcessSummary } from '../client/snapshot';
import { Ctx, PREFIX } from '../ctx';
import { VisiblePoller } from './visiblePoller';

export class ProcessItem extends vscode.TreeItem {
  constructor(readonly process: ProcessSummary) {
    super(`${printable(process.comm)} (${process.pid})`, vscode.TreeItemCollapsibleState.None);
    const fill = ((100 * process.used) / process.capacity).toFixed(1);
    this.description = `${process.threads} threads · ${process.keys} keys · ${fill}%`;
    this.tooltip = `pid ${process.pid}: ${process.threads} threads with hints, ${process.keys} keys, ${process.used} of ${process.capacity} bytes of each page`;
    this.iconPath = new vscode.ThemeIcon('server-process');
    this.contextValue = 'tldProcess';
    this.command = { command: `${PREFIX}.selectProcess`, title: 'Show keys', arguments: [process.pid] };
  }
}

export class ProcessesView implements vscode.TreeDataProvider<ProcessItem>, vscode.Disposable {
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

  getTreeItem(item: ProcessItem): vscode.TreeItem {
    return item;
  }

  async getChildren(): Promise<ProcessItem[]> {
    try {
      const client = await this.ctx.getClient();
      const list = await client.processes();
      this.error = undefined;
      return list.map((p) => new ProcessItem(p));
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (message !== this.error) this.ctx.log.warn(`processes: ${message}`);
      this.error = message;
      return [];
    }
  }

  dispose(): void {
    this.poller.dispose();
    this.changed.dispose();
  }
}
