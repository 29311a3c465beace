// vmlinux.h precompiled: parsing its 2.8 MB is half of a scheduler's compile (0.13 of 0.26 s
// here). A precompiled header is made once per clang, header and flags, kept in the cache, and
// stands in for the source's `#include "vmlinux.h"` when nothing before that include can change
// what the header means: it is the source's first line of code, or the first of headers the
// source includes first (includeChain.ts).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { chainVerdict, includesVmlinuxFirst, learnChain, parseIncludeTree, quotedIncludeFinds, readChain, withoutIncludeTree } from './includeChain';
import { pruneKept, statKey, touch } from './keptFiles';
import { cacheDir } from './paths';

/** Precompiled headers kept (each some 16 MB): one per kernel and flags in use. */
const KEPT = 4;
/** Include chains kept (a few hundred bytes each): one per source and header. */
const KEPT_CHAINS = 256;

/** User flags that put something before the source's first line, or read it otherwise. */
const UNSAFE_FLAG = /^-(include|imacros|iquote|x$|E$)/;

export interface PchRequest {
  /** The clang that compiles, as found on PATH. */
  readonly clang: string;
  /** The source, and the vmlinux.h its include finds (the first include folder's). */
  readonly source: string;
  readonly header: string;
  /** Every flag of the compile but `-c SOURCE -o OBJECT`: the header is built with the same. */
  readonly flags: readonly string[];
  /** The user's own flags among them. */
  readonly userFlags: readonly string[];
}

export interface PchPlan {
  /** The precompiled header to use, or to make for the next compile; undefined: none stands in. */
  readonly pch?: string;
  /**
   * Where to keep what this compile learns of the source's include chain: the source reaches
   * vmlinux.h through other headers, and whether a precompiled one may stand in is not known
   * yet. The compile then runs with -H (learnFromCompile).
   */
  readonly learn?: string;
}

/**
 * Whether a precompiled vmlinux.h can stand in for @req's include of it: when the source's first
 * line of code includes it, or a compile learnt that the source reaches it through headers that
 * do nothing before (includeChain.ts) and their text there is unchanged.
 */
export function planPch(req: PchRequest, env: NodeJS.ProcessEnv = process.env): PchPlan {
  if (req.userFlags.some((f) => UNSAFE_FLAG.test(f))) return {};
  try {
    return plan(req, fs.readFileSync(req.source, 'utf8'), path.join(cacheDir(env), 'pch'));
  } catch {
    return {}; // no vmlinux.h there, say: clang's error says so
  }
}

/** planPch for @req, whose source reads @text, with headers and chains kept in @dir. */
function plan(req: PchRequest, text: string, dir: string): PchPlan {
  const hash = createHash('sha256').update('tld-vmlinux-pch 1\n').update(statKey(req.clang)).update(`\n${statKey(req.header)}`);
  for (const f of req.flags) hash.update(`\n${f}`);
  const key = hash.digest('hex').slice(0, 20);
  const pch = path.join(dir, `vmlinux-${key}.pch`);
  if (includesVmlinuxFirst(text)) return quotedIncludeFinds(req.source, req.header) ? { pch } : {};
  const record = path.join(dir, 'chains', `${createHash('sha256').update(`${req.source}\n${key}`).digest('hex').slice(0, 20)}.json`);
  const known = readChain(record);
  const verdict = known ? chainVerdict(known, req.source, req.header) : 'learn';
  return verdict === 'use' ? { pch } : verdict === 'skip' ? {} : { learn: record };
}

/** Keeps what @stderr (a compile run with -H) says of the source's include chain, and gives back stderr without the tree. */
export function learnFromCompile(req: PchRequest, record: string, stderr: string, cwd: string): string {
  try {
    const learnt = learnChain(req.source, req.header, parseIncludeTree(stderr, cwd));
    fs.mkdirSync(path.dirname(record), { recursive: true });
    fs.writeFileSync(`${record}.tmp-${process.pid}`, JSON.stringify(learnt));
    fs.renameSync(`${record}.tmp-${process.pid}`, record);
    pruneKept(path.dirname(record), /^[0-9a-f]+\.json$/, KEPT_CHAINS, record);
  } catch {
    // Not learnt: the next compile tries again.
  }
  return withoutIncludeTree(stderr);
}

/** @pch when it is there (marked as just used), else undefined. */
export function keptPch(pch: string): string | undefined {
  try {
    touch(pch);
    return pch;
  } catch {
    return undefined;
  }
}

/** Builds under way in this process, by header: two compiles at once (a save and a vm run) make it once. */
const building = new Map<string, Promise<boolean>>();

/**
 * Builds the precompiled header for @req at @pch: written under another name and renamed, so
 * that compiles at the same time each see a whole file or none. False when clang failed (the
 * compile goes on without one, and says nothing: the compile's own errors are the ones to show).
 */
export function buildPch(req: PchRequest, pch: string): Promise<boolean> {
  let b = building.get(pch);
  if (!b) {
    b = make(req, pch).finally(() => building.delete(pch));
    building.set(pch, b);
  }
  return b;
}

async function make(req: PchRequest, pch: string): Promise<boolean> {
  const dir = path.dirname(pch);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${pch}.tmp-${process.pid}`; // one build of @pch at a time in this process (building)
  const code = await new Promise<number>((resolve) => {
    const child = spawn(req.clang, [...req.flags, '-x', 'c-header', req.header, '-o', tmp], { stdio: 'ignore' });
    child.on('error', () => resolve(1));
    child.on('close', (c) => resolve(c ?? 1));
  });
  try {
    if (code !== 0) return false;
    fs.renameSync(tmp, pch);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  pruneKept(dir, /^vmlinux-[0-9a-f]+\.pch$/, KEPT, pch);
  return true;
}

/**
 * Whether clang's @stderr says the precompiled header @pch itself is the problem: changed,
 * another clang's, or removed meanwhile (another process pruning the cache).
 */
export const pchRefused = (stderr: string, pch: string): boolean => stderr.includes(pch) || /precompiled header|PCH file/i.test(stderr);
