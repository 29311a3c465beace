// Code lenses above BPF programs: Compile and Load, on the first SEC() of a .bpf.c file.
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
      new vscode.CodeLens(range, { title: isScheduler ? 'Load scheduler' : 'Load and attach', command: `${PREFIX}.loadFile`, arguments: [doc.uri] }),
    ];
  }
}
