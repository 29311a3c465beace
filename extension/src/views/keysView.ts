// The Keys view: the keys of the selected process, with offset, size and decoded type.
import * as vscode from 'vscode';

import { printable } from '../client/printable';
import { KeyInfo } from '../client/snapshot';
import { ValueType, defaultType } from '../client/values';
import { Ctx } from '../ctx';
import { typeLabel } from '../inspector/views';

export function typeName(size: number): string {
  const t = defaultType(size);
  return t.kind === 'int' ? `${t.signed ? 'i' : 'u'}${t.size * 8}` : `${size} bytes (hex)`;
}

export class KeysView implements vscode.TreeDataProvider<KeyInfo>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private pid: number | undefined;
  /** The keys' types as the inspector decodes them (found in debug information, or configured). */
  private types = new Map<string, ValueType>();

  constructor(private readonly ctx: Ctx) {}

  select(pid: number): void {
    this.pid = pid;
    this.changed.fire();
  }

  getTreeItem(k: KeyInfo): vscode.TreeItem {
    const item = new vscode.TreeItem(printable(k.name));
    const t = this.types.get(k.name);
    item.description = `${t && t.size === k.size ? typeLabel(t) : typeName(k.size)} · offset ${k.offset}`;
    item.tooltip = `${printable(k.name)}: ${k.size} bytes at offset ${k.offset} of each thread's data area`;
    item.iconPath = new vscode.ThemeIcon('symbol-field');
    return item;
  }

  async getChildren(): Promise<KeyInfo[]> {
    if (this.pid === undefined) return [];
    try {
      const snap = await (await this.ctx.getClient()).snapshot(this.pid);
      this.types = await this.ctx.keyTypes(snap).catch(() => new Map<string, ValueType>());
      return [...snap.keys];
    } catch (e) {
      this.ctx.log.warn(`keys of ${this.pid}: ${e instanceof Error ? e.message : String(e)}`);
      return [];
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}
