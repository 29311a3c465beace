// Activation: the flat list of everything TLD Studio registers.
import * as vscode from 'vscode';

import { BpfCodeLenses } from './codeLenses';
import * as commands from './commands';
import { Ctx, PREFIX } from './ctx';
import { DemoProcess } from './demo';
import { KeyChecks } from './keyChecks';
import { KeysView } from './views/keysView';
import { ProcessesView } from './views/processesView';
import { VmRunPanel } from './views/vmRunPanel';
import { ProgramsView } from './views/programsView';
import { VmView } from './views/vmView';

export async function activate(extension: vscode.ExtensionContext): Promise<void> {
  // The helper library, BPF headers and templates ship inside the extension.
  process.env.TLD_STUDIO_ROOT ||= extension.extensionPath;
  const ctx = await Ctx.create(extension);
  const processes = new ProcessesView(ctx);
  const keys = new KeysView(ctx);
  const programs = new ProgramsView(ctx);
  const vm = new VmView(ctx);
  const vmTree = vscode.window.createTreeView(`${PREFIX}.vm`, { treeDataProvider: vm });
  const processTree = vscode.window.createTreeView(`${PREFIX}.processes`, { treeDataProvider: processes });
  // Views poll only while visible: a hidden view costs no helper calls.
  processes.setVisible(processTree.visible);
  vm.setVisible(vmTree.visible);
  const demo = new DemoProcess(ctx);
  const problems = vscode.languages.createDiagnosticCollection('tld');
  ctx.push(
    processes, keys, programs, vm, vmTree, processTree, demo, problems,
    processTree.onDidChangeVisibility((e) => processes.setVisible(e.visible)),
    vmTree.onDidChangeVisibility((e) => vm.setVisible(e.visible)),
    vscode.window.registerTreeDataProvider(`${PREFIX}.keys`, keys),
    vscode.window.registerTreeDataProvider(`${PREFIX}.programs`, programs),
    new KeyChecks(ctx),
    vscode.languages.registerCodeLensProvider({ pattern: '**/*.bpf.c' }, new BpfCodeLenses()),
    vmTree.onDidExpandElement((e) => vm.expanded(e.element)),
  );
  const refreshPrograms = () => programs.refresh();
  ctx.registerCommand('refresh', () => (processes.refresh(), programs.refresh()));
  ctx.registerCommand('selectProcess', (pid) => typeof pid === 'number' && keys.select(pid));
  ctx.registerCommand('inspectProcess', commands.inspectProcess(ctx));
  ctx.registerCommand('exportTrace', commands.exportProcessTrace(ctx));
  ctx.registerCommand('attachProcess', commands.attachProcess(ctx));
  ctx.registerCommand('compileFile', commands.compileFile(ctx, problems));
  ctx.registerCommand('loadFile', commands.loadFile(ctx, problems, refreshPrograms));
  ctx.registerCommand('unloadProgram', commands.unloadProgram(ctx, refreshPrograms));
  ctx.registerCommand('runInVm', commands.runSchedulerInVm(ctx, problems));
  ctx.registerCommand('stopGuest', commands.stopGuest(ctx));
  ctx.registerCommand('showVmRun', () => VmRunPanel.createOrShow(ctx));
  ctx.registerCommand('getKernel', commands.getKernel(ctx));
  ctx.registerCommand('buildKernel', commands.buildKernel(ctx));
  ctx.registerCommand('startDemo', commands.startDemo(ctx, demo, () => processes.refresh()));
  ctx.registerCommand('newScheduler', commands.newScheduler(ctx));
  ctx.registerCommand('doctor', commands.runDoctor(ctx));
  ctx.registerCommand('newHintLookupProgram', commands.newHintLookupProgram(ctx));
  ctx.log.info('TLD Studio activated');
}

export function deactivate(): void {
  // Everything is disposed through the extension context's subscriptions.
}
