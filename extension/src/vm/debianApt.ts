// Debian's kernel packages through a private apt configuration under <cacheDir>/apt/ (its own
// sources.list, lists, package cache and status: the machine's sources are never read or changed):
// apt-get update of trixie-backports, the package's metadata, a checked download, and the pure
// parts (mirror, package choice, release order, control stanzas) exported for tests.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TldError } from '../client/errors';
import { failure, findTool, run, tail } from './exec';
import { folderBytes, formatBytes, mkdirp, safeReaddir, sha256File } from './files';
import { Progress } from './kernelInfo';

export const DEFAULT_SERIES = '6.18';
export const SUITE = 'trixie-backports';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface Apt {
  readonly get: string;
  readonly cache: string;
  /** The -o options that make apt use only <cacheDir>/apt. */
  readonly options: readonly string[];
  readonly mirror: string;
  readonly dir: string;
}

/** Writes the private apt configuration and runs `apt-get update` on it. */
export async function prepareApt(cacheDir: string, mirror: string, onProgress: (p: Progress) => void, withSources = false): Promise<Apt> {
  const get = findTool('apt-get', `download the ${SUITE} kernel`);
  const cache = findTool('apt-cache', `find the ${SUITE} kernel`);
  const dir = path.join(cacheDir, 'apt');
  for (const d of ['sources.list.d', 'preferences.d', 'state/lists/partial', 'cache/archives/partial']) mkdirp(path.join(dir, d));
  if (!fs.existsSync(path.join(dir, 'state', 'status'))) fs.writeFileSync(path.join(dir, 'state', 'status'), '');
  fs.writeFileSync(path.join(dir, 'apt.conf'), APT_CONF);
  const base = aptOptions(dir);

  const keyring = fs.existsSync(KEYRING) ? KEYRING : null;
  const attempts: { trusted: boolean; why: string }[] = keyring
    ? [{ trusted: false, why: '' }, { trusted: true, why: `the archive keys in ${KEYRING} do not verify ${SUITE}` }]
    : [{ trusted: true, why: `${KEYRING} is missing (install debian-archive-keyring)` }];
  let last = '';
  for (const attempt of attempts) {
    const opt = attempt.trusted ? '[trusted=yes]' : `[signed-by=${keyring}]`;
    fs.writeFileSync(
      path.join(dir, 'sources.list'),
      `# Written by TLD Studio's VM runner: the sched_ext kernel comes from ${SUITE}.\ndeb ${opt} ${mirror} ${SUITE} main\n` +
        // The source index only when a kernel is built from source (tldctl vm kernel --build).
        (withSources ? `deb-src ${opt} ${mirror} ${SUITE} main\n` : ''),
    );
    if (attempt.trusted) {
      onProgress({ step: 'warning', message: `${attempt.why}: using ${SUITE} without signature checks` });
    }
    const options = attempt.trusted ? [...base, '-o', 'APT::Get::AllowUnauthenticated=true'] : base;
    onProgress({ step: 'apt-update', message: `apt-get update (${mirror} ${SUITE} main)` });
    let pending = '';
    const r = await run(get, [...options, 'update'], {
      timeoutMs: 10 * 60_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
      onStdout: (chunk) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const l of lines) if (/^(Get|Hit|Ign):/.test(l)) onProgress({ step: 'apt-update', message: l.trim() });
      },
    });
    const lists = fs.readdirSync(path.join(dir, 'state', 'lists'));
    const havePackages = lists.some((f) => f.includes(`_dists_${SUITE}_main_binary-amd64_Packages`));
    const signatureTrouble = /NO_PUBKEY|not signed|EXPKEYSIG|KEYEXPIRED|BADSIG|signatures? (couldn't|could not) be verified|Signed-By/i.test(r.stderr);
    const fetchFailed = /Failed to fetch|Some index files failed to download|Unable to connect|Could not resolve/i.test(r.stderr);
    if (r.code === 0 && havePackages && !signatureTrouble && !fetchFailed) {
      return { get, cache, options, mirror, dir };
    }
    last = tail(r.stderr) || tail(r.stdout);
    if (!signatureTrouble) {
      throw new TldError(
        'EIO',
        `apt-get update of ${mirror} ${SUITE} main failed (${r.timedOut ? 'timed out' : `exit ${r.code}`}): ${last || 'no package list was fetched'}\n` +
          `Check that ${mirror} is reachable (or pass another mirror); the private apt configuration is in ${dir}.`,
      );
    }
  }
  throw new TldError('EIO', `apt-get update of ${mirror} ${SUITE} main failed its signature check: ${last}`);
}

/**
 * Read with -c after the machine's apt.conf.d: the machine's update and dpkg hooks (cache
 * cleaners, PackageKit, AppStream refreshes) are about its own lists, not this private one.
 */
const APT_CONF = [
  "// Written by TLD Studio's VM runner; used with -c by its private apt-get and apt-cache.",
  '#clear APT::Update::Pre-Invoke;',
  '#clear APT::Update::Post-Invoke;',
  '#clear APT::Update::Post-Invoke-Success;',
  '#clear DPkg::Pre-Invoke;',
  '#clear DPkg::Post-Invoke;',
  '',
].join('\n');

/**
 * The options that confine apt-get and apt-cache to the private folder `dir`:
 * `-c <dir>/apt.conf` then `-o Name=value` pairs.
 */
export function aptOptions(dir: string): string[] {
  const o = [
    `Dir::State=${dir}/state`,
    `Dir::State::Lists=${dir}/state/lists`,
    `Dir::State::status=${dir}/state/status`,
    `Dir::Cache=${dir}/cache`,
    `Dir::Cache::archives=${dir}/cache/archives`,
    `Dir::Cache::pkgcache=${dir}/cache/pkgcache.bin`,
    `Dir::Cache::srcpkgcache=${dir}/cache/srcpkgcache.bin`,
    `Dir::Etc::sourcelist=${dir}/sources.list`,
    `Dir::Etc::sourceparts=${dir}/sources.list.d`,
    `Dir::Etc::preferences=${dir}/preferences`,
    `Dir::Etc::preferencesparts=${dir}/preferences.d`,
    'APT::Architecture=amd64',
    'APT::Architectures=amd64',
    'Acquire::Languages=none',
    'Acquire::Check-Valid-Until=false',
    'APT::Get::List-Cleanup=true',
  ];
  // As root apt drops to the _apt user to download, which cannot write into a root-owned cache.
  if (process.getuid?.() === 0) o.push('APT::Sandbox::User=root');
  return ['-c', `${dir}/apt.conf`, ...o.flatMap((x) => ['-o', x])];
}

export interface PackageMeta {
  readonly version: string;
  readonly size: number;
  readonly sha256: string;
  readonly filename: string;
}

export async function packageMeta(apt: Apt, pkg: string): Promise<PackageMeta> {
  const policy = await run(apt.cache, [...apt.options, 'policy', pkg]);
  if (policy.code !== 0) throw failure(`apt-cache policy ${pkg}`, policy);
  const candidate = /^\s*Candidate:\s*(\S+)/m.exec(policy.stdout)?.[1];
  const show = await run(apt.cache, [...apt.options, 'show', pkg]);
  if (show.code !== 0) throw failure(`apt-cache show ${pkg}`, show);
  const stanzas = parseControl(show.stdout).filter((s) => s.Package === pkg);
  const chosen = stanzas.find((s) => s.Version === candidate) ?? stanzas[0];
  if (!chosen || !chosen.Version || !chosen.Size || !chosen.SHA256) {
    throw new TldError('EIO', `apt-cache show ${pkg} gave no Version, Size and SHA256:\n${tail(show.stdout)}`);
  }
  return { version: chosen.Version, size: Number(chosen.Size), sha256: chosen.SHA256.toLowerCase(), filename: chosen.Filename ?? '' };
}

/** `apt-get download` into `dir` (inside the partial folder), with byte counts; returns the .deb. */
export async function download(apt: Apt, pkg: string, meta: PackageMeta, dir: string, onProgress: (p: Progress) => void): Promise<string> {
  mkdirp(dir);
  const total = meta.size;
  let lastDone = -1;
  const report = (): void => {
    const done = folderBytes(dir);
    if (done !== lastDone) {
      lastDone = done;
      onProgress({ step: 'download', message: `${pkg}: ${formatBytes(done)} of ${formatBytes(total)}`, done, total });
    }
  };
  report();
  const timer = setInterval(report, 250);
  let r: Awaited<ReturnType<typeof run>>;
  try {
    r = await run(apt.get, [...apt.options, 'download', `${pkg}=${meta.version}`], {
      cwd: dir,
      timeoutMs: 30 * 60_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' },
    });
  } finally {
    clearInterval(timer);
  }
  if (r.code !== 0) {
    throw failure(`downloading ${pkg} ${meta.version}`, r, `Nothing was kept in the cache; check the network and try again.`);
  }
  const debs = safeReaddir(dir).filter((f) => f.endsWith('.deb'));
  if (debs.length !== 1) throw new TldError('EIO', `apt-get download ${pkg} left ${debs.length} .deb files in ${dir}`);
  const deb = path.join(dir, debs[0]!);
  const size = fs.statSync(deb).size;
  if (size !== meta.size) throw new TldError('EIO', `downloaded ${deb} has ${size} bytes, the archive says ${meta.size}`);
  const got = await sha256File(deb);
  if (got !== meta.sha256) throw new TldError('EIO', `downloaded ${deb} has SHA-256 ${got}, the archive says ${meta.sha256}`);
  report();
  return deb;
}

/**
 * The Debian archive root the machine's apt uses ("http://deb.debian.org/debian"), from
 * one-line (.list) and deb822 (.sources) texts: the first http(s) URI of a `deb` entry
 * whose path ends in /debian. TLD_VM_APT_MIRROR overrides; the default is deb.debian.org.
 */
export function debianMirror(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TLD_VM_APT_MIRROR) return env.TLD_VM_APT_MIRROR.replace(/\/+$/, '');
  const texts: string[] = [];
  const read = (f: string): void => {
    try {
      texts.push(fs.readFileSync(f, 'utf8'));
    } catch {
      // unreadable: skip
    }
  };
  read('/etc/apt/sources.list');
  for (const f of safeReaddir('/etc/apt/sources.list.d').sort()) {
    if (f.endsWith('.list') || f.endsWith('.sources')) read(path.join('/etc/apt/sources.list.d', f));
  }
  return mirrorFromSources(texts) ?? 'http://deb.debian.org/debian';
}

export function mirrorFromSources(texts: readonly string[]): string | null {
  const uris: string[] = [];
  for (const text of texts) {
    const lines = text.split('\n').map((l) => l.replace(/#.*$/, '').trim());
    // One-line format: deb [options] uri suite components...
    for (const l of lines) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/.exec(l);
      if (m) uris.push(m[1]!);
    }
    // deb822 format: stanzas of Types:/URIs:/Enabled:.
    for (const stanza of text.split(/\n\s*\n/)) {
      const fields = new Map<string, string>();
      for (const raw of stanza.split('\n')) {
        const l = raw.replace(/#.*$/, '');
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(l);
        if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
      }
      if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
      if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
      uris.push(...(fields.get('uris') ?? '').split(/\s+/).filter((u) => u !== ''));
    }
  }
  for (const uri of uris) {
    const u = uri.replace(/\/+$/, '');
    if (/^https?:\/\/[^/]+(\/.*)?\/debian$/.test(u) && !/snapshot\.debian\.org/.test(u)) return u;
  }
  return null;
}

/** The newest `linux-image-<series>.N...-cloud-amd64` among package names, or null. */
export function pickNewestKernel(names: readonly string[], series: string = DEFAULT_SERIES): string | null {
  const re = /^linux-image-(\d+\.\d+\.\d+[^\s]*)-cloud-amd64$/;
  const fit = names.filter((n) => {
    const m = re.exec(n);
    return m !== null && m[1]!.startsWith(`${series}.`) && !/-(dbg|unsigned)$/.test(n);
  });
  fit.sort((a, b) => compareReleases(a, b));
  return fit.length ? fit[fit.length - 1]! : null;
}

/** Orders kernel releases (or names holding them) by their numbers: 6.18.9 < 6.18.12. */
export function compareReleases(a: string, b: string): number {
  const na = (a.match(/\d+/g) ?? []).map(Number);
  const nb = (b.match(/\d+/g) ?? []).map(Number);
  for (let i = 0; i < Math.max(na.length, nb.length); i++) {
    const x = na[i] ?? -1;
    const y = nb[i] ?? -1;
    if (x !== y) return x - y;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Debian control stanzas (apt-cache show, showsrc): field maps. A continuation line (one that
 * starts with a space) adds a line to its field, trimmed: "Checksums-Sha256" is then "\nSUM SIZE NAME...".
 */
export function parseControl(text: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const rec: Record<string, string> = {};
    let field: string | null = null;
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
      if (m) {
        field = m[1]!;
        rec[field] = m[2]!.trim();
      } else if (field !== null && /^\s/.test(line)) {
        rec[field] += `\n${line.trim()}`;
      }
    }
    if (Object.keys(rec).length) out.push(rec);
  }
  return out;
}
