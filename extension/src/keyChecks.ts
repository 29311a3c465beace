// Static checks of task local data use in the workspace's C and C++ sources, as diagnostics,
// kept current as files open, change and save; and hovers on key names.
import * as vscode from 'vscode';

import { KeyUse, checkKeys, scanSource } from './analysis/keyScan';
import { printable } from './client/printable';
import { Ctx } from './ctx';
import { keyValueLines } from './inspector/views';

const SELECTOR: vscode.DocumentSelector = [{ language: 'c' }, { language: 'cpp' }];
const GLOB = '**/*.{c,h,cc,cpp,hpp}';

export class KeyChecks implements vscode.Disposable, vscode.HoverProvider {
  private readonly collection = vscode.languages.createDiagnosticCollection('tld-keys');
  private readonly uses = new Map<string, KeyUse[]>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    const watcher = vscode.workspace.createFileSystemWatcher(GLOB);
    this.disposables.push(
      this.collection,
      watcher,
      watcher.onDidCreate((u) => void this.scanFile(u)),
      watcher.onDidChange((u) => void this.scanFile(u)),
      watcher.onDidDelete((u) => (this.uses.delete(u.fsPath), this.publish())),
      vscode.workspace.onDidChangeTextDocument((e) => this.scanText(e.document)),
      vscode.languages.registerHoverProvider(SELECTOR, this),
    );
    void this.scanWorkspace();
  }

  private async scanWorkspace(): Promise<void> {
    for (const uri of await vscode.workspace.findFiles(GLOB, '**/node_modules/**', 2000)) await this.scanFile(uri, false);
    this.publish();
  }

  private async scanFile(uri: vscode.Uri, publish = true): Promise<void> {
    try {
      const text = Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
      this.uses.set(uri.fsPath, scanSource(uri.fsPath, text));
    } catch {
      this.uses.delete(uri.fsPath);
    }
    if (publish) this.publish();
  }

  private scanText(doc: vscode.TextDocument): void {
    if (!/\.(c|h|cc|cpp|hpp)$/.test(doc.fileName)) return;
    this.uses.set(doc.fileName, scanSource(doc.fileName, doc.getText()));
    this.publish();
  }

  private publish(): void {
    const byFile = new Map<string, vscode.Diagnostic[]>([...this.uses.keys()].map((f) => [f, []]));
    for (const p of checkKeys([...this.uses.values()].flat())) {
      const start = new vscode.Position(p.use.line - 1, p.use.column - 1);
      const d = new vscode.Diagnostic(new vscode.Range(start, start.translate(0, p.use.name.length + 2)), p.message, vscode.DiagnosticSeverity.Warning);
      d.source = 'tld keys';
      byFile.get(p.use.file)?.push(d);
    }
    for (const [file, list] of byFile) this.collection.set(vscode.Uri.file(file), list);
  }

  /** On a key name: where it is defined, its size and offset, and its values in the inspected process. */
  async provideHover(doc: vscode.TextDocument, pos: vscode.Position): Promise<vscode.Hover | undefined> {
    const use = (this.uses.get(doc.fileName) ?? scanSource(doc.fileName, doc.getText())).find(
      (u) => u.line - 1 === pos.line && pos.character >= u.column - 1 && pos.character <= u.column + u.name.length,
    );
    if (!use) return undefined;
    const md = new vscode.MarkdownString(`**task local data key** \`${use.name}\``);
    const defs = [...this.uses.values()].flat().filter((u) => u.name === use.name && u.kind !== 'lookup');
    for (const d of defs.slice(0, 5)) md.appendMarkdown(`\n\n${d.kind} in ${vscode.workspace.asRelativePath(d.file)}:${d.line}${d.size !== undefined ? `, ${d.size} bytes` : ''}`);
    const pid = this.ctx.inspectedPid;
    if (pid !== undefined) {
      try {
        const snap = await (await this.ctx.getClient()).snapshot(pid);
        const key = snap.keys.find((k) => k.name === use.name);
        if (key) {
          md.appendMarkdown(`\n\nIn process ${pid} (${snap.comm}): offset ${key.offset}, ${key.size} bytes`);
          // Decoded by the same types as the inspector's table, not raw bytes.
          const values = keyValueLines(snap, key.name, await this.ctx.keyTypes(snap));
          if (values.length) md.appendMarkdown(`\n\n${values.map((v) => printable(v)).join('  \n')}`);
        }
      } catch (e) {
        this.ctx.log.debug(`hover: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return new vscode.Hover(md);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
