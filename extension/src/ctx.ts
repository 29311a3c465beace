// The extension's lifecycle in one place: its settings, its output channel, the client of the
// helper (created on first use), the status bar, and every registration's cleanup.
import * as vscode from 'vscode';

import { TldClient } from './client/client';
import { TldError } from './client/errors';
import { defaultPinPath } from './client/paths';
import { KeyInfo } from './client/snapshot';
import { ValueType, parseTypes } from './client/values';
import { binaryKeyTypes, processBinaries } from './analysis/debugTypes';
import { GuestLoader, GuestOutcome, GuestRun } from './guest';

export const PREFIX = 'tldStudio';

/**
 * The walkthrough's steps (contributes.walkthroughs), each completed by the context key
 * `tldStudio.walkthrough.<step>`, set only where the step's work succeeded.
 */
export type WalkthroughStep = 'doctor' | 'demo' | 'inspect' | 'setValue' | 'vmRun' | 'stats';

const WALKTHROUGH_STEPS: readonly WalkthroughStep[] = ['doctor', 'demo', 'inspect', 'setValue', 'vmRun', 'stats'];
const isWalkthroughStep = (s: string): s is WalkthroughStep => (WALKTHROUGH_STEPS as readonly string[]).includes(s);
/** globalState key of the walkthrough steps done, kept across sessions. */
const STEPS_DONE = 'walkthrough.done';
/** contributes.walkthroughs[0].id in package.json. */
const WALKTHROUGH_ID = `${PREFIX}.gettingStarted`;

export interface Settings {
  readonly pinPath: string;
  readonly refreshMs: number;
  readonly keyTypes: Record<string, unknown>;
}

export class Ctx implements vscode.Disposable {
  readonly log: vscode.LogOutputChannel;
  private readonly subscriptions: vscode.Disposable[] = [];
  private client: Promise<TldClient> | undefined;
  /** Clients of running VMs' guests, by VM id (guestRelay.ts). */
  private readonly guestClients = new Map<number, { readonly client: Promise<TldClient>; ready?: TldClient }>();
  private readonly status: vscode.StatusBarItem;
  private inspected: string | undefined;

  private constructor(readonly extension: vscode.ExtensionContext) {
    this.log = vscode.window.createOutputChannel('TLD Studio', { log: true });
    this.status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 10);
    this.status.command = `${PREFIX}.doctor`;
    this.push(this.log, this.status, this.vmChanged, vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${PREFIX}.pinPath`)) this.resetClient();
    }));
    this.setStatus('idle');
    this.status.show();
  }

  static async create(extension: vscode.ExtensionContext): Promise<Ctx> {
    const ctx = new Ctx(extension);
    extension.subscriptions.push(ctx);
    await ctx.restoreSteps();
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
      this.client = TldClient.create({ pinPath, onWritten: () => this.stepDone('setValue') }).then(
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

  /** Types found in each process's debug information (and the workspace's BPF objects), by pid and its key set. */
  private readonly foundTypes = new Map<number | string, { keys: string; types: Map<string, ValueType> }>();

  /**
   * The types of @snap's keys: found without configuration in the debug information of the
   * process and of the workspace's BPF objects that read them, under tldStudio.keyTypes (which wins).
   */
  async keyTypes(snap: { readonly pid: number; readonly keys: readonly KeyInfo[] }, vm?: number): Promise<Map<string, ValueType>> {
    const keys = JSON.stringify(snap.keys.map((k) => [k.name, k.size]));
    // A guest's pid names another process here: its binary is not read, only the workspace's objects.
    const slot = vm === undefined ? snap.pid : `vm${vm}:${snap.pid}`;
    let found = this.foundTypes.get(slot);
    if (!found || found.keys !== keys) {
      const types = new Map<string, ValueType>();
      const wanted = snap.keys;
      if (wanted.length) {
        const objects = (await vscode.workspace.findFiles('**/*.bpf.o', '**/node_modules/**', 50)).map((u) => u.fsPath);
        for (const binary of [...(vm === undefined ? processBinaries(snap.pid) : []), ...objects]) {
          for (const [k, t] of binaryKeyTypes(binary, wanted)) if (!types.has(k)) types.set(k, t);
          if (types.size === wanted.length) break;
        }
        if (types.size) this.log.info(`types of process ${snap.pid} from debug information: ${[...types].map(([k, t]) => `${k}: ${t.kind === 'struct' ? `struct ${t.name}` : t.kind}`).join(', ')}`);
      }
      found = { keys, types };
      if (this.foundTypes.size > 64) this.foundTypes.clear();
      this.foundTypes.set(slot, found);
    }
    const configured = parseTypes(this.settings.keyTypes);
    return new Map([...found.types, ...configured]);
  }

  /**
   * A client of the guest of running VM @vm (the pid of its vm run), through its relay: the
   * guest's own helper host. Dropped when it fails, so the next call reconnects or says why.
   */
  getGuestClient(vm: number): Promise<TldClient> {
    const known = this.guestClients.get(vm);
    if (known && !known.ready?.closed) return known.client;
    const entry: { client: Promise<TldClient>; ready?: TldClient } = {
      client: import('./vm/guestRelay').then(({ pickVm }) =>
        TldClient.create({ pinPath: this.settings.pinPath, guestSocket: pickVm(vm).socket, guestName: `the guest of VM ${vm}` })),
    };
    entry.client.then((c) => (entry.ready = c), () => this.guestClients.delete(vm));
    this.guestClients.set(vm, entry);
    return entry.client;
  }

  private readonly done = new Set<WalkthroughStep>();

  /**
   * Marks a walkthrough step as done (its context key), once, and remembers it: a step done
   * before the walkthrough opens, or in an earlier session, shows as done.
   */
  stepDone(step: WalkthroughStep): void {
    if (this.done.has(step)) return;
    this.done.add(step);
    this.log.info(`walkthrough: ${step} done`);
    void vscode.commands.executeCommand('setContext', `${PREFIX}.walkthrough.${step}`, true);
    void this.markStep(step);
    void this.extension.globalState.update(STEPS_DONE, [...this.done]);
  }

  /**
   * Checks @step in the walkthrough itself. VS Code's walkthrough service starts only when a
   * walkthrough first opens and takes a completion context key that is already true then as
   * seen but never checks its step: a step done before would stay unchecked. Its own
   * "mark step complete" command starts the service and checks the step whenever it is run.
   */
  private async markStep(step: WalkthroughStep): Promise<void> {
    const id = `${this.extension.extension.id}#${WALKTHROUGH_ID}#${step}`;
    try {
      await vscode.commands.executeCommand('welcome.markStepComplete', id);
    } catch (e) {
      // An editor without the command: the context key still checks the step while the walkthrough is open.
      this.log.debug(`walkthrough: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The steps done in earlier sessions, set again as context keys at activation. */
  private async restoreSteps(): Promise<void> {
    const saved = this.extension.globalState.get<unknown>(STEPS_DONE);
    if (!Array.isArray(saved)) return;
    for (const step of saved) {
      if (typeof step !== 'string' || !isWalkthroughStep(step) || this.done.has(step)) continue;
      this.done.add(step);
      await vscode.commands.executeCommand('setContext', `${PREFIX}.walkthrough.${step}`, true);
      await this.markStep(step);
    }
  }

  private readonly vmChanged = new vscode.EventEmitter<void>();
  /** The guest started, changed step or ended; a kernel is being fetched or was. */
  readonly onDidChangeVm = this.vmChanged.event;
  private running: GuestRun | undefined;
  private outcome: GuestOutcome | undefined;
  private fetching: string | undefined;
  private work: 'download' | 'build' = 'download';

  /** The Run Scheduler in VM under way, if any. */
  get guest(): GuestRun | undefined {
    return this.running;
  }

  /** How the last run ended. */
  get lastRun(): GuestOutcome | undefined {
    return this.outcome;
  }

  /** What the kernel fetch under way is doing, if one is. */
  get kernelFetch(): string | undefined {
    return this.fetching;
  }

  /** Whether the kernel work under way is a build (Build Minimal sched_ext Kernel) or a download. */
  get kernelWork(): 'download' | 'build' {
    return this.work;
  }

  setKernelFetch(message: string | undefined, work: 'download' | 'build' = 'download'): void {
    this.fetching = message;
    this.work = work;
    this.vmChanged.fire();
  }

  /** A new guest run of @scheduler by @loader; throws when one runs already (one guest at a time). */
  startGuest(scheduler: string, loader: GuestLoader): GuestRun {
    if (this.running) throw new Error(`the guest is running ${this.running.scheduler} already: stop it first (Stop Guest in the VM view)`);
    const run = new GuestRun(scheduler, loader, () => this.vmChanged.fire());
    this.running = run;
    void vscode.commands.executeCommand('setContext', `${PREFIX}.guestRunning`, true);
    this.vmChanged.fire();
    return run;
  }

  endGuest(run: GuestRun, outcome: GuestOutcome): void {
    if (this.running === run) this.running = undefined;
    this.outcome = outcome;
    void vscode.commands.executeCommand('setContext', `${PREFIX}.guestRunning`, false);
    this.vmChanged.fire();
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
    for (const c of this.guestClients.values()) void c.client.then((g) => g.dispose(), () => undefined);
    this.guestClients.clear();
    this.setStatus('idle');
  }

  dispose(): void {
    this.running?.stop();
    this.resetClient();
    for (const d of this.subscriptions.splice(0).reverse()) d.dispose();
  }
}
