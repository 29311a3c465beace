// The Linux source the minimal kernel is built from: Debian's `linux` source package of the
// same release as the cached cloud kernel (or the newest of a series), through the private apt
// configuration, its upstream tarball checked by apt against the Sources index and unpacked once
// into <cacheDir>/kernel-build/src/linux-<release>/, which later builds reuse.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TldError } from '../client/errors';
import { Apt, SUITE, compareReleases, parseControl } from './debianApt';
import { failure, findTool, run } from './exec';
import { folderBytes, formatBytes, mkdirp, rmrf, safeReaddir } from './files';
import { Progress } from './kernelInfo';

/** One stanza of `apt-cache showsrc`: the fields a download needs. */
export interface SourceStanza {
  readonly package: string;
  readonly version: string;
  readonly directory: string;
  readonly files: readonly { readonly sha256: string; readonly size: number; readonly name: string }[];
}

/** `apt-cache showsrc` stanzas, with the files of their multi-line Checksums-Sha256 field. */
export function parseSourceStanzas(text: string): SourceStanza[] {
  const out: SourceStanza[] = [];
  for (const fields of parseControl(text)) {
    const { Package: pkg, Version: version, Directory: directory } = fields;
    if (!pkg || !version || !directory) continue;
    const files = (fields['Checksums-Sha256'] ?? '')
      .split('\n')
      .map((l) => /^([0-9a-f]{64})\s+(\d+)\s+(\S+)$/.exec(l.trim()))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ sha256: m[1]!, size: Number(m[2]), name: m[3]! }));
    out.push({ package: pkg, version, directory, files });
  }
  return out;
}

/** "6.18.15-1~bpo13+1" → "6.18.15": the upstream release of a Debian version. */
export function upstreamRelease(debVersion: string): string {
  return debVersion.replace(/^\d+:/, '').replace(/-[^-]*$/, '');
}

/** The stanza to build: `debVersion` exactly, else the newest of `series`. */
export function pickSource(stanzas: readonly SourceStanza[], want: { debVersion?: string; series: string }): SourceStanza | null {
  const linux = stanzas.filter((s) => s.package === 'linux');
  if (want.debVersion !== undefined) return linux.find((s) => s.version === want.debVersion) ?? null;
  const fit = linux.filter((s) => upstreamRelease(s.version).startsWith(`${want.series}.`));
  fit.sort((a, b) => compareReleases(b.version, a.version));
  return fit[0] ?? null;
}

export interface UnpackedSource {
  readonly dir: string;
  readonly release: string;
  readonly debVersion: string;
  readonly origSha256: string;
}

const SOURCE_RECORD = '.tld-source.json';

/** The unpacked tree of `release`, if a previous build left it whole. */
export function unpackedSource(buildRoot: string, release: string): UnpackedSource | null {
  const dir = path.join(buildRoot, 'src', `linux-${release}`);
  try {
    const r = JSON.parse(fs.readFileSync(path.join(dir, SOURCE_RECORD), 'utf8')) as UnpackedSource;
    if (r.release === release && typeof r.debVersion === 'string' && typeof r.origSha256 === 'string') return { ...r, dir };
  } catch {
    // not unpacked (or a killed unpack)
  }
  return null;
}

/**
 * Downloads the `linux` source's upstream tarball (apt checks its SHA-256 against the Sources
 * index) and unpacks it. Debian's patch series is not applied: the guest kernel needs none of it,
 * and a mirror may carry the tarball without the Debian part.
 */
export async function fetchSource(apt: Apt, buildRoot: string, stanza: SourceStanza, onProgress: (p: Progress) => void): Promise<UnpackedSource> {
  const release = upstreamRelease(stanza.version);
  const have = unpackedSource(buildRoot, release);
  if (have) return have;
  const orig = stanza.files.find((f) => /\.orig\.tar\.(xz|gz|bz2)$/.test(f.name));
  if (!orig) throw new TldError('EIO', `linux ${stanza.version} in ${SUITE} lists no .orig.tar file: ${stanza.files.map((f) => f.name).join(', ')}`);
  const download = path.join(buildRoot, 'download');
  mkdirp(download);
  for (const f of safeReaddir(download)) if (f !== orig.name) rmrf(path.join(download, f));
  const target = path.join(download, orig.name);
  const timer = setInterval(() => {
    const done = folderBytes(download);
    onProgress({ step: 'download', message: `${orig.name}: ${formatBytes(Math.min(done, orig.size))} of ${formatBytes(orig.size)}`, done: Math.min(done, orig.size), total: orig.size });
  }, 500);
  let r: Awaited<ReturnType<typeof run>>;
  try {
    onProgress({ step: 'download', message: `${orig.name} (${formatBytes(orig.size)})`, done: 0, total: orig.size });
    // --tar-only: the upstream tarball only, which apt checks against the index's SHA-256.
    r = await run(apt.get, [...apt.options, 'source', '--download-only', '--tar-only', `linux=${stanza.version}`], {
      cwd: download,
      timeoutMs: 60 * 60_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
    });
  } finally {
    clearInterval(timer);
  }
  if (r.code !== 0 || !fs.existsSync(target)) throw failure(`downloading the linux ${stanza.version} source`, r, `The download is kept in ${download}; try again.`);
  if (fs.statSync(target).size !== orig.size) throw new TldError('EIO', `${target} has ${fs.statSync(target).size} bytes, the Sources index says ${orig.size}`);

  const src = path.join(buildRoot, 'src');
  mkdirp(src);
  const partial = path.join(src, `.partial-${process.pid}`);
  rmrf(partial);
  mkdirp(partial);
  onProgress({ step: 'unpack', message: `unpacking ${orig.name} into ${src}` });
  const tar = findTool('tar', 'unpack the kernel source');
  const x = await run(tar, ['-xf', target, '-C', partial], { timeoutMs: 20 * 60_000 });
  if (x.code !== 0) {
    rmrf(partial);
    throw failure(`unpacking ${target}`, x);
  }
  const top = safeReaddir(partial);
  if (top.length !== 1 || !fs.existsSync(path.join(partial, top[0]!, 'Makefile'))) {
    rmrf(partial);
    throw new TldError('EIO', `${orig.name} did not unpack into one kernel tree (found: ${top.join(', ') || 'nothing'})`);
  }
  const dir = path.join(src, `linux-${release}`);
  rmrf(dir);
  fs.renameSync(path.join(partial, top[0]!), dir);
  rmrf(partial);
  const record: UnpackedSource = { dir, release, debVersion: stanza.version, origSha256: orig.sha256 };
  fs.writeFileSync(path.join(dir, SOURCE_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  // The tarball is not needed once unpacked: 150 MB back.
  rmrf(target);
  return record;
}
