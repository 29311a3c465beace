// Code lenses above BPF programs, on the line of the first SEC() of a .bpf.c file: Compile, and
// Load and attach, or for a sched_ext scheduler (this host may lack sched_ext) Run in VM.
import * as vscode from 'vscode';

import { firstSecLine, isSchedExtScheduler } from './analysis/bpfSections';
import { PREFIX } from './ctx';

export class BpfCodeLenses implements vscode.CodeLensProvider {
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    if (!doc.fileName.endsWith('.bpf.c')) return [];
    const text = doc.getText();
    const line = firstSecLine(text);
    if (line === undefined) return [];
    const range = new vscode.Range(line, 0, line, 0);
    return [
      new vscode.CodeLens(range, { title: 'Compile', command: `${PREFIX}.compileFile`, arguments: [doc.uri] }),
      isSchedExtScheduler(text)
        ? new vscode.CodeLens(range, { title: 'Run in VM', command: `${PREFIX}.runInVm`, arguments: [doc.uri] })
        : new vscode.CodeLens(range, { title: 'Load and attach', command: `${PREFIX}.loadFile`, arguments: [doc.uri] }),
    ];
  }
}
