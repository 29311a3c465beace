// The messages between the Hint Inspector's panel (feedThread.ts) and the worker that decodes
// and diffs its snapshots (feedWorker.ts): one definition for both ends.
import type { KeyInfo } from '../client/snapshot';
import type { ValueType } from '../client/values';
import type { HostToWebview } from '../../../webview/src/messages';
import type { InspectorView } from './views';

/** The keys' types, and the keys they were found for (as keysSignature() writes them). */
export interface TypesFor {
  readonly signature: string;
  readonly types: readonly (readonly [string, ValueType])[];
}

export type FeedRequest =
  /** Decode @records (the helper's, for @pid) and diff them against the last refresh. */
  | {
      readonly kind: 'refresh';
      readonly id: number;
      readonly pid: number;
      readonly records: Uint8Array;
      /** The records came from a VM's guest (its pids are not this machine's). */
      readonly guest: boolean;
      readonly status: { readonly paused: boolean; readonly intervalMs: number };
      /** The types the panel knows, for the keys it last saw; none before the first refresh. */
      readonly types?: TypesFor;
      /** An earlier read of @pid: the whole table, its rates against that read (the page the panel opens with). */
      readonly ratesFrom?: Uint8Array;
    }
  /** The answer to needTypes: the refresh @id goes on with these. */
  | { readonly kind: 'types'; readonly id: number; readonly types: TypesFor }
  /** The webview starts again: the next refresh sends everything. */
  | { readonly kind: 'restart' }
  /** The view of the latest refresh (an export, a webview that reloaded). */
  | { readonly kind: 'view'; readonly id: number };

export type FeedReply =
  /** Refresh @id found other keys than the types were for: the panel finds their types. */
  | { readonly kind: 'needTypes'; readonly id: number; readonly pid: number; readonly keys: readonly KeyInfo[]; readonly signature: string }
  | { readonly kind: 'messages'; readonly id: number; readonly comm: string; readonly messages: readonly HostToWebview[] }
  /** A TldError's code and message (ESRCH: the process exited). */
  | { readonly kind: 'failed'; readonly id: number; readonly code: string; readonly message: string }
  | { readonly kind: 'view'; readonly id: number; readonly view: InspectorView | undefined };

/** What types are found for: the keys' names and sizes. */
export function keysSignature(keys: readonly Pick<KeyInfo, 'name' | 'size'>[]): string {
  return JSON.stringify(keys.map((k) => [k.name, k.size]));
}
