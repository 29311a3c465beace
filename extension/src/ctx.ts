// The extension's lifecycle in one place: its settings, its output channel, the client of the
// helper (created on first use), the status bar, and every registration's cleanup.
import * as vscode from 'vscode';

import { TldClient } from './client/client';
import { TldError } from './client/errors';
import { defaultPinPath } from './client/layout';

export const PREFIX = 'tldStudio';

export interface Settings {
  readonly pinPath: string;
  readonly refreshMs: number;
  readonly keyTypes: Record<string, unknown>;
}

export class Ctx implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  private readonly subscriptions: vscode.Disposable[] = [];
  private client: Promise<TldClient> | undefined;
  private readonly status: vscode.StatusBarItem;
  private inspected: string | undefined;

  private constructor(readonly extension: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('TLD Studio', { log: true });
    this.status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
    this.status.command = `${PREFIX}.doctor`;
    this.push(this.log, this.status, vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${PREFIX}.pinPath`)) this.resetClient();
    }));
    this.setStatus('idle');
    this.status.show();
  }

  static async create(extension: vscode.ExtensionContext): Promise<Ctx> {
    const ctx = new Ctx(extension);
    extension.subscriptions.push(ctx);
    return ctx;
  }

  private vm: vscode.OutputChannel | undefined;

  /** The guest's console, for Run Scheduler in VM. */
  vmOutput(): vscode.OutputChannel {
    if (!this.vm) {
      this.vm = vscode.window.createOutputChannel('TLD Studio VM');
      this.push(this.vm);
    }
    return this.vm;
  }

  get settings(): Settings {
    const c = vscode.workspace.getConfiguration(PREFIX);
    return {
      pinPath: c.get<string>('pinPath') || defaultPinPath(),
      refreshMs: Math.max(50, c.get<number>('refreshIntervalMs') ?? 500),
      keyTypes: c.get<Record<string, unknown>>('keyTypes') ?? {},
    };
  }

  push(...d: vscode.Disposable[]): void {
    this.subscriptions.push(...d);
  }

  /** Registers `tldStudio.NAME`; failures go to the user once, as TldError messages, never stacks. */
  registerCommand(name: string, fn: (...args: unknown[]) => unknown): void {
    this.push(
      vscode.commands.registerCommand(`${PREFIX}.${name}`, async (...args: unknown[]) => {
        try {
          return await fn(...args);
        } catch (e) {
          this.report(e);
          return undefined;
        }
      }),
    );
  }

  /** Blocking errors as a toast (with Doctor where privileges or the host are at fault), all to the log. */
  report(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.log.error(message);
    const actions = e instanceof TldError && (e.code === 'EPERM' || e.code === 'EHELPER') ? ['Open Doctor'] : [];
    void vscode.window.showErrorMessage(`TLD Studio: ${message}`, ...actions).then((a) => {
      if (a === 'Open Doctor') void vscode.commands.executeCommand(`${PREFIX}.doctor`);
    });
  }

  /** The client, created once: in-process with privileges, else the privileged helper host. */
  getClient(): Promise<TldClient> {
    if (!this.client) {
      const pinPath = this.settings.pinPath;
      this.client = TldClient.create({ pinPath }).then(
        (c) => {
          this.log.info(`helper ready (${c.transport}) on ${pinPath}`);
          this.setStatus(c.transport === 'in-process' ? 'privileged' : 'helper host');
          return c;
        },
        (e: unknown) => {
          this.client = undefined;
          this.setStatus(e instanceof TldError && e.code === 'EPERM' ? 'needs sudo' : 'error');
          throw e;
        },
      );
    }
    return this.client;
  }

  /** The process the Hint Inspector shows, for hovers. */
  inspectedPid: number | undefined;

  setInspected(pid: number | undefined): void {
    this.inspectedPid = pid;
    this.inspected = pid === undefined ? undefined : `pid ${pid}`;
    this.refreshStatus();
  }

  private state = 'idle';

  private setStatus(state: string): void {
    this.state = state;
    this.refreshStatus();
  }

  private refreshStatus(): void {
    const icon = this.state === 'error' || this.state === 'needs sudo' ? '$(warning)' : '$(pulse)';
    this.status.text = `${icon} TLD: ${this.state}${this.inspected ? ` · ${this.inspected}` : ''}`;
    this.status.tooltip = 'TLD Studio helper state; click for Doctor';
  }

  private resetClient(): void {
    void this.client?.then((c) => c.dispose(), () => undefined);
    this.client = undefined;
    this.setStatus('idle');
  }

  dispose(): void {
    this.resetClient();
    for (const d of this.subscriptions.splice(0).reverse()) d.dispose();
  }
}
