// One integration test file's private world: its own bpffs pin folder (so it never sees
// another file's or the system's processes), the env its children get, and its children.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TldClient } from '../../extension/src/client/client';
import { KeyInfo, ProcessSnapshot } from '../../extension/src/client/snapshot';
import { Value, ValueType, decodeValue, defaultType } from '../../extension/src/client/values';
import { ProcessSet } from './processes';

export class World {
  /** /sys/fs/bpf/tld-it-NAME-PID: the TLD_PIN_DIR of everything this file starts. */
  readonly pinDir: string;
  readonly pinPath: string;
  /** Where `tldctl attach` records its holders (TLD_RUN_DIR). */
  readonly runDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly procs: ProcessSet;
  private readonly clients = new Set<TldClient>();

  constructor(name: string) {
    this.pinDir = `/sys/fs/bpf/tld-it-${name}-${process.pid}`;
    this.pinPath = `${this.pinDir}/tld_data_map`;
    fs.rmSync(this.pinDir, { recursive: true, force: true });
    fs.mkdirSync(this.pinDir, { recursive: true });
    this.runDir = fs.mkdtempSync(path.join(os.tmpdir(), `tld-it-${name}-`));
    this.env = { ...process.env, TLD_PIN_DIR: this.pinDir, TLD_RUN_DIR: this.runDir };
    delete this.env.TLD_HELPER_LIB;
    this.procs = new ProcessSet(this.env);
  }

  /** An in-process client on this world's pin, disposed by dispose() unless disposed before. */
  async client(): Promise<TldClient> {
    const c = await TldClient.create({ pinPath: this.pinPath, transport: 'in-process' });
    this.clients.add(c);
    return c;
  }

  /** Disposes @c now (and not again at the end). */
  release(c: TldClient): void {
    if (this.clients.delete(c)) c.dispose();
  }

  /** Kills every child, disposes the clients, removes the pin folder. For after(). */
  async dispose(): Promise<void> {
    try {
      await this.procs.killAll();
    } finally {
      for (const c of this.clients) c.dispose();
      this.clients.clear();
      fs.rmSync(this.pinDir, { recursive: true, force: true });
      fs.rmSync(this.runDir, { recursive: true, force: true });
    }
  }
}

/** The type a key is decoded with: @types' when given, else the default by size. */
export function typeFor(types: ReadonlyMap<string, ValueType>, key: KeyInfo): ValueType {
  return types.get(key.name) ?? defaultType(key.size);
}

/** Every thread with data: tid -> { key: decoded value }. */
export function valuesByTid(snap: ProcessSnapshot, types: ReadonlyMap<string, ValueType> = new Map()): Map<number, Record<string, Value>> {
  const out = new Map<number, Record<string, Value>>();
  for (const t of snap.threads) {
    if (!t.hasData) continue;
    const values: Record<string, Value> = {};
    for (const k of snap.keys) {
      const bytes = t.value(k);
      if (!bytes) throw new Error(`thread ${t.tid} has data but no bytes for ${k.name}`);
      values[k.name] = decodeValue(bytes, typeFor(types, k));
    }
    out.set(t.tid, values);
  }
  return out;
}

/** (tid * 16 + i) truncated to @size bytes: what the hints fixture writes into key i. */
export function fixtureValue(tid: number, i: number, size: number): number | bigint {
  const v = BigInt.asUintN(size * 8, BigInt(tid) * 16n + BigInt(i));
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** The fixture's key sizes: 1, 2, 4, 8 in turn. */
export const fixtureKeySize = (i: number) => [1, 2, 4, 8][i % 4] as number;
export const fixtureKeyName = (i: number) => `fx.k${String(i).padStart(2, '0')}`;

/** The fds this process has open: fd -> what it is (the listing's own fd left out). */
export function openFds(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of fs.readdirSync('/proc/self/fd')) {
    try {
      out.set(Number(name), fs.readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // the directory listing's own fd, closed by now
    }
  }
  return out;
}
