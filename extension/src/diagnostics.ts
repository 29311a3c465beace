// Compile, check and verifier problems in the Problems panel, at their source lines.
import * as vscode from 'vscode';

import { Diagnostic } from './client/compiler';

const severity: Record<Diagnostic['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  note: vscode.DiagnosticSeverity.Information,
};

/** Replaces the problems of @source's build with @diagnostics. */
export function publish(collection: vscode.DiagnosticCollection, source: vscode.Uri, diagnostics: readonly Diagnostic[]): void {
  const byFile = new Map<string, vscode.Diagnostic[]>([[source.fsPath, []]]);
  for (const d of diagnostics) {
    const line = Math.max(0, d.line - 1);
    const range = new vscode.Range(line, Math.max(0, d.column - 1), line, Number.MAX_SAFE_INTEGER);
    const diag = new vscode.Diagnostic(range, d.message, severity[d.severity]);
    diag.source = `tld ${d.source}`;
    if (d.related?.length) {
      diag.relatedInformation = d.related.map((r) => {
        const at = new vscode.Position(Math.max(0, r.line - 1), Math.max(0, r.column - 1));
        return new vscode.DiagnosticRelatedInformation(new vscode.Location(vscode.Uri.file(r.file), at), r.message);
      });
    }
    const list = byFile.get(d.file) ?? [];
    list.push(diag);
    byFile.set(d.file, list);
  }
  for (const [file, list] of byFile) collection.set(vscode.Uri.file(file), list);
}
