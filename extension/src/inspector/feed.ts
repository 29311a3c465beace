// What one refresh of the Hint Inspector sends its webview: the whole snapshot when the
// process or its keys are new to it, otherwise only the cells and threads that changed.
// One definition for the panel and the benchmark that drives the same webview bundle.
import { ProcessSnapshot } from '../client/snapshot';
import { ValueType } from '../client/values';
import { diffRows, isEmptyPatch } from '../../../webview/src/tableModel';
import { HostToWebview } from '../../../webview/src/messages';
import { InspectorView, ViewSource, keyViews, toView, toViewSince } from './views';

export class InspectorFeed {
  private last: ViewSource | undefined;
  private lastKeys = '';

  /** The view of the latest refresh (what an export saves). */
  get view(): InspectorView | undefined {
    return this.last?.view;
  }

  /** The webview starts again (it said ready): the next refresh sends everything. */
  restart(): void {
    this.last = undefined;
  }

  /**
   * The messages for @snap: a snapshot and the status, a patch, or none when nothing changed.
   * @ratesFrom: an earlier read of the process: the whole table, its rates against that read
   * (the page a panel opens with).
   */
  next(snap: ProcessSnapshot, types: ReadonlyMap<string, ValueType>, status: { paused: boolean; intervalMs: number }, ratesFrom?: ProcessSnapshot): HostToWebview[] {
    // Rows of threads whose bytes and scheduling cells did not change are the previous
    // refresh's: only the others are formatted and compared (the keys' names, sizes and types
    // must be the same; scheduling rates come from the previous snapshot's records).
    const since = !ratesFrom && this.last && JSON.stringify(keyViews(snap, types)) === this.lastKeys ? this.last : undefined;
    const before = ratesFrom ?? this.last?.snap;
    const made = since ? toViewSince(snap, types, since) : { view: toView(snap, types, before), steady: undefined };
    const view = made.view;
    const keys = JSON.stringify(view.keys);
    const out: HostToWebview[] = [];
    if (!since || JSON.stringify(view.columns) !== JSON.stringify(since.view.columns)) {
      out.push({ type: 'snapshot', pid: snap.pid, comm: snap.comm, keys: view.keys, columns: view.columns, layout: view.layout, rows: view.rows, threads: snap.threads.length });
      out.push({ type: 'status', paused: status.paused, intervalMs: status.intervalMs });
    } else {
      const patch = diffRows(since.view.rows, view.rows);
      if (!isEmptyPatch(patch)) out.push(patch);
    }
    this.last = { view, snap, ...(made.steady ? { steady: made.steady } : {}) };
    this.lastKeys = keys;
    return out;
  }
}
