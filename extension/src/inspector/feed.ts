// What one refresh of the Hint Inspector sends its webview: the whole snapshot when the
// process or its keys are new to it, otherwise only the cells and threads that changed.
// One definition for the panel and the benchmark that drives the same webview bundle.
import { SchedRecord } from '../client/records';
import { ProcessSnapshot } from '../client/snapshot';
import { ValueType } from '../client/values';
import { diffRows, isEmptyPatch } from '../../../webview/src/tableModel';
import { HostToWebview } from '../../../webview/src/messages';
import { InspectorView, toView } from './views';

export class InspectorFeed {
  private last: InspectorView | undefined;
  private lastKeys = '';
  private lastSched = new Map<number, SchedRecord | undefined>();

  /** The view of the latest refresh (what an export saves). */
  get view(): InspectorView | undefined {
    return this.last;
  }

  /** The webview starts again (it said ready): the next refresh sends everything. */
  restart(): void {
    this.last = undefined;
    this.lastSched.clear();
  }

  /** The messages for @snap: a snapshot and the status, a patch, or none when nothing changed. */
  next(snap: ProcessSnapshot, types: ReadonlyMap<string, ValueType>, status: { paused: boolean; intervalMs: number }): HostToWebview[] {
    const view = toView(snap, types, this.lastSched);
    this.lastSched = new Map(snap.threads.map((t) => [t.tid, t.sched]));
    const keys = JSON.stringify([view.keys, view.columns]);
    const out: HostToWebview[] = [];
    if (!this.last || keys !== this.lastKeys) {
      out.push({ type: 'snapshot', pid: snap.pid, comm: snap.comm, keys: view.keys, columns: view.columns, layout: view.layout, rows: view.rows, threads: snap.threads.length });
      out.push({ type: 'status', paused: status.paused, intervalMs: status.intervalMs });
    } else {
      const patch = diffRows(this.last.rows, view.rows);
      if (!isEmptyPatch(patch)) out.push(patch);
    }
    this.last = view;
    this.lastKeys = keys;
    return out;
  }
}
