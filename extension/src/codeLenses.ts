// Code lenses above BPF programs, on the first SEC() of a .bpf.c file: Compile, and Load and
// attach, or for a sched_ext scheduler (this host may lack sched_ext) Run in VM.
import * as vscode from 'vscode';

import { PREFIX } from './ctx';

export class BpfCodeLenses implements vscode.CodeLensProvider {
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!doc.fileName.endsWith('.bpf.c')) return [];
    const text = doc.getText();
    const at = text.search(/^\s*SEC\("/m);
    if (at < 0) return [];
    const range = new vscode.Range(doc.positionAt(at), doc.positionAt(at));
    const isScheduler = /SEC\("\.?struct_ops/.test(text) && /sched_ext_ops/.test(text);
    return [
      new vscode.CodeLens(range, { title: 'Compile', command: `${PREFIX}.compileFile`, arguments: [doc.uri] }),
      isScheduler
        ? new vscode.CodeLens(range, { title: 'Run in VM', command: `${PREFIX}.runInVm`, arguments: [doc.uri] })
        : new vscode.CodeLens(range, { title: 'Load and attach', command: `${PREFIX}.loadFile`, arguments: [doc.uri] }),
    ];
  }
}
