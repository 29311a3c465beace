// The commands, each a factory over the Ctx: activation registers them by name.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { doctor, doctorMark } from './client/doctor';
import { CompileOptions } from './client/compiler';
import { compileAndCheck } from './client/loader';
import { printable } from './client/printable';
import { nativeObjectCheck } from './client/nativeHelper';
import { cacheDir, studioRoot } from './client/paths';
import { parseKeySpec } from './client/protocol';
import { Ctx } from './ctx';
import { publish } from './diagnostics';
import { HintInspector } from './inspector/hintInspector';
import { exportTrace } from './inspector/traceExport';
import { DemoProcess } from './demo';
import { GuestLoader, GuestResult, loaderWords, resultWords } from './guest';
import type { KernelChoice } from './vm/kernel';
import { describeKernel } from './vm/kernelInfo';
import { SchedulerBuildOptions } from './vm/scheduler';
import { shellQuote } from './vm/exec';
import { renameScheduler, schedulerFileName, schedulerNameProblem } from './schedulerTemplate';
import { newFileFolder } from './userFolder';
import { ProcessItem } from './views/processesView';
import { ProgramItem } from './views/programsView';

export type Cmd = (...args: unknown[]) => unknown;

async function pickProcess(ctx: Ctx, arg: unknown): Promise<number | undefined> {
  if (arg instanceof ProcessItem) return arg.process.pid;
  if (typeof arg === 'number') return arg;
  return pickHostProcess(ctx);
}

async function pickHostProcess(ctx: Ctx): Promise<number | undefined> {
  const list = await (await ctx.getClient()).processes();
  if (list.length === 0) {
    void vscode.window.showInformationMessage('No process uses task local data right now (try running tld-demo).');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    list.map((p) => ({ label: `${printable(p.comm)} (${p.pid})`, description: `${p.threads} threads, ${p.keys} keys`, pid: p.pid })),
    // Kept open when focus moves: the walkthrough's button gives focus back to its page.
    { placeHolder: 'Process to inspect', ignoreFocusOut: true },
  );
  return pick?.pid;
}

/** Export Trace: the process given (a Processes item), else the inspected one, else one picked. */
export const exportProcessTrace = (ctx: Ctx): Cmd => async (arg) => {
  const pid = arg === undefined && ctx.inspectedPid !== undefined ? ctx.inspectedPid : await pickProcess(ctx, arg);
  if (pid !== undefined) await exportTrace(ctx, pid);
};

export const inspectProcess = (ctx: Ctx): Cmd => async (arg) => {
  // A guest's process (Processes view, under its VM), or { pid, vm } from a test or a link.
  const guest = arg instanceof ProcessItem && arg.vm !== undefined ? { pid: arg.process.pid, vm: arg.vm } : guestTarget(arg);
  const pid = guest ? guest.pid : await pickProcess(ctx, arg);
  if (pid === undefined) return;
  HintInspector.createOrShow(ctx, pid, guest?.vm);
  ctx.stepDone('inspect');
};

function guestTarget(arg: unknown): { pid: number; vm: number } | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const { pid, vm } = arg as { pid?: unknown; vm?: unknown };
  return Number.isSafeInteger(pid) && Number.isSafeInteger(vm) && (pid as number) > 0 && (vm as number) > 0 ? { pid: pid as number, vm: vm as number } : undefined;
}

/** Starts tld-demo (shipped with the extension) publishing hints, for the inspector and the walkthrough. */
export const startDemo = (ctx: Ctx, demo: DemoProcess, refresh: () => void): Cmd => async () => {
  const running = demo.pid;
  if (running !== undefined) {
    vscode.window.setStatusBarMessage(`tld-demo runs already (pid ${running})`, 5000);
    ctx.stepDone('demo');
    return running;
  }
  const pid = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Starting tld-demo' }, () => demo.start());
  ctx.stepDone('demo');
  vscode.window.setStatusBarMessage(`tld-demo runs (pid ${pid}): inspect it from the Processes view`, 5000);
  refresh();
  return pid;
};

/** The build options of the settings for @uri: tldStudio.bpf.includePath (${workspaceFolder} expanded), tldStudio.bpf.cflags, tldStudio.bpf.kernel. */
async function buildSettings(uri: vscode.Uri): Promise<SchedulerBuildOptions & { kernel?: string }> {
  const { settingsBuildRequest } = await import('./vm/buildOptions');
  const folder = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath;
  const c = vscode.workspace.getConfiguration('tldStudio.bpf', uri);
  return settingsBuildRequest({ includePath: c.get('includePath'), cflags: c.get('cflags'), kernel: c.get('kernel') }, folder ?? path.dirname(uri.fsPath), folder);
}

/** The compile options for @uri: its settings, compile_commands.json, the kernel to build against. */
async function buildOptionsFor(uri: vscode.Uri): Promise<CompileOptions> {
  const { buildOptions } = await import('./vm/buildOptions');
  return buildOptions(uri.fsPath, await buildSettings(uri));
}

function activeBpfFile(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  const doc = vscode.window.activeTextEditor?.document;
  return doc && doc.fileName.endsWith('.c') ? doc.uri : undefined;
}

export const compileFile = (ctx: Ctx, problems: vscode.DiagnosticCollection): Cmd => async (arg) => {
  const uri = activeBpfFile(arg);
  if (!uri) throw new Error('open a BPF C file (.bpf.c) first');
  await vscode.workspace.saveAll(false);
  const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Compiling ${path.basename(uri.fsPath)}` },
    async () => compileAndCheck({ objectCheck: async (o) => nativeObjectCheck(o) }, uri.fsPath, await buildOptionsFor(uri)));
  publish(problems, uri, outcome.diagnostics);
  const errors = outcome.diagnostics.filter((d) => d.severity === 'error').length;
  ctx.log.info(`compiled ${uri.fsPath}: ${errors} error(s)`);
  if (!errors) void vscode.window.showInformationMessage(`Compiled ${path.basename(uri.fsPath)}: no problems.`);
};

export const loadFile = (ctx: Ctx, problems: vscode.DiagnosticCollection, refresh: () => void): Cmd => async (arg) => {
  const uri = activeBpfFile(arg);
  if (!uri) throw new Error('open a BPF C file (.bpf.c) first');
  await vscode.workspace.saveAll(false);
  const client = await ctx.getClient();
  const outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Loading ${path.basename(uri.fsPath)}` },
    async () => client.load(uri.fsPath, true, await buildOptionsFor(uri)));
  publish(problems, uri, outcome.diagnostics);
  if (outcome.load?.log) ctx.log.info(`verifier log of ${outcome.load.object}:\n${outcome.load.log}`);
  if (outcome.load?.ok) {
    void vscode.window.showInformationMessage(`Loaded ${outcome.load.object}: programs ${outcome.load.progIds.join(', ')}, ${outcome.load.attached} attached.`);
    refresh();
  } else if (outcome.verifier) {
    void vscode.window.showErrorMessage(`The verifier rejected ${outcome.verifier.program}: ${outcome.verifier.summary}`, 'Show Log').then((a) => {
      if (a) ctx.log.show();
    });
  }
};

export const unloadProgram = (ctx: Ctx, refresh: () => void): Cmd => async (arg) => {
  const client = await ctx.getClient();
  let id = arg instanceof ProgramItem ? arg.program.id : undefined;
  if (id === undefined) {
    const ours = (await client.programs()).filter((p) => p.ours);
    const pick = await vscode.window.showQuickPick(ours.map((p) => ({ label: `${p.name} #${p.id}`, description: p.type, id: p.id })), { placeHolder: 'Program to unload' });
    id = pick?.id;
  }
  if (id === undefined) return;
  await client.unload(id);
  ctx.log.info(`unloaded the object of program ${id}`);
  refresh();
};

export const attachProcess = (ctx: Ctx): Cmd => async () => {
  const pidText = await vscode.window.showInputBox({ prompt: 'Process id to give hints to (a process without task local data)', validateInput: (v) => (/^\d+$/.test(v) ? undefined : 'a process id') });
  if (!pidText) return;
  const keysText = await vscode.window.showInputBox({ prompt: 'Keys as NAME:SIZE, separated by spaces', value: 'sched.latency_critical:1 sched.weight:4' });
  if (!keysText) return;
  const keys = keysText.split(/\s+/).filter(Boolean).map(parseKeySpec);
  await (await ctx.getClient()).attach(Number(pidText), keys);
  void vscode.window.showInformationMessage(`Attached ${keys.length} key(s) to process ${pidText} while VS Code runs; inspect it to set values.`);
};

export const runDoctor = (ctx: Ctx): Cmd => async () => {
  const checks = doctor(ctx.settings.pinPath);
  ctx.log.info('doctor:');
  for (const c of checks) ctx.log.info(`${doctorMark(c)} ${c.name}: ${printable(c.detail)}${!c.ok && c.fix ? ` (fix: ${printable(c.fix)})` : ''}`);
  ctx.log.show(true);
  const failed = checks.filter((c) => !c.ok);
  ctx.stepDone('doctor');
  void (failed.length
    ? vscode.window.showWarningMessage(`TLD Studio Doctor: ${failed.map((c) => `${c.name}: ${printable(c.fix ?? c.detail)}`).join('; ')}`)
    : vscode.window.showInformationMessage('TLD Studio Doctor: everything needed works.'));
};

export const newHintLookupProgram = (ctx: Ctx): Cmd => async () => {
  const workspace = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (!workspace) throw new Error('open a folder first: the program is created in it');
  const folder = userFolder(ctx, workspace);
  const template = path.join(studioRoot(), 'bpf', 'templates', 'hint_sampler.bpf.c');
  const name = await vscode.window.showInputBox({ prompt: 'File name of the new hint lookup program', value: 'hint_sampler.bpf.c' });
  if (!name) return;
  const target = vscode.Uri.joinPath(folder, name);
  if (fs.existsSync(target.fsPath)) throw new Error(`${name} exists already`);
  await vscode.workspace.fs.writeFile(target, fs.readFileSync(template));
  await vscode.window.showTextDocument(target);
  ctx.log.info(`created ${target.fsPath} from the hint sampler template`);
};

/** The folder a new file goes to: the explorer's folder, else the only (or a picked) workspace folder. */
async function targetFolder(arg: unknown): Promise<vscode.Uri | undefined> {
  if (arg instanceof vscode.Uri) {
    const st = await vscode.workspace.fs.stat(arg);
    return st.type & vscode.FileType.Directory ? arg : vscode.Uri.joinPath(arg, '..');
  }
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) throw new Error('open a folder first: the scheduler is created in it');
  if (folders.length === 1) return folders[0]!.uri;
  return (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Folder of the new scheduler' }))?.uri;
}

/**
 * @wanted, or the user's own folder when @wanted belongs to TLD Studio (its installation or a
 * checkout, whose build must never compile a user's file); says so in the log and the status bar.
 */
function userFolder(ctx: Ctx, wanted: vscode.Uri): vscode.Uri {
  const { folder, insteadOf } = newFileFolder(wanted.fsPath, studioRoot());
  if (insteadOf === undefined) return wanted;
  ctx.log.info(`${wanted.fsPath} belongs to TLD Studio (${insteadOf}): the new file goes to ${folder}`);
  vscode.window.setStatusBarMessage(`New files go to ${folder}, not into TLD Studio's own ${insteadOf}`, 10_000);
  return vscode.Uri.file(folder);
}

/** The example sched_ext scheduler (scx_hints), copied under a new name into a folder and opened. */
export const newScheduler = (ctx: Ctx): Cmd => async (arg) => {
  const wanted = await targetFolder(arg);
  if (!wanted) return;
  const folder = userFolder(ctx, wanted);
  const template = path.join(studioRoot(), 'bpf', 'schedulers', 'scx_hints.bpf.c');
  if (!fs.existsSync(template)) throw new Error(`the example scheduler ${template} is missing from this installation`);
  const taken = (name: string) => fs.existsSync(path.join(folder.fsPath, schedulerFileName(name)));
  const name = await vscode.window.showInputBox({
    prompt: `Name of the new sched_ext scheduler (a C identifier); it becomes NAME.bpf.c in ${folder.fsPath}`,
    value: 'scx_mine',
    validateInput: (v) => schedulerNameProblem(v) ?? (taken(v) ? `${schedulerFileName(v)} exists already in ${folder.fsPath}` : undefined),
  });
  if (name === undefined) return;
  const problem = schedulerNameProblem(name);
  if (problem) throw new Error(problem);
  const target = vscode.Uri.joinPath(folder, schedulerFileName(name));
  const text = renameScheduler(fs.readFileSync(template, 'utf8'), name);
  // 'wx': never overwrite, even a file made after the name was checked.
  try {
    fs.writeFileSync(target.fsPath, text, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new Error(`${target.fsPath} exists already; it was left as it is`);
    throw e;
  }
  await vscode.window.showTextDocument(target);
  ctx.log.info(`created ${target.fsPath} from the example scheduler scx_hints`);
};

/** The scheduler to run: the argument, the active NAME.bpf.c, else one picked from the workspace. */
async function schedulerSource(arg: unknown): Promise<vscode.Uri | undefined> {
  const given = activeBpfFile(arg);
  if (given?.fsPath.endsWith('.bpf.c')) return given;
  if (arg instanceof vscode.Uri) throw new Error(`${arg.fsPath} is not a sched_ext scheduler source (NAME.bpf.c)`);
  const files = await vscode.workspace.findFiles('**/*.bpf.c', '**/node_modules/**', 200);
  if (files.length === 0) throw new Error('no scheduler (NAME.bpf.c) in the workspace: create one with New Scheduler from Template');
  const pick = await vscode.window.showQuickPick(
    files.map((uri) => ({ label: path.basename(uri.fsPath), description: vscode.workspace.asRelativePath(uri), uri })),
    { placeHolder: 'Scheduler to run in the sched_ext VM' },
  );
  return pick?.uri;
}

/** Fetches a sched_ext kernel into the cache (as tldctl vm kernel does), with its progress. */
export const getKernel = (ctx: Ctx): Cmd => async () => {
  if (ctx.kernelFetch !== undefined) throw new Error('a sched_ext kernel is being fetched already');
  const { ensureKernel } = await import('./vm/kernel');
  ctx.setKernelFetch('starting');
  try {
    const kernel = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Getting a sched_ext kernel' },
      (progress) => ensureKernel({
        cacheDir: cacheDir(),
        onProgress: (p) => {
          if (p.step === 'warning') ctx.log.warn(`kernel: ${p.message}`);
          progress.report({ message: p.message });
          ctx.setKernelFetch(p.message);
        },
      }),
    );
    ctx.log.info(`sched_ext kernel ${kernel.version} ${kernel.fromCache ? 'was cached' : 'is cached now'} (${kernel.source}) at ${kernel.bzImage}`);
  } finally {
    ctx.setKernelFetch(undefined);
  }
};

/** Builds the minimal kernel (as tldctl vm kernel --build does), with its progress; cancellable. */
export const buildKernel = (ctx: Ctx): Cmd => async () => {
  if (ctx.kernelFetch !== undefined) throw new Error('a sched_ext kernel is being fetched or built already');
  const { buildMinimalKernel } = await import('./vm/kernelBuild');
  ctx.setKernelFetch('starting', 'build');
  try {
    const built = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Building the minimal sched_ext kernel', cancellable: true },
      (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        let lastPct = 0;
        return buildMinimalKernel({
          cacheDir: cacheDir(),
          signal: abort.signal,
          onProgress: (p) => {
            if (p.step === 'warning') ctx.log.warn(`kernel build: ${p.message}`);
            const { done, total } = p as { done?: number; total?: number };
            const pct = done !== undefined && total ? Math.min(99, Math.floor((100 * done) / total)) : undefined;
            // withProgress adds increments: report the growth since the last report.
            progress.report({ message: p.message, ...(pct !== undefined && pct > lastPct ? { increment: pct - lastPct } : {}) });
            if (pct !== undefined && pct > lastPct) lastPct = pct;
            ctx.setKernelFetch(p.message, 'build');
          },
        });
      },
    );
    ctx.log.info(`minimal kernel ${built.version} ${built.upToDate ? 'was up to date' : `built in ${Math.round(built.buildSeconds)} s`} at ${built.bzImage}`);
    void vscode.window.showInformationMessage(`Minimal kernel ${built.version} is ready: Run Scheduler in VM boots it now.`);
  } finally {
    ctx.setKernelFetch(undefined);
  }
};

/** Stops the guest of Run Scheduler in VM. */
export const stopGuest = (ctx: Ctx): Cmd => () => {
  const run = ctx.guest;
  if (!run) throw new Error('no guest is running');
  ctx.log.info(`stopping the guest running ${run.scheduler}`);
  run.stop();
};

type CommandLoader = Extract<GuestLoader, { kind: 'command' }>;

/** ${workspaceFolder} and ${workspaceFolderBasename} in a setting or task, as VS Code reads them. */
function expandFolderVars(text: string, folder: string | undefined): string {
  if (!folder) return text;
  return text.replace(/\$\{workspaceFolder\}/g, folder).replace(/\$\{workspaceFolderBasename\}/g, path.basename(folder));
}

/**
 * The developer's own ways to run a scheduler in the guest: the tldStudio.vm.command setting
 * (in tldStudio.vm.shareFolder, default the workspace folder), and each shell or process task
 * of tasks.json (in its cwd, default its folder).
 */
async function ownCommands(): Promise<CommandLoader[]> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const cfg = vscode.workspace.getConfiguration('tldStudio.vm');
  const out: CommandLoader[] = [];
  const command = cfg.get<string>('command', '').trim();
  const shareSetting = expandFolderVars(cfg.get<string>('shareFolder', '').trim(), folder);
  const share = shareSetting || folder;
  if (command && share) out.push({ kind: 'command', command: expandFolderVars(command, folder), share, from: { kind: 'setting' } });
  const word = (w: string | vscode.ShellQuotedString): string => (typeof w === 'string' ? w : w.value);
  for (const t of await vscode.tasks.fetchTasks()) {
    if (t.source !== 'Workspace') continue; // tasks.json's own, not the ones extensions detect
    const e = t.execution;
    const taskFolder = typeof t.scope === 'object' ? t.scope.uri.fsPath : folder;
    let line: string | undefined;
    let cwd: string | undefined;
    if (e instanceof vscode.ShellExecution) {
      line = e.commandLine ?? [e.command, ...e.args].filter((w) => w !== undefined).map((w) => word(w)).join(' ');
      cwd = e.options?.cwd;
    } else if (e instanceof vscode.ProcessExecution) {
      line = [e.process, ...e.args].map((a) => shellQuote(a)).join(' ');
      cwd = e.options?.cwd;
    }
    const dir = cwd ? expandFolderVars(cwd, taskFolder) : taskFolder;
    if (line && dir) out.push({ kind: 'command', command: expandFolderVars(line, taskFolder), share: path.resolve(taskFolder ?? '/', dir), from: { kind: 'task', label: t.name } });
  }
  return out;
}

type VmRunChoice = { readonly kind: 'generic'; readonly uri: vscode.Uri } | CommandLoader;

/**
 * How to run: a scheduler source given (code lens, Explorer) runs with the generic loader;
 * else, when the developer has a command of their own (setting or tasks.json), they choose
 * between it and the generic loader on the active (or a picked) NAME.bpf.c.
 */
async function vmRunChoice(arg: unknown): Promise<VmRunChoice | undefined> {
  const generic = async (): Promise<VmRunChoice | undefined> => {
    const uri = await schedulerSource(arg);
    return uri ? { kind: 'generic', uri } : undefined;
  };
  if (arg instanceof vscode.Uri) return generic();
  const own = await ownCommands();
  if (own.length === 0) return generic();
  const active = activeBpfFile(arg);
  const genericLabel = active?.fsPath.endsWith('.bpf.c') ? `Generic loader on ${path.basename(active.fsPath)}` : 'Generic loader on a scheduler of the workspace…';
  const pick = await vscode.window.showQuickPick<vscode.QuickPickItem & { choice?: CommandLoader }>(
    [
      { label: `$(file-code) ${genericLabel}`, description: 'tld-scx-run builds and loads it in the guest' },
      ...own.map((c) => ({
        label: c.from.kind === 'task' ? `$(tasklist) Task: ${c.from.label}` : '$(terminal) Your command (tldStudio.vm.command)',
        description: c.command,
        detail: `runs as root in the guest, in ${c.share} (shared at the same path)`,
        choice: c,
      })),
    ],
    { placeHolder: 'Load the scheduler in the sched_ext VM with…' },
  );
  if (!pick) return undefined;
  return pick.choice ?? generic();
}

/** A short name of a command's run for the VM view: its first word. */
function commandName(command: string): string {
  return command.trim().split(/\s+/)[0] ?? command;
}

export const runSchedulerInVm = (ctx: Ctx, problems: vscode.DiagnosticCollection): Cmd => async (arg) => {
  const choice = await vmRunChoice(arg);
  if (!choice) return;
  await vscode.workspace.saveAll(false);
  const { ensureKernel } = await import('./vm/kernel');
  const { ENABLE_WAIT_S } = await import('./vm/judge');
  const { checkResources, checkShare, guestWorkload, runCommand, runScheduler, verdictOf } = await import('./vm/run');
  const cfg = vscode.workspace.getConfiguration('tldStudio.vm');
  const cpus = cfg.get<number>('cpus', 2);
  const memoryMb = cfg.get<number>('memoryMb', 1024);
  checkResources(cpus, memoryMb);
  const loader: GuestLoader = choice.kind === 'generic' ? { kind: 'generic' } : { ...choice, share: checkShare(choice.share) };
  const scheduler = choice.kind === 'generic' ? choice.uri : undefined;
  const name = loader.kind === 'command' ? commandName(loader.command) : path.basename(scheduler?.fsPath ?? '');
  const run = ctx.startGuest(name, loader);
  const out = ctx.vmOutput();
  out.show(true);
  if (loader.kind === 'command') out.appendLine(`[tld-vm] ${loaderWords(loader)} (as root in the guest, in ${loader.share})`);
  const seconds = cfg.get<number>('seconds', 30);
  const nativeBuild = path.join(studioRoot(), 'native', 'build');
  let result: Awaited<ReturnType<typeof runScheduler>>;
  try {
    result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Running ${name} in a sched_ext VM`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => run.stop());
        const step = (message: string): void => {
          progress.report({ message });
          if (!run.stopRequested) run.setStep(message);
        };
        // auto leaves the choice to ensureKernel: TLD_VM_KERNEL when set, else the minimal kernel when built.
        const choice = cfg.get<KernelChoice>('kernel', 'auto');
        const kernel = await ensureKernel({ cacheDir: cacheDir(), ...(choice !== 'auto' ? { choice } : {}), onProgress: (p) => step(p.message) });
        step(`booting ${describeKernel(kernel)}`);
        const common = {
          kernel,
          ...guestWorkload(nativeBuild, seconds),
          seconds,
          cpus,
          memoryMb,
          onConsole: (line: string) => out.appendLine(line),
          onStep: step,
          signal: run.signal,
          // The guest's processes show in the Processes view under the VM while it runs.
          inspect: { studioRoot: studioRoot(), cacheDir: cacheDir() },
        };
        if (loader.kind === 'command') return runCommand({ ...common, command: loader.command, share: loader.share, timeoutMs: (seconds + 120 + ENABLE_WAIT_S) * 1000 });
        if (!scheduler) throw new Error('no scheduler source to run');
        const { kernel: _guestKernel, ...build } = await buildSettings(scheduler);
        return runScheduler({ ...common, scheduler: scheduler.fsPath, build, nativeBuild, timeoutMs: (seconds + 120) * 1000 });
      },
    );
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    ctx.endGuest(run, { scheduler: name, loader, result: run.stopRequested ? 'stopped' : 'failed', message, startedAt: run.startedAt, endedAt: Date.now() });
    if (run.stopRequested) return;
    throw e;
  }
  if (scheduler) publish(problems, scheduler, result.diagnostics);
  const outcome: GuestResult = run.stopRequested ? 'stopped' : verdictOf(result);
  const where: Record<GuestResult, string> = {
    enabled: '',
    disabled: ' (see the VM output)',
    failed: loader.kind === 'command' ? ' (see the VM output)' : ' (see Problems and the VM output)',
    stopped: '',
  };
  const what = loader.kind === 'command' && result.message && outcome !== 'stopped' ? `${name}: ${result.message}` : `${name} ${resultWords(outcome)}`;
  const message = `${what}${where[outcome]}${result.boot ? ` (${result.boot.accel})` : ''}.`;
  ctx.endGuest(run, {
    scheduler: name,
    loader,
    result: outcome,
    message,
    startedAt: run.startedAt,
    endedAt: Date.now(),
    ...(result.boot ? { accel: result.boot.accel } : {}),
    ...(result.outcome.stats ? { stats: result.outcome.stats } : {}),
  });
  ctx.log.info(message);
  if (outcome === 'enabled' && result.outcome.enabled) ctx.stepDone('vmRun');
  if (outcome === 'disabled' || outcome === 'failed') void vscode.window.showErrorMessage(message);
};
