// An exclusive lock between processes on a cache folder: flock(2) on the folder's `.lock` file.
//
// Why flock: the kernel drops it when its holder's last fd closes, so a crashed or killed holder
// never leaves a lock behind and nobody ever has to decide that a lock is stale. The pid file this
// replaces had to: two waiters could both judge a dead holder's file stale, the first remove it
// and take a new lock, the second then remove that live lock, and two processes filled the cache
// at once (a reused pid, the other way round, kept a dead holder's lock forever). The `.lock`
// file is therefore never removed (removing it would let a waiter lock a file no longer in the
// folder); it holds the holder's pid only to name it while others wait. While older versions
// still share a cache, their pid file's live holder is waited for (legacyHolder), never removed.
import * as fs from 'node:fs';
import * as path from 'node:path';

import koffi from 'koffi';

import { TldError } from '../client/errors';
import { loadLibrary } from '../client/koffiLibrary';

const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EINTR = 4;
const EWOULDBLOCK = 11;

let flockFn: ((fd: number, op: number) => number) | undefined;

function flock(fd: number, op: number): number {
  flockFn ??= loadLibrary('libc.so.6').func('int flock(int fd, int op)') as (fd: number, op: number) => number;
  return flockFn(fd, op) === 0 ? 0 : koffi.errno();
}

export interface LockOptions {
  /** Told once, with the holder's pid (0 when unknown), when another process holds the lock. */
  readonly onWait?: (holder: number) => void;
  /** How long to wait for another holder before giving up with EALREADY; default 30 minutes. */
  readonly timeoutMs?: number;
  /** What the holder is doing, for the message of a timeout ("filling the kernel cache"). */
  readonly what?: string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function holderOf(fd: number): number {
  const buf = Buffer.alloc(32);
  try {
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const pid = Number(buf.toString('utf8', 0, n).trim().split(' ')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

/** Whether @fd is still the file at @file. */
function sameFile(fd: number, file: string): boolean {
  try {
    const a = fs.fstatSync(fd);
    const b = fs.statSync(file);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/**
 * Whether the file holds a live holder of the pid-file lock older tldctl versions took
 * ("PID TOKEN", never flocked): such a holder is waited for, never removed, while both versions
 * share a cache.
 */
function legacyHolder(fd: number): boolean {
  const buf = Buffer.alloc(64);
  let text: string;
  try {
    text = buf.toString('utf8', 0, fs.readSync(fd, buf, 0, buf.length, 0));
  } catch {
    return false;
  }
  const m = /^(\d+) [0-9a-f]{12}$/.exec(text);
  if (!m) return false;
  try {
    process.kill(Number(m[1]), 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock of folder @dir, waiting while another process holds it (polling, so the event
 * loop keeps running). Returns the release function, which is idempotent; the lock also goes
 * when this process ends, however it ends.
 */
export async function acquireFolderLock(dir: string, opts: LockOptions = {}): Promise<() => void> {
  const lock = path.join(dir, '.lock');
  const open = (): number => {
    try {
      return fs.openSync(lock, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
    } catch (e) {
      throw new TldError('EIO', `cannot open the lock ${lock}: ${(e as Error).message}`);
    }
  };
  let fd = open();
  const deadline = Date.now() + (opts.timeoutMs ?? 30 * 60_000);
  let told = false;
  for (;;) {
    const err = flock(fd, LOCK_EX | LOCK_NB);
    if (err === 0 && !sameFile(fd, lock)) {
      // An older tldctl removed the file we locked: lock the one in the folder now.
      fs.closeSync(fd);
      fd = open();
      continue;
    }
    if (err === 0 && !legacyHolder(fd)) break;
    if (err === 0) flock(fd, LOCK_UN);
    else if (err === EINTR) continue;
    else if (err !== EWOULDBLOCK) {
      fs.closeSync(fd);
      throw new TldError('EIO', `cannot lock ${lock}: flock failed with errno ${err}`);
    }
    const holder = holderOf(fd);
    if (Date.now() > deadline) {
      fs.closeSync(fd);
      const who = holder ? `process ${holder}` : 'another process';
      throw new TldError('EALREADY', `${who} has held ${lock}${opts.what ? ` (${opts.what})` : ''} for too long; if it is stuck, end it`);
    }
    if (!told) {
      told = true;
      opts.onWait?.(holder);
    }
    await sleep(500);
  }
  // Ours now: record who holds it, for the messages of those who wait.
  fs.ftruncateSync(fd, 0);
  fs.writeSync(fd, `${process.pid}\n`, 0);
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    try {
      fs.ftruncateSync(fd, 0); // no pid: nobody holds it
    } catch {
      // the lock goes all the same
    }
    flock(fd, LOCK_UN);
    fs.closeSync(fd);
  };
}
