// The Hint Inspector's worker: decodes each refresh's records, checks them, and makes the
// webview's messages (InspectorFeed), off the extension host's thread, which every other
// extension shares. A 10,000-thread refresh is tens of milliseconds of formatting and diffing.
import { parentPort } from 'node:worker_threads';

import { TldError } from '../client/errors';
import { ProcessSnapshot, checkedSnapshot } from '../client/snapshot';
import { ValueType } from '../client/values';
import { InspectorFeed } from './feed';
import { FeedReply, FeedRequest, TypesFor, keysSignature } from './feedProtocol';

const port = parentPort;
if (!port) throw new Error('feedWorker.js runs as a worker thread');

const feed = new InspectorFeed();
/** A refresh waiting for its keys' types. */
let waiting: { readonly id: number; readonly snap: ProcessSnapshot; readonly status: { paused: boolean; intervalMs: number }; readonly ratesFrom: ProcessSnapshot | undefined } | undefined;

function reply(r: FeedReply): void {
  port!.postMessage(r);
}

function finish(id: number, snap: ProcessSnapshot, status: { paused: boolean; intervalMs: number }, types: TypesFor, ratesFrom: ProcessSnapshot | undefined): void {
  const messages = feed.next(snap, new Map<string, ValueType>(types.types), status, ratesFrom);
  reply({ kind: 'messages', id, comm: snap.comm, messages });
}

function failed(id: number, e: unknown): void {
  reply(
    e instanceof TldError
      ? { kind: 'failed', id, code: e.code, message: e.message }
      : { kind: 'failed', id, code: 'EHELPER', message: `the Hint Inspector's worker failed: ${e instanceof Error ? e.message : String(e)}` },
  );
}

port.on('message', (req: FeedRequest) => {
  switch (req.kind) {
    case 'refresh': {
      waiting = undefined;
      try {
        const snap = checkedSnapshot(req.pid, req.records, req.guest);
        const signature = keysSignature(snap.keys);
        const ratesFrom = req.ratesFrom && checkedSnapshot(req.pid, req.ratesFrom, req.guest);
        if (req.types?.signature === signature) finish(req.id, snap, req.status, req.types, ratesFrom);
        else {
          waiting = { id: req.id, snap, status: req.status, ratesFrom };
          reply({ kind: 'needTypes', id: req.id, pid: snap.pid, keys: snap.keys, signature });
        }
      } catch (e) {
        failed(req.id, e);
      }
      break;
    }
    case 'types': {
      const w = waiting;
      waiting = undefined;
      if (w?.id !== req.id) {
        reply({ kind: 'failed', id: req.id, code: 'EHELPER', message: `no refresh ${req.id} waits for its keys' types` });
        break;
      }
      try {
        finish(w.id, w.snap, w.status, req.types, w.ratesFrom);
      } catch (e) {
        failed(w.id, e);
      }
      break;
    }
    case 'restart':
      feed.restart();
      break;
    case 'view':
      reply({ kind: 'view', id: req.id, view: feed.view });
      break;
  }
});
