// Export Trace: records a process's hints beside its scheduling for a few seconds and saves a
// Perfetto trace (as `tldctl trace` does), from the Hint Inspector's button or the palette.
import * as vscode from 'vscode';

import { encodePerfetto } from '../client/perfettoTrace';
import { recordTrace } from '../client/traceRecorder';
import { parseTypes, typeOf } from '../client/values';
import { Ctx } from '../ctx';

const PERFETTO_UI = 'https://ui.perfetto.dev';

/** Asks how long and where, traces @pid with a cancellable progress, and writes the file. */
export async function exportTrace(ctx: Ctx, pid: number): Promise<void> {
  const text = await vscode.window.showInputBox({
    title: `Export Trace of process ${pid}`,
    prompt: 'Seconds to record hints and scheduling (cancel the progress to stop early)',
    value: '5',
    validateInput: (v) => (/^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 600 ? undefined : 'a whole number of seconds, 1 to 600'),
  });
  if (!text) return;
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const name = `tld-${pid}-${new Date().toISOString().replace(/[:.]/g, '-')}.pftrace`;
  const uri = await vscode.window.showSaveDialog({
    filters: { 'Perfetto trace': ['pftrace'] },
    saveLabel: 'Export trace',
    ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, name) } : {}),
  });
  if (!uri) return;
  try {
    const written = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Tracing process ${pid} for ${text} s`, cancellable: true },
      async (_progress, token) => {
        const stop = new AbortController();
        token.onCancellationRequested(() => stop.abort());
        const client = await ctx.getClient();
        const t = await recordTrace(client, pid, { seconds: Number(text), intervalMs: 10, typeOf: typeOf(parseTypes(ctx.settings.keyTypes)), signal: stop.signal });
        await vscode.workspace.fs.writeFile(uri, encodePerfetto(t));
        return t;
      },
    );
    ctx.log.info(`exported a trace of ${pid} to ${uri.fsPath}: ${written.threads.size} threads, ${written.events.length} scheduling events (${written.lost} lost), ${written.samples.length} hint samples`);
    const open = await vscode.window.showInformationMessage(`Trace of process ${pid} saved to ${uri.fsPath}: open it in ui.perfetto.dev.`, 'Open ui.perfetto.dev');
    if (open) await vscode.env.openExternal(vscode.Uri.parse(PERFETTO_UI));
  } catch (e) {
    ctx.report(e);
  }
}
