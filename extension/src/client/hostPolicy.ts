// Who called the privileged helper host, and which processes that caller may touch: the host
// decides from what sudo or pkexec says of its caller and from /proc, never from a request.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

import { TldError } from './errors';
import { PID_MAX_LIMIT } from './protocol';
import { CAP_BPF, CAP_PERFMON } from './privileges';
import { procStatFields } from './procStat';

/**
 * The capabilities the installed host stands in for: it exists to give its user exactly
 * CAP_BPF and CAP_PERFMON for task local data, so a process holding them is within reach.
 */
export const CALLER_CAPS = (1n << CAP_BPF) | (1n << CAP_PERFMON);
/** PF_KTHREAD in /proc/PID/stat's flags. */
const PF_KTHREAD = 0x0020_0000;

export interface Caller {
  readonly uid: number;
  readonly gid: number;
  /** How the host learnt who it is: sudo's SUDO_UID, pkexec's PKEXEC_UID, or its own real ids. */
  readonly via: 'sudo' | 'pkexec' | 'self';
}

export const isRoot = (c: Caller): boolean => c.uid === 0;

function envId(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  if (!/^\d{1,10}$/.test(v) || Number(v) > 0xffff_ffff) throw new TldError('EINVAL', `${name}=${JSON.stringify(v)} is not a user or group id`);
  return Number(v);
}

/** The primary group of @uid from the user database (getent, so NSS users count too). */
export function primaryGid(uid: number): number {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    throw new TldError('EPERM', `user ${uid} is not in the user database; the helper host serves known users only`);
  }
  const gid = Number(line.split(':')[3]);
  if (!Number.isInteger(gid)) throw new TldError('EPERM', `user ${uid} has no primary group in the user database`);
  return gid;
}

/**
 * The caller of a host running with @realUid/@realGid. As root it was started by sudo
 * (SUDO_UID, SUDO_GID) or pkexec (PKEXEC_UID, whose group comes from the user database);
 * both set these themselves and clear what the caller put in the environment. A host that
 * is not root has no privilege to lend, and its environment is nobody's word.
 */
export function callerOf(
  env: NodeJS.ProcessEnv,
  realUid = process.getuid?.() ?? -1,
  realGid = process.getgid?.() ?? -1,
  gidOf: (uid: number) => number = primaryGid,
): Caller {
  if (realUid !== 0) return { uid: realUid, gid: realGid, via: 'self' };
  const pkexec = envId(env, 'PKEXEC_UID');
  if (pkexec !== undefined) return { uid: pkexec, gid: pkexec === 0 ? 0 : gidOf(pkexec), via: 'pkexec' };
  const sudo = envId(env, 'SUDO_UID');
  if (sudo !== undefined) return { uid: sudo, gid: envId(env, 'SUDO_GID') ?? gidOf(sudo), via: 'sudo' };
  return { uid: 0, gid: realGid, via: 'self' };
}

/** What /proc says of a process, as much as the ptrace rules need. */
export interface ProcCreds {
  readonly pid: number;
  /** Real, effective, saved, filesystem. */
  readonly uids: readonly number[];
  readonly gids: readonly number[];
  /** Permitted capabilities. */
  readonly capPrm: bigint;
  readonly kthread: boolean;
  /** Owner of /proc/PID/environ: its effective uid when dumpable, root when not. */
  readonly procOwner: number;
  /** Start time in clock ticks after boot: with the pid, names one process for good. */
  readonly startTime: string;
}

function noProcess(pid: number): TldError {
  return new TldError('ESRCH', `process ${pid} does not exist`);
}

function statusIds(status: string, field: string, pid: number): number[] {
  const m = new RegExp(`^${field}:\\s*(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)\\s*$`, 'm').exec(status);
  if (!m) throw new TldError('EIO', `/proc/${pid}/status has no ${field} line`);
  return m.slice(1, 5).map(Number);
}

/** Reads @pid's credentials from /proc; ESRCH when there is no such process. */
export function readCreds(pid: number): ProcCreds {
  checkPid(pid, 'process');
  try {
    // The stat first and last: a pid reused while the others were read shows another start.
    // The leader thread's own stat has the process's start and flags (exec by another thread
    // gives it the leader's start) without the kernel summing every thread's times: 11 µs
    // against 46 µs at 1,000 threads, twice per check, before and after every request.
    const before = procStatFields(pid, pid);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    // A non-dumpable process's private /proc files are root's (not its folder, which stays the euid's).
    const owner = fs.statSync(`/proc/${pid}/environ`).uid;
    const after = procStatFields(pid, pid);
    // Fields from the state (3rd of stat): flags is the 9th, starttime the 22nd.
    const startTime = after[19] ?? '';
    if (before[19] !== startTime) throw noProcess(pid);
    const cap = /^CapPrm:\s*([0-9a-f]+)\s*$/m.exec(status);
    if (!cap?.[1]) throw new TldError('EIO', `/proc/${pid}/status has no CapPrm line`);
    // A thread id names a task, not a process: /proc/TID exists for threads too.
    const tgid = /^Tgid:\s*(\d+)\s*$/m.exec(status);
    if (Number(tgid?.[1]) !== pid) throw new TldError('ESRCH', `${pid} is a thread of process ${tgid?.[1]}, not a process`);
    return {
      pid,
      uids: statusIds(status, 'Uid', pid),
      gids: statusIds(status, 'Gid', pid),
      capPrm: BigInt('0x' + cap[1]),
      kthread: (Number(after[6]) & PF_KTHREAD) !== 0,
      procOwner: owner,
      startTime,
    };
  } catch (e) {
    if (e instanceof TldError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') throw noProcess(pid);
    throw new TldError('EIO', `cannot read /proc/${pid}: ${(e as Error).message}`);
  }
}

const hex = (v: bigint) => `0x${v.toString(16)}`;

/**
 * Why @caller may not inspect @p, or undefined when it may: the rules of
 * PTRACE_MODE_ATTACH_REALCREDS as the kernel applies them to an unprivileged caller
 * holding CALLER_CAPS. Root may inspect everything.
 */
export function refusal(caller: Caller, p: ProcCreds): string | undefined {
  if (isRoot(caller)) return undefined;
  if (p.kthread) return `process ${p.pid} is a kernel thread`;
  if (!p.uids.slice(0, 3).every((u) => u === caller.uid)) {
    return `process ${p.pid} runs as another user (uids ${p.uids.slice(0, 3).join('/')}, you are ${caller.uid})`;
  }
  if (!p.gids.slice(0, 3).every((g) => g === caller.gid)) {
    return `process ${p.pid} runs with another group (gids ${p.gids.slice(0, 3).join('/')}, yours is ${caller.gid}), as a setgid program does`;
  }
  if (p.procOwner !== caller.uid) {
    return `process ${p.pid} is not dumpable (it changed its credentials, as a setuid program does, or made itself so)`;
  }
  const extra = p.capPrm & ~CALLER_CAPS;
  if (extra !== 0n) {
    return `process ${p.pid} holds capabilities beyond CAP_BPF and CAP_PERFMON (permitted ${hex(p.capPrm)}, beyond: ${hex(extra)})`;
  }
  return undefined;
}

/** The refusal as the error the client gets. */
function refused(why: string): TldError {
  return new TldError('EPERM', `${why}: the helper host serves only processes you could debug yourself (ptrace)`);
}

/** A process the caller was allowed to inspect, to verify after the operation that it is the same. */
export interface Checked {
  readonly pid: number;
  readonly startTime: string;
}

/** Checks that @caller may inspect @pid; EPERM saying why not, ESRCH when it does not exist. */
export function checkProcess(caller: Caller, pid: number): Checked {
  const p = readCreds(pid);
  const why = refusal(caller, p);
  if (why) throw refused(why);
  return { pid, startTime: p.startTime };
}

/**
 * After an operation on @c: the pid still names the process that was checked (same start),
 * and the caller may still inspect it (it did not exec a setuid program meanwhile).
 */
export function verifyProcess(caller: Caller, c: Checked): void {
  let p: ProcCreds;
  try {
    p = readCreds(c.pid);
  } catch (e) {
    if (e instanceof TldError && e.code === 'ESRCH') throw new TldError('ESRCH', `process ${c.pid} exited during the request`);
    throw e;
  }
  if (p.startTime !== c.startTime) throw new TldError('ESRCH', `process ${c.pid} exited during the request (its pid now names another process)`);
  const why = refusal(caller, p);
  if (why) throw refused(`${why} (it changed during the request)`);
}

/** Whether @tid is a thread of process @pid. */
export function isThreadOf(pid: number, tid: number): boolean {
  checkPid(tid, 'thread');
  try {
    const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    return Number(/^Tgid:\s*(\d+)\s*$/m.exec(status)?.[1]) === pid;
  } catch {
    return false;
  }
}

/** EINVAL unless @id is a pid or tid the kernel can give (1 to PID_MAX_LIMIT). */
export function checkPid(id: number, what: 'process' | 'thread'): void {
  if (!Number.isSafeInteger(id) || id <= 0 || id > PID_MAX_LIMIT) {
    throw new TldError('EINVAL', `${id} is not a ${what} id (1 to ${PID_MAX_LIMIT})`);
  }
}

/** The prefix every pin the caller names must have: the host's own program pin root. */
export function checkPinRoot(caller: Caller, requested: string, configured: string): string {
  if (isRoot(caller)) return requested;
  if (requested !== configured) {
    throw new TldError('EPERM', `programs are pinned under ${configured} only, not ${JSON.stringify(requested)}`);
  }
  return configured;
}
