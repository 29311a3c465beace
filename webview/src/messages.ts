// The messages between the extension host and the Hint Inspector webview: one typed
// definition both bundles import, and the validators each side runs on arrival.
import { NAME_MAX } from '../../extension/src/client/layout';

/** A key as the inspector shows it. */
export interface KeyView {
  readonly name: string;
  readonly size: number;
  readonly offset: number;
  readonly type: string;
}

/** One thread's row: its values already formatted by their types. */
export interface RowView {
  readonly tid: number;
  readonly comm: string;
  readonly cells: readonly string[];
}

export interface LayoutSegment {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  /** Bytes of padding after the value, up to the next 8-byte boundary. */
  readonly padding: number;
}

/** The drawing data of a process's layout (webview/src/layoutModel.ts makes it). */
export interface LayoutView {
  readonly capacity: number;
  readonly used: number;
  readonly nextOffset: number;
  readonly entries: number;
  readonly maxEntries: number;
  readonly segments: readonly LayoutSegment[];
}

export type HostToWebview =
  | {
      readonly type: 'snapshot';
      readonly pid: number;
      readonly comm: string;
      readonly keys: readonly KeyView[];
      /** Columns after the keys' (the threads' scheduling): each row's cells hold the keys' values, then these. */
      readonly columns: readonly string[];
      readonly layout: LayoutView;
      readonly rows: readonly RowView[];
      readonly threads: number;
    }
  | { readonly type: 'patch'; readonly cells: PatchCells; readonly added: readonly RowView[]; readonly removed: readonly number[] }
  | { readonly type: 'status'; readonly paused: boolean; readonly intervalMs: number }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'exited'; readonly pid: number };

/**
 * A refresh's changed cells, by column: cell i is column cols[i] (a key's index, then the
 * scheduling columns) of thread tids[i], which now shows texts[i]. Three arrays rather than an
 * array per cell: a 10,000-thread refresh changes thousands of cells, and the webview parses
 * and checks each message on the thread that draws its frames.
 */
export interface PatchCells {
  readonly tids: readonly number[];
  readonly cols: readonly number[];
  readonly texts: readonly string[];
}

export type WebviewToHost =
  | { readonly type: 'ready' }
  | { readonly type: 'pause'; readonly paused: boolean }
  | { readonly type: 'setValue'; readonly tid: number; readonly key: string; readonly value: string }
  | { readonly type: 'export'; readonly format: 'json' | 'csv' | 'trace' };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** What the host accepts from the webview; anything else is dropped (and logged) by the caller. */
export function parseWebviewMessage(v: unknown): WebviewToHost | undefined {
  if (!isObj(v) || !isStr(v.type)) return undefined;
  switch (v.type) {
    case 'ready':
      return { type: 'ready' };
    case 'pause':
      return typeof v.paused === 'boolean' ? { type: 'pause', paused: v.paused } : undefined;
    case 'setValue':
      return isInt(v.tid) && v.tid >= 0 && isStr(v.key) && v.key.length > 0 && v.key.length <= NAME_MAX && isStr(v.value) && v.value.length <= 8192
        ? { type: 'setValue', tid: v.tid, key: v.key, value: v.value }
        : undefined;
    case 'export':
      return v.format === 'json' || v.format === 'csv' || v.format === 'trace' ? { type: 'export', format: v.format } : undefined;
    default:
      return undefined;
  }
}

function isRow(v: unknown): v is RowView {
  return isObj(v) && isInt(v.tid) && isStr(v.comm) && Array.isArray(v.cells) && v.cells.every(isStr);
}

function isPatchCells(v: unknown): v is PatchCells {
  if (!isObj(v) || !Array.isArray(v.tids) || !Array.isArray(v.cols) || !Array.isArray(v.texts)) return false;
  const n = v.tids.length;
  if (v.cols.length !== n || v.texts.length !== n) return false;
  for (let i = 0; i < n; i++) if (!isInt(v.tids[i]) || !isInt(v.cols[i]) || !isStr(v.texts[i])) return false;
  return true;
}

function isKey(v: unknown): v is KeyView {
  return isObj(v) && isStr(v.name) && isInt(v.size) && isInt(v.offset) && isStr(v.type);
}

function isLayout(v: unknown): v is LayoutView {
  return (
    isObj(v) && isInt(v.capacity) && isInt(v.used) && isInt(v.nextOffset) && isInt(v.entries) && isInt(v.maxEntries) &&
    Array.isArray(v.segments) &&
    v.segments.every((s: unknown) => isObj(s) && isStr(s.name) && isInt(s.offset) && isInt(s.size) && isInt(s.padding))
  );
}

/** What the webview accepts from the host. */
export function parseHostMessage(v: unknown): HostToWebview | undefined {
  if (!isObj(v) || !isStr(v.type)) return undefined;
  switch (v.type) {
    case 'snapshot':
      return isInt(v.pid) && isStr(v.comm) && Array.isArray(v.keys) && v.keys.every(isKey) && Array.isArray(v.columns) && v.columns.every(isStr) && isLayout(v.layout) &&
        Array.isArray(v.rows) && v.rows.every(isRow) && isInt(v.threads)
        ? (v as unknown as HostToWebview)
        : undefined;
    case 'patch':
      return isPatchCells(v.cells) && Array.isArray(v.added) && v.added.every(isRow) && Array.isArray(v.removed) && v.removed.every(isInt)
        ? (v as unknown as HostToWebview)
        : undefined;
    case 'status':
      return typeof v.paused === 'boolean' && isInt(v.intervalMs) ? { type: 'status', paused: v.paused, intervalMs: v.intervalMs } : undefined;
    case 'error':
      return isStr(v.message) ? { type: 'error', message: v.message } : undefined;
    case 'exited':
      return isInt(v.pid) ? { type: 'exited', pid: v.pid } : undefined;
    default:
      return undefined;
  }
}
