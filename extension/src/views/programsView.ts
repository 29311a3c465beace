// The Loaded BPF programs view: every program, marking those TLD Studio loaded (unloadable).
import * as vscode from 'vscode';

import { LoadedProgram } from '../client/protocol';
import { Ctx } from '../ctx';

export class ProgramItem extends vscode.TreeItem {
  constructor(readonly program: LoadedProgram) {
    super(`${program.name || '(no name)'} #${program.id}`);
    this.description = `${program.type} · ${program.insns} insns${program.ours ? ' · TLD Studio' : ''}`;
    this.tooltip =
      `id ${program.id}, ${program.type}\n${program.insns} instructions, ${program.verifiedInsns} verified, ${program.jitedBytes} bytes JITed\n` +
      `maps ${program.mapIds.join(', ') || 'none'}\nruns ${program.runCount}, ${(program.runTimeNs / 1e6).toFixed(3)} ms (needs kernel.bpf_stats_enabled=1)` +
      (program.ours ? `\npinned at ${program.pin}` : '');
    this.iconPath = new vscode.ThemeIcon(program.ours ? 'debug-start' : 'circuit-board');
    this.contextValue = program.ours ? 'tldOwnProgram' : 'tldProgram';
  }
}

export class ProgramsView implements vscode.TreeDataProvider<ProgramItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly ctx: Ctx) {}

  refresh(): void {
    this.changed.fire();
  }

  getTreeItem(item: ProgramItem): vscode.TreeItem {
    return item;
  }

  async getChildren(): Promise<ProgramItem[]> {
    try {
      const progs = await (await this.ctx.getClient()).programs();
      return progs.sort((a, b) => Number(b.ours) - Number(a.ours) || b.id - a.id).map((p) => new ProgramItem(p));
    } catch (e) {
      this.ctx.log.warn(`programs: ${e instanceof Error ? e.message : String(e)}`);
      return [];
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}
