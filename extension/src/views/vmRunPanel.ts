// The VM's last run in a webview: its verdict, counters and latency histograms drawn
// (vmRunHtml.ts), rebuilt whenever a run ends while it is open.
import * as crypto from 'node:crypto';
import * as vscode from 'vscode';

import { Ctx } from '../ctx';
import { vmRunBody } from './vmRunHtml';

export class VmRunPanel {
  private static current: VmRunPanel | undefined;
  static readonly viewType = 'tldStudio.vmRun';
  private readonly disposables: vscode.Disposable[] = [];

  static createOrShow(ctx: Ctx): VmRunPanel {
    if (VmRunPanel.current) {
      VmRunPanel.current.panel.reveal();
      VmRunPanel.current.render();
      return VmRunPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(VmRunPanel.viewType, 'VM: last run', vscode.ViewColumn.Active, {
      enableScripts: false,
      localResourceRoots: [vscode.Uri.joinPath(ctx.extension.extensionUri, 'media')],
    });
    VmRunPanel.current = new VmRunPanel(ctx, panel);
    return VmRunPanel.current;
  }

  private constructor(
    private readonly ctx: Ctx,
    private readonly panel: vscode.WebviewPanel,
  ) {
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    ctx.onDidChangeVm(() => this.render(), null, this.disposables);
    this.render();
  }

  private render(): void {
    const o = this.ctx.lastRun;
    const webview = this.panel.webview;
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.ctx.extension.extensionUri, 'media', 'vmRun.css'));
    const nonce = crypto.randomBytes(16).toString('base64');
    const body = o
      ? vmRunBody({ scheduler: o.scheduler, message: o.message, endedAt: o.endedAt, ...(o.accel ? { accel: o.accel } : {}), ...(o.stats ? { stats: o.stats } : {}) })
      : '<p class="empty">No VM run yet: Run Scheduler in VM, and its outcome shows here.</p>';
    webview.html = `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource} 'nonce-${nonce}'; img-src ${webview.cspSource};">
<link rel="stylesheet" href="${style.toString()}"><title>VM: last run</title></head><body>${body}</body></html>`;
  }

  dispose(): void {
    if (VmRunPanel.current === this) VmRunPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
