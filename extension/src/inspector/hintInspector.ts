// The Hint Inspector panel: one per process, polling snapshots and sending the webview only
// what changed. Messages are typed (webview/src/messages.ts) and validated on arrival.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { TldClient } from '../client/client';
import { TldError } from '../client/errors';
import { parseTypes, toJson } from '../client/values';
import { Ctx } from '../ctx';
import { exportFileName, toCsv } from '../../../webview/src/tableModel';
import { HostToWebview, RowView, parseWebviewMessage } from '../../../webview/src/messages';
import { FeedThread } from './feedThread';
import { exportTrace } from './traceExport';
import { inspectorHtml } from './page';

/** The webview's bundle and stylesheet, read once: every page carries them inline. */
let code: { readonly script: string; readonly style: string } | undefined;
function pageCode(extensionRoot: string): { readonly script: string; readonly style: string } {
  code ??= {
    script: fs.readFileSync(path.join(extensionRoot, 'dist', 'webview.js'), 'utf8'),
    style: fs.readFileSync(path.join(extensionRoot, 'media', 'inspector.css'), 'utf8'),
  };
  return code;
}

/** The first table's two reads are this far apart: its rates are over this interval. */
const FIRST_RATES_MS = 50;
/** How long the page waits for its first table before it opens without one. */
const OPEN_WAIT_MS = 400;

export class HintInspector {
  /** Open panels by target: "PID" on this machine, "vmVM:PID" in a running VM's guest. */
  private static readonly panels = new Map<string, HintInspector>();
  static readonly viewType = 'tldStudio.hintInspector';

  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  private readonly feed: FeedThread;
  /** The webview has a table: a refresh while paused leaves it as the user froze it. */
  private shown = false;
  /** The page was made with the first table in it: its first 'ready' needs no snapshot sent. */
  private openedWithTable = false;
  private busy = false;
  /** The process ended: nothing polls, pauses or writes any more. */
  private exited = false;
  private comm = '';

  /** @vm: the running VM whose guest @pid is in (the pid of its vm run); undefined on this machine. */
  static createOrShow(ctx: Ctx, pid: number, vm?: number): HintInspector {
    const key = vm === undefined ? String(pid) : `vm${vm}:${pid}`;
    const open = HintInspector.panels.get(key);
    if (open) {
      open.panel.reveal();
      return open;
    }
    const title = vm === undefined ? `Hints: ${pid}` : `Hints: ${pid} (VM ${vm})`;
    const panel = vscode.window.createWebviewPanel(HintInspector.viewType, title, vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(ctx.extension.extensionUri, 'dist'), vscode.Uri.joinPath(ctx.extension.extensionUri, 'media')],
    });
    const inspector = new HintInspector(ctx, panel, pid, key, vm);
    HintInspector.panels.set(key, inspector);
    return inspector;
  }

  private constructor(
    private readonly ctx: Ctx,
    private readonly panel: vscode.WebviewPanel,
    private readonly pid: number,
    private readonly key: string,
    private readonly vm: number | undefined,
  ) {
    this.feed = new FeedThread((target) => ctx.keyTypes(target, vm));
    this.feed.warm();
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw), null, this.disposables);
    ctx.setInspected(pid);
    void this.open();
  }

  /**
   * Gives the webview its page, with the first table in it when that is ready while VS Code
   * still makes the webview's frames (a process of this machine): the table then shows as the
   * page loads, rates and all, without a round trip for it.
   */
  private async open(): Promise<void> {
    const initial = this.vm === undefined ? await this.firstTable().catch(() => undefined) : undefined;
    if (this.disposed) return;
    this.openedWithTable = initial !== undefined;
    this.shown = this.openedWithTable;
    this.panel.webview.html = this.html(initial);
  }

  /**
   * Two reads FIRST_RATES_MS apart (rates need two), made into the whole table; undefined when
   * they take longer than OPEN_WAIT_MS (a helper that starts, a prompt for a password): the
   * page then opens empty and asks for its table, as it does when it reloads.
   */
  private async firstTable(): Promise<readonly HostToWebview[] | undefined> {
    const reads = (async () => {
      const client = await this.client();
      const first = await client.snapshotRecords(this.pid);
      await new Promise((r) => setTimeout(r, FIRST_RATES_MS));
      return { first, second: await client.snapshotRecords(this.pid), guest: client.transport === 'guest' };
    })();
    reads.catch(() => undefined);
    const got = await Promise.race([reads, new Promise<undefined>((r) => setTimeout(() => r(undefined), OPEN_WAIT_MS))]);
    if (!got) return undefined;
    const status = { paused: this.paused, intervalMs: this.ctx.settings.refreshMs };
    const { comm, messages } = await this.feed.next(this.pid, got.second, got.guest, status, got.first);
    this.comm = comm;
    return messages;
  }

  private post(m: HostToWebview): void {
    void this.panel.webview.postMessage(m);
  }

  private receive(raw: unknown): void {
    const m = parseWebviewMessage(raw);
    if (!m) {
      this.ctx.log.warn(`Hint Inspector: dropped a malformed message: ${JSON.stringify(raw).slice(0, 200)}`);
      return;
    }
    switch (m.type) {
      case 'ready':
        // A webview that starts again after the exit shows the last values, and says so.
        if (this.exited) {
          void this.resendExited();
          break;
        }
        if (this.openedWithTable) {
          // The page came with its table: the feed's next diff is against it.
          this.openedWithTable = false;
          this.schedule(this.ctx.settings.refreshMs);
          break;
        }
        this.shown = false;
        this.feed.restart();
        this.schedule(0);
        break;
      case 'pause':
        if (this.exited) break;
        this.paused = m.paused;
        this.post({ type: 'status', paused: this.paused, intervalMs: this.ctx.settings.refreshMs });
        if (!this.paused) this.schedule(0);
        else if (this.timer) clearTimeout(this.timer);
        break;
      case 'setValue':
        if (this.exited) {
          void vscode.window.showWarningMessage(`Process ${this.pid} exited: there is nothing to set.`);
          break;
        }
        void this.setValue(m.tid, m.key, m.value);
        break;
      case 'export':
        if (m.format === 'trace') void exportTrace(this.ctx, this.pid);
        else void this.export(m.format);
        break;
      default: {
        const never: never = m;
        this.ctx.log.warn(`Hint Inspector: unhandled ${JSON.stringify(never)}`);
      }
    }
  }

  /** The helper that reads the target: this machine's, or the guest's of its VM. */
  private client(): Promise<TldClient> {
    return this.vm === undefined ? this.ctx.getClient() : this.ctx.getGuestClient(this.vm);
  }

  /** @force: refresh even while paused (after the user's own write, which they expect to see). */
  private schedule(ms: number, force = false): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.exited) return;
    this.timer = setTimeout(() => void this.refresh(force), ms);
  }

  private async refresh(force = false): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const client = await this.client();
      const records = await client.snapshotRecords(this.pid);
      // Paused while this refresh was under way: the table stays as the user froze it (and the
      // feed is not told, so its next diff is against what the webview shows).
      if (this.paused && !force && this.shown) {
        client.recycle(records);
        return;
      }
      const status = { paused: this.paused, intervalMs: this.ctx.settings.refreshMs };
      // The feed copies the records to its worker before it yields: the next read may take their buffer.
      const next = this.feed.next(this.pid, records, client.transport === 'guest', status);
      client.recycle(records);
      const { comm, messages } = await next;
      this.comm = comm;
      for (const m of messages) this.post(m);
      this.shown = true;
      if (!this.paused) this.schedule(this.ctx.settings.refreshMs);
    } catch (e) {
      if (e instanceof TldError && e.code === 'ESRCH') {
        this.exited = true;
        this.post({ type: 'exited', pid: this.pid });
        return;
      }
      const message = e instanceof Error ? e.message : String(e);
      this.ctx.log.warn(`Hint Inspector ${this.pid}: ${message}`);
      this.post({ type: 'error', message });
      if (!this.paused) this.schedule(Math.max(2000, this.ctx.settings.refreshMs));
    } finally {
      this.busy = false;
    }
  }

  private async setValue(tid: number, key: string, value: string): Promise<void> {
    const who = tid ? `thread ${tid}` : `every thread of process ${this.pid}`;
    const ok = await vscode.window.showWarningMessage(`Set ${key} = ${value} in ${who}?`, { modal: true }, 'Set');
    if (ok !== 'Set') return;
    try {
      const client = await this.client();
      const written = await client.set(this.pid, tid, key, value, parseTypes(this.ctx.settings.keyTypes).get(key));
      this.ctx.log.info(`set ${key} = ${value} in ${written.length} thread(s) of ${this.pid}`);
      this.schedule(0, true);
    } catch (e) {
      this.ctx.report(e);
    }
  }

  private async export(format: 'json' | 'csv'): Promise<void> {
    const last = await this.feed.view();
    if (!last) return;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(os.homedir());
    const defaultUri = vscode.Uri.joinPath(folder, exportFileName(this.comm, this.pid, format, new Date()));
    const uri = await vscode.window.showSaveDialog({ defaultUri, filters: { [format.toUpperCase()]: [format] }, saveLabel: 'Export snapshot' });
    if (!uri) return;
    const rows: readonly RowView[] = last.rows;
    const text = format === 'csv'
      ? toCsv([...last.keys.map((k) => k.name), ...last.columns], rows)
      : toJson(
          {
            pid: this.pid,
            keys: last.keys,
            threads: rows.map((r) => ({
              tid: r.tid,
              comm: r.comm,
              values: Object.fromEntries(last.keys.map((k, i) => [k.name, r.cells[i]])),
              sched: Object.fromEntries(last.columns.map((c, i) => [c, r.cells[last.keys.length + i]])),
            })),
          },
          2,
        );
    await vscode.workspace.fs.writeFile(uri, Buffer.from(text));
    this.ctx.log.info(`exported the snapshot of ${this.pid} to ${uri.fsPath}`);
  }

  /** The last table again, then the exit: for a webview that reloaded after the process ended. */
  private async resendExited(): Promise<void> {
    const view = await this.feed.view().catch(() => undefined);
    if (view) {
      this.post({ type: 'snapshot', pid: this.pid, comm: this.comm, keys: view.keys, columns: view.columns, layout: view.layout, rows: view.rows, threads: view.rows.length });
    }
    this.post({ type: 'exited', pid: this.pid });
  }

  private html(initial?: readonly HostToWebview[]): string {
    const webview = this.panel.webview;
    const nonce = crypto.randomBytes(16).toString('base64');
    return inspectorHtml({ cspSource: webview.cspSource, nonce, code: pageCode(this.ctx.extension.extensionUri.fsPath), pid: this.pid, ...(initial ? { initial } : {}) });
  }

  private disposed = false;

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    HintInspector.panels.delete(this.key);
    if (this.timer) clearTimeout(this.timer);
    this.ctx.setInspected(undefined);
    this.feed.dispose();
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
