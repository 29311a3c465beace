// The commands, each a factory over the Ctx: activation registers them by name.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';

import { doctor } from './client/client';
import { keySpec } from './cli/args';
import { compileAndCheck } from './client/loader';
import { nativeObjectCheck } from './client/nativeHelper';
import { cacheDir, studioRoot } from './client/paths';
import { Ctx } from './ctx';
import { publish } from './diagnostics';
import { HintInspector } from './inspector/hintInspector';
import { ProcessItem } from './views/processesView';
import { ProgramItem } from './views/programsView';

export type Cmd = (...args: unknown[]) => unknown;

async function pickProcess(ctx: Ctx, arg: unknown): Promise<number | undefined> {
  if (arg instanceof ProcessItem) return arg.process.pid;
  if (typeof arg === 'number') return arg;
  const list = await (await ctx.getClient()).processes();
  if (list.length === 0) {
    void vscode.window.showInformationMessage('No process uses task local data right now (try running tld-demo).');
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    list.map((p) => ({ label: `${p.comm} (${p.pid})`, description: `${p.threads} threads, ${p.keys} keys`, pid: p.pid })),
    { placeHolder: 'Process to inspect' },
  );
  return pick?.pid;
}

export const inspectProcess = (ctx: Ctx): Cmd => async (arg) => {
  const pid = await pickProcess(ctx, arg);
  if (pid !== undefined) HintInspector.createOrShow(ctx, pid);
};

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
    () => compileAndCheck({ objectCheck: async (o) => nativeObjectCheck(o) }, uri.fsPath));
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
    () => client.load(uri.fsPath, true));
  publish(problems, uri, outcome.diagnostics);
  if (outcome.load?.log) ctx.log.info(`verifier log of ${outcome.load.object}:\n${outcome.load.log}`);
  if (outcome.load?.ok) {
    void vscode.window.showInformationMessage(`Loaded ${outcome.load.object}: programs ${outcome.load.progIds.join(', ')}, ${outcome.load.attached} attached.`);
    refresh();
  } else if (outcome.verifier) {
    void vscode.window.showErrorMessage(`The verifier rejected ${outcome.load?.failedProgram}: ${outcome.verifier.summary}`, 'Show Log').then((a) => {
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
  const keys = keysText.split(/\s+/).filter(Boolean).map(keySpec);
  await (await ctx.getClient()).attach(Number(pidText), keys);
  void vscode.window.showInformationMessage(`Attached ${keys.length} key(s) to process ${pidText} while VS Code runs; inspect it to set values.`);
};

export const runDoctor = (ctx: Ctx): Cmd => async () => {
  const checks = doctor(ctx.settings.pinPath);
  ctx.log.info('doctor:');
  for (const c of checks) ctx.log.info(`${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}${!c.ok && c.fix ? ` (fix: ${c.fix})` : ''}`);
  ctx.log.show(true);
  const failed = checks.filter((c) => !c.ok);
  void (failed.length
    ? vscode.window.showWarningMessage(`TLD Studio Doctor: ${failed.map((c) => `${c.name}: ${c.fix ?? c.detail}`).join('; ')}`)
    : vscode.window.showInformationMessage('TLD Studio Doctor: everything needed works.'));
};

export const newHintLookupProgram = (ctx: Ctx): Cmd => async () => {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (!folder) throw new Error('open a folder first: the program is created in it');
  const template = path.join(studioRoot(), 'bpf', 'templates', 'hint_sampler.bpf.c');
  const name = await vscode.window.showInputBox({ prompt: 'File name of the new hint lookup program', value: 'hint_sampler.bpf.c' });
  if (!name) return;
  const target = vscode.Uri.joinPath(folder, name);
  if (fs.existsSync(target.fsPath)) throw new Error(`${name} exists already`);
  await vscode.workspace.fs.writeFile(target, fs.readFileSync(template));
  await vscode.window.showTextDocument(target);
  ctx.log.info(`created ${target.fsPath} from the hint sampler template`);
};

export const runSchedulerInVm = (ctx: Ctx, problems: vscode.DiagnosticCollection): Cmd => async (arg) => {
  const uri = activeBpfFile(arg);
  if (!uri || !uri.fsPath.endsWith('.bpf.c')) throw new Error('open a sched_ext scheduler (NAME.bpf.c) first');
  await vscode.workspace.saveAll(false);
  const { ensureKernel } = await import('./vm/kernel');
  const { guestWorkload, runScheduler } = await import('./vm/run');
  const out = ctx.vmOutput();
  out.show(true);
  const seconds = 5;
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Running ${path.basename(uri.fsPath)} in a sched_ext VM`, cancellable: false },
    async (progress) => {
      const kernel = await ensureKernel({ cacheDir: cacheDir(), onProgress: (p) => progress.report({ message: p.message }) });
      progress.report({ message: `booting ${kernel.version}` });
      return runScheduler({
        kernel,
        scheduler: uri.fsPath,
        nativeBuild: path.join(studioRoot(), 'native', 'build'),
        ...guestWorkload(path.join(studioRoot(), 'native', 'build'), seconds),
        seconds,
        timeoutMs: (seconds + 60) * 1000,
        onConsole: (line) => out.appendLine(line),
        onStep: (message) => progress.report({ message }),
      });
    },
  );
  publish(problems, uri, result.diagnostics);
  const how = result.exitCode === 0 ? 'stayed enabled' : result.exitCode === 2 ? 'was disabled by the kernel (see the VM output)' : 'did not load or enable (see Problems and the VM output)';
  const message = `${path.basename(uri.fsPath)} ${how}${result.boot ? ` (${result.boot.accel})` : ''}.`;
  void (result.exitCode === 0 ? vscode.window.showInformationMessage(message) : vscode.window.showErrorMessage(message));
};
