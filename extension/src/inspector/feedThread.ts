// The Hint Inspector's side of its worker (feedWorker.ts): each refresh's records go there to
// be decoded and diffed, and the webview's messages come back, so a 10,000-thread refresh costs
// the extension host's thread a copy of the records and the messages' delivery, not the work.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { TldError, TldErrorCode } from '../client/errors';
import { KeyInfo } from '../client/snapshot';
import { ValueType } from '../client/values';
import { HostToWebview } from '../../../webview/src/messages';
import { FeedReply, FeedRequest, TypesFor, keysSignature } from './feedProtocol';
import { InspectorView } from './views';

/** The types of a process's keys (Ctx.keyTypes: debug information, then the settings). */
export type TypesOf = (target: { readonly pid: number; readonly keys: readonly KeyInfo[] }) => Promise<ReadonlyMap<string, ValueType>>;

export interface FeedStatus {
  readonly paused: boolean;
  readonly intervalMs: number;
}

/** Beside extension.js in the bundle (webpack's feedWorker entry), beside this file in out/. */
const workerScript = path.join(__dirname, 'feedWorker.js');

interface Waiter {
  resolve(r: FeedReply): void;
  reject(e: Error): void;
}

export class FeedThread {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly waiters = new Map<number, Waiter>();
  /** The keys the last refresh found: their types go with the next refresh. */
  private seen: { readonly pid: number; readonly keys: readonly KeyInfo[] } | undefined;
  private disposed = false;

  constructor(private readonly typesOf: TypesOf) {}

  /**
   * The webview's messages for @records, @pid's snapshot from its helper (@guest: a VM's
   * guest's), and the process's name. Rejects with the TldError the records call for (ESRCH
   * when the process exited). @ratesFrom: an earlier read of @pid: the whole table, its rates
   * against that read.
   */
  async next(pid: number, records: Uint8Array, guest: boolean, status: FeedStatus, ratesFrom?: Uint8Array): Promise<{ comm: string; messages: readonly HostToWebview[] }> {
    // The worker gets bytes of its own, copied before the first await: the caller may then give
    // the helper's buffer back for its next read.
    const own = records.slice();
    const before = ratesFrom?.slice();
    const types = this.seen && (await this.typesFor(this.seen));
    const id = this.nextId++;
    let r = await this.ask(
      { kind: 'refresh', id, pid, records: own, guest, status, ...(before ? { ratesFrom: before } : {}), ...(types ? { types } : {}) },
      [own.buffer as ArrayBuffer, ...(before ? [before.buffer as ArrayBuffer] : [])],
    );
    if (r.kind === 'needTypes') {
      this.seen = { pid: r.pid, keys: r.keys };
      r = await this.ask({ kind: 'types', id, types: await this.typesFor(this.seen) });
    }
    if (r.kind === 'messages') return { comm: r.comm, messages: r.messages };
    if (r.kind === 'failed') throw new TldError(r.code as TldErrorCode, r.message);
    throw new TldError('EHELPER', `the Hint Inspector's worker answered ${r.kind} to a refresh`);
  }

  /** Starts the worker now, so that the first refresh does not wait for it. */
  warm(): void {
    if (!this.worker && !this.disposed) this.start();
  }

  /** The webview starts again: the next refresh sends everything. */
  restart(): void {
    this.worker?.postMessage({ kind: 'restart' } satisfies FeedRequest);
  }

  /** The view of the latest refresh, for an export or a webview that reloaded. */
  async view(): Promise<InspectorView | undefined> {
    if (!this.worker) return undefined;
    const r = await this.ask({ kind: 'view', id: this.nextId++ });
    return r.kind === 'view' ? r.view : undefined;
  }

  dispose(): void {
    this.disposed = true;
    const w = this.worker;
    this.worker = undefined;
    void w?.terminate();
    this.failAll(new TldError('EHELPER', 'the Hint Inspector was closed'));
  }

  private async typesFor(target: { readonly pid: number; readonly keys: readonly KeyInfo[] }): Promise<TypesFor> {
    return { signature: keysSignature(target.keys), types: [...(await this.typesOf(target))] };
  }

  private start(): Worker {
    if (this.disposed) throw new TldError('EHELPER', 'the Hint Inspector was closed');
    const w = new Worker(workerScript);
    w.on('message', (r: FeedReply) => {
      const waiter = this.waiters.get(r.id);
      this.waiters.delete(r.id);
      waiter?.resolve(r);
    });
    // A worker that died takes its diff state along: the next refresh starts a new one, which
    // sends the whole table again.
    const lost = (why: string) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.failAll(new TldError('EHELPER', `the Hint Inspector's worker ${why}`));
    };
    w.on('error', (e) => lost(`failed: ${e.message}`));
    w.on('exit', (code) => lost(`exited (${code})`));
    this.worker = w;
    return w;
  }

  /** Sends @m (with its id) and waits for the worker's reply to it. */
  private ask(m: FeedRequest & { readonly id: number }, transfer: ArrayBuffer[] = []): Promise<FeedReply> {
    // Only a refresh starts a worker: anything else was for the one that ended.
    const worker = this.worker ?? (m.kind === 'refresh' ? this.start() : undefined);
    if (!worker) return Promise.reject(new TldError('EHELPER', "the Hint Inspector's worker ended"));
    return new Promise<FeedReply>((resolve, reject) => {
      this.waiters.set(m.id, { resolve, reject });
      worker.postMessage(m, transfer);
    });
  }

  private failAll(e: Error): void {
    const waiters = [...this.waiters.values()];
    this.waiters.clear();
    for (const w of waiters) w.reject(e);
  }
}
