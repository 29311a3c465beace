// The kernel cache's folders and records: what is cached (a record and the files it names), how a
// finished kernel folder enters the cache (by rename, whole or not at all), and what a killed run
// left behind. Callers hold the cache's lock (folderLock.ts) while they change it.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { compareReleases } from './debianApt';
import { mkdirp, rmrf, safeReaddir } from './files';
import { KernelInfo } from './kernelInfo';

const RECORD = 'kernel.json';

/** The kernels in a cache, newest first (Debian's and users'). */
export function listCachedKernels(cacheDir: string): KernelInfo[] {
  return cachedEntries(path.join(cacheDir, 'kernel'))
    .sort((a, b) => compareReleases(b.record.version, a.record.version))
    .map((e) => toInfo(e.dir, e.record, true));
}

export type Source =
  | { readonly kind: 'debian'; readonly package: string; readonly debVersion: string; readonly mirror: string }
  | { readonly kind: 'file'; readonly path: string }
  /** Built by kernelBuild.ts from Debian's linux source; configSha256 names the configuration fragment. */
  | { readonly kind: 'built'; readonly package: 'linux'; readonly debVersion: string; readonly configSha256: string };

export interface CacheRecord {
  readonly format: 1;
  readonly version: string;
  readonly source: Source;
  /** SHA-256 of the image the kernel was made from (the vmlinuz, or the user's file). */
  readonly imageSha256: string;
  /** File names inside the kernel's folder. */
  readonly bzImage: string;
  readonly hasBtf: boolean;
  readonly hasSchedExt: boolean;
  readonly modules: boolean;
  readonly config: boolean;
  readonly createdAt: string;
}

function parseRecord(text: string): CacheRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  const src = r.source as Record<string, unknown> | undefined;
  const okSource =
    typeof src === 'object' &&
    src !== null &&
    ((src.kind === 'debian' && typeof src.package === 'string' && typeof src.debVersion === 'string' && typeof src.mirror === 'string') ||
      (src.kind === 'file' && typeof src.path === 'string') ||
      (src.kind === 'built' && src.package === 'linux' && typeof src.debVersion === 'string' && typeof src.configSha256 === 'string'));
  if (
    r.format !== 1 ||
    typeof r.version !== 'string' ||
    !okSource ||
    typeof r.imageSha256 !== 'string' ||
    typeof r.bzImage !== 'string' ||
    typeof r.hasBtf !== 'boolean' ||
    typeof r.hasSchedExt !== 'boolean' ||
    typeof r.modules !== 'boolean' ||
    typeof r.config !== 'boolean' ||
    typeof r.createdAt !== 'string'
  ) {
    return null;
  }
  return v as CacheRecord;
}

export interface CacheEntry {
  readonly dir: string;
  readonly record: CacheRecord;
}

/** Complete cached kernels: a readable record and the files it names. */
export function cachedEntries(kernelRoot: string): CacheEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(kernelRoot);
  } catch {
    return [];
  }
  const out: CacheEntry[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const dir = path.join(kernelRoot, name);
    let record: CacheRecord | null;
    try {
      record = parseRecord(fs.readFileSync(path.join(dir, RECORD), 'utf8'));
    } catch {
      continue;
    }
    if (!record || !record.hasBtf || !record.hasSchedExt) continue;
    const files = [record.bzImage, 'vmlinux', 'vmlinux.h'].map((f) => path.join(dir, f));
    if (files.every((f) => fs.existsSync(f))) out.push({ dir, record });
  }
  return out;
}

export function toInfo(dir: string, r: CacheRecord, fromCache: boolean): KernelInfo {
  return {
    version: r.version,
    bzImage: path.join(dir, r.bzImage),
    vmlinuxElf: path.join(dir, 'vmlinux'),
    vmlinuxH: path.join(dir, 'vmlinux.h'),
    hasSchedExt: r.hasSchedExt,
    hasBtf: r.hasBtf,
    fromCache,
    ...(r.modules ? { modulesDir: path.join(dir, 'modules') } : {}),
    ...(r.config ? { configFile: path.join(dir, 'config') } : {}),
    source: sourceName(r.source),
  };
}

function sourceName(s: Source): string {
  switch (s.kind) {
    case 'debian':
      return `debian:${s.package}=${s.debVersion}`;
    case 'built':
      return `built:linux=${s.debVersion}`;
    case 'file':
      return `file:${s.path}`;
    default: {
      const never: never = s;
      return never;
    }
  }
}

/** The newest kernel of `series` that came from @kind (Debian's package, or kernelBuild.ts), if any. */
function newestEntry(kernelRoot: string, series: string, kind: 'debian' | 'built'): CacheEntry | null {
  const entries = cachedEntries(kernelRoot)
    .filter((e) => e.record.source.kind === kind && e.record.version.startsWith(`${series}.`))
    .sort((a, b) => compareReleases(b.record.version, a.record.version));
  return entries[0] ?? null;
}

/** The newest kernel of `series` built by kernelBuild.ts, if any. */
export function newestBuiltEntry(kernelRoot: string, series: string): CacheEntry | null {
  return newestEntry(kernelRoot, series, 'built');
}

export function newestDebianEntry(kernelRoot: string, series: string): CacheEntry | null {
  return newestEntry(kernelRoot, series, 'debian');
}

/** Writes the record and renames the finished folder into place; returns its path. */
export function commit(work: string, kernelRoot: string, name: string, record: CacheRecord): string {
  fs.writeFileSync(path.join(work, RECORD), `${JSON.stringify(record, null, 2)}\n`);
  const dir = path.join(kernelRoot, name);
  if (fs.existsSync(dir)) {
    // An older build of the same release (or a broken one): move it aside, then drop it.
    const old = path.join(kernelRoot, `.old-${process.pid}-${randomBytes(4).toString('hex')}`);
    fs.renameSync(dir, old);
    rmrf(old);
  }
  fs.renameSync(work, dir);
  return dir;
}

export function safeName(version: string): string {
  return version.replace(/[^A-Za-z0-9._+-]/g, '_');
}

export function partialDir(kernelRoot: string): string {
  const d = path.join(kernelRoot, `.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirp(d);
  return d;
}

/**
 * Removes folders that crashed or killed runs left (we hold the lock, so no live run owns
 * one). A killed run's tool (dpkg-deb, zstd) may still be writing into its folder: what cannot
 * be removed now is left for a later call.
 */
export function removeLeftovers(kernelRoot: string): void {
  for (const name of safeReaddir(kernelRoot)) {
    if (!name.startsWith('.partial-') && !name.startsWith('.old-')) continue;
    try {
      fs.rmSync(path.join(kernelRoot, name), { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // still being written by an orphaned tool: next time
    }
  }
}
