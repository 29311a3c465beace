// The run file of a running `tldctl attach`: where it lives, and who holds which target, so that
// `tldctl detach` signals only that attach and recognises one that died or a pid reused since.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TldError } from '../client/errors';
import { procStatFields } from '../client/procStat';

/** A process as it was when recorded: a pid names it only while its start time is the same. */
export interface ProcessIdentity {
  readonly pid: number;
  /** Field 22 of /proc/PID/stat: clock ticks after boot. */
  readonly start: number;
}

export interface AttachRecord {
  /** The tldctl attach that holds the hints, with its command line. */
  readonly holder: ProcessIdentity & { readonly cmdline: readonly string[] };
  readonly target: ProcessIdentity;
}

/** @pid's state letter and start time (clock ticks after boot), or undefined when there is none. */
function statOf(pid: number): { state: string; start: number } | undefined {
  let fields: string[];
  try {
    fields = procStatFields(pid);
  } catch {
    return undefined;
  }
  const start = Number(fields[19]);
  return Number.isSafeInteger(start) ? { state: fields[0] ?? '', start } : undefined;
}

/** When @pid started (clock ticks after boot), or undefined when no such process exists. */
export function startTime(pid: number): number | undefined {
  return statOf(pid)?.start;
}

/** The argv of @pid, or undefined when it is gone. */
export function commandLine(pid: number): string[] | undefined {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').slice(0, raw.endsWith('\0') ? -1 : undefined);
  } catch {
    return undefined;
  }
}

export function identify(pid: number): ProcessIdentity | undefined {
  const start = startTime(pid);
  return start === undefined ? undefined : { pid, start };
}

/**
 * Whether @who still runs: the same pid with the same start time (not a pid reused since), and
 * not exited (a zombie keeps both until it is reaped).
 */
export function stillRuns(who: ProcessIdentity): boolean {
  const s = statOf(who.pid);
  return s !== undefined && s.start === who.start && s.state !== 'Z' && s.state !== 'X';
}

/**
 * Makes @parts folders under @base, each one this user's own that no one else can write (an
 * existing one of anyone else, or a symlink, is refused: in a shared temporary folder another
 * user could have made it first). EPERM says which and why.
 */
function privateFolders(base: string, parts: readonly string[]): string {
  const uid = process.getuid?.() ?? 0;
  let dir = base;
  for (const part of parts) {
    dir = path.join(dir, part);
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const st = fs.lstatSync(dir);
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
      throw new TldError('EPERM', `${dir} is not a folder of user ${uid} that only it can write; remove it, or set TLD_RUN_DIR to one that is`);
    }
  }
  return dir;
}

/** Whether @dir is a folder of @uid (an XDG_RUNTIME_DIR kept from another user is not). */
function ownFolder(dir: string, uid: number): boolean {
  try {
    const st = fs.statSync(dir);
    return st.isDirectory() && st.uid === uid;
  } catch {
    return false;
  }
}

/** Where the run folder goes: a trusted base and the folders to make under it. */
function runDirParts(): { base: string; parts: readonly string[]; own: boolean } {
  const dir = process.env.TLD_RUN_DIR;
  if (dir) return { base: dir, parts: [], own: false };
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return { base: '/run/tld-studio/attach', parts: [], own: false };
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && path.isAbsolute(xdg) && ownFolder(xdg, uid)) return { base: xdg, parts: ['tld-studio', 'attach'], own: true };
  return { base: os.tmpdir(), parts: [`tld-studio-${uid}`, 'attach'], own: true };
}

/**
 * The folder of attach's run files: $TLD_RUN_DIR, else root's /run/tld-studio/attach, else the
 * user's own runtime folder ($XDG_RUNTIME_DIR/tld-studio/attach when that folder is the user's,
 * or a private folder in the temporary folder).
 */
export function runDir(): string {
  const { base, parts } = runDirParts();
  return path.join(base, ...parts);
}

/** The run folder, made when missing (a user's own is private and checked); EPERM says why not. */
export function ensureRunDir(): string {
  const { base, parts, own } = runDirParts();
  const dir = path.join(base, ...parts);
  try {
    if (own) privateFolders(base, parts);
    else fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    if (e instanceof TldError) throw e;
    throw new TldError('EPERM', `cannot use ${dir} for attach's run files (${(e as Error).message}); set TLD_RUN_DIR to a folder you can write`);
  }
  return dir;
}

export const recordPath = (dir: string, target: number): string => path.join(dir, String(target));

/** Writes @rec as @file whole (a reader never sees half of it). */
export function writeRecord(file: string, rec: AttachRecord): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(rec) + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
}

function isIdentity(v: unknown): v is ProcessIdentity {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return Number.isSafeInteger(o.pid) && (o.pid as number) > 0 && Number.isSafeInteger(o.start);
}

/** The record in @file; ENOENT when there is none, EINVAL when it is not one. */
export function readRecord(file: string): AttachRecord {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new TldError('ENOENT', `no tldctl attach is recorded in ${file}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    v = undefined;
  }
  const o = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>;
  const holder = o.holder as Record<string, unknown> | undefined;
  if (!isIdentity(holder) || !Array.isArray(holder.cmdline) || !holder.cmdline.every((a) => typeof a === 'string') || !isIdentity(o.target)) {
    throw new TldError('EINVAL', `${file} is not a run file of tldctl attach`);
  }
  return { holder: { pid: holder.pid, start: holder.start, cmdline: holder.cmdline as string[] }, target: o.target };
}

/** What the pid a record names as holder is now. */
export type HolderState =
  | { readonly kind: 'attached' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'other'; readonly why: string };

/**
 * Whether the holder of @rec is still that tldctl attach: the same pid and start time (else it
 * is gone, whatever runs under its pid now), the same command line, one that attaches @rec's
 * target.
 */
export function holderState(rec: AttachRecord): HolderState {
  const { pid, cmdline } = rec.holder;
  if (!stillRuns(rec.holder)) return { kind: 'gone' };
  const now = commandLine(pid);
  if (!now || now.length !== cmdline.length || now.some((a, i) => a !== cmdline[i])) {
    return { kind: 'other', why: `process ${pid} runs another command line than the one recorded` };
  }
  const at = cmdline.indexOf('attach');
  if (at < 0 || !cmdline.slice(at + 1).includes(String(rec.target.pid))) {
    return { kind: 'other', why: `the command line recorded for process ${pid} is not a tldctl attach of process ${rec.target.pid}` };
  }
  return { kind: 'attached' };
}
