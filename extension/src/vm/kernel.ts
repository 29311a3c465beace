// Getting a sched_ext kernel for the VM runner (`tldctl vm kernel`, `tldctl vm run`).
//
//   const k = await ensureKernel({ cacheDir, onProgress: (p) => console.log(p.step, p.message) });
//   // k.bzImage boots with qemu (see qemu.ts); k.vmlinuxH is the guest's vmlinux.h for BPF code.
//
// Without kernelPath it takes Debian's newest linux-image-6.18.*-cloud-amd64 from the suite
// trixie-backports (main), through apt with a configuration of its own under <cacheDir>/apt/
// (own sources.list, lists, package cache and status; the machine's sources are never read
// or changed), unpacks it with dpkg-deb, decompresses the bzImage's payload (zstd) into the ELF
// vmlinux, checks its .BTF, and dumps vmlinux.h with bpftool. With kernelPath it does the same
// with the user's bzImage or ELF vmlinux (an ELF needs CONFIG_PVH to be booted by qemu).
//
// Cache layout (a kernel's folder appears whole, by rename, or not at all):
//   <cacheDir>/apt/                      sources.list, sources.list.d/, preferences.d/, state/, cache/
//   <cacheDir>/kernel/<version>/         a Debian kernel: bzImage vmlinux vmlinux.h config modules/ kernel.json
//   <cacheDir>/kernel/<version>-<sha12>/ a user's kernel (sha12: the start of the image's SHA-256)
//   <cacheDir>/kernel/.lock              flock()ed while one process fills the cache (folderLock.ts)
// A cached kernel is returned with fromCache: true and no apt command is run (pass refresh to
// look for a newer 6.18.x). Host tools: apt, dpkg, zstd, bpftool (scripts/vm/setup-vm.sh).
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TldError } from '../client/errors';
import { KernelImage, elfSections, inspectKernelImage, isElf } from './elf';
import { SETUP_HINT, failure, findTool, lookupTool, run, tail } from './exec';
import { acquireFolderLock } from './folderLock';

/** What ensureKernel hands back; paths are absolute, inside the cache. */
export interface KernelInfo {
  /** The kernel release, as `uname -r` prints it in the guest ("6.18.15+deb13-cloud-amd64"). */
  readonly version: string;
  /** What qemu's -kernel boots: a bzImage, or for an ELF given by the user, that ELF (PVH). */
  readonly bzImage: string;
  /** The decompressed ELF vmlinux (with .BTF). */
  readonly vmlinuxElf: string;
  /** `bpftool btf dump file <vmlinux> format c`: include it from the guest's BPF programs. */
  readonly vmlinuxH: string;
  /** vmlinux.h defines `struct sched_ext_ops` (CONFIG_SCHED_CLASS_EXT=y). */
  readonly hasSchedExt: boolean;
  /** The ELF has a non-empty .BTF section (CONFIG_DEBUG_INFO_BTF=y). */
  readonly hasBtf: boolean;
  /** True when everything came from the cache, with no apt command and no decompression. */
  readonly fromCache: boolean;
  /** The kernel's modules (lib/modules/<version>), for Debian kernels. */
  readonly modulesDir?: string;
  /** The kernel's .config, for Debian kernels. */
  readonly configFile?: string;
  /** Where it came from: "debian:<package>=<deb version>" or "file:<path>". */
  readonly source: string;
}

/**
 * Progress reports, one kind per long step, told apart by `step`. Every kind has a `message`
 * fit for a status line; `download` and `decompress` also count bytes (`done` of `total`),
 * so any report fits the loose shape `{ step: string; done?: number; total?: number }`.
 *
 * - `lock-wait`: another process is filling the same cache; waiting for it.
 * - `cache-hit`: a cached kernel is used (the last report of such a call).
 * - `apt-update`: `apt-get update` of the private trixie-backports list (`message` follows apt's Get: lines).
 * - `resolve`: choosing the newest linux-image-6.18.*-cloud-amd64.
 * - `download`: `apt-get download`; `done`/`total` are bytes of the .deb.
 * - `unpack`: `dpkg-deb -x`.
 * - `read`: reading and hashing a user's kernel image.
 * - `decompress`: the bzImage payload into the ELF vmlinux; `done` bytes written, `total` when known.
 * - `btf-dump`: `bpftool btf dump` into vmlinux.h and the sched_ext check.
 * - `warning`: something worked but less safely than it should (for example an unsigned archive).
 * - `done`: the kernel is ready (after a fresh build of the cache).
 */
export type Progress =
  | { readonly step: 'lock-wait'; readonly message: string }
  | { readonly step: 'cache-hit'; readonly message: string }
  | { readonly step: 'apt-update'; readonly message: string }
  | { readonly step: 'resolve'; readonly message: string }
  | { readonly step: 'download'; readonly message: string; readonly done: number; readonly total: number }
  | { readonly step: 'unpack'; readonly message: string }
  | { readonly step: 'read'; readonly message: string }
  | { readonly step: 'decompress'; readonly message: string; readonly done: number; readonly total?: number }
  | { readonly step: 'btf-dump'; readonly message: string }
  | { readonly step: 'warning'; readonly message: string }
  | { readonly step: 'done'; readonly message: string };

export type ProgressStep = Progress['step'];

export interface EnsureKernelOptions {
  /** The cache root, for example ~/.cache/tld-studio. */
  readonly cacheDir: string;
  /** A bzImage or ELF vmlinux to use instead of Debian's kernel. */
  readonly kernelPath?: string;
  readonly onProgress: (p: Progress) => void;
  /** Ask trixie-backports for a newer kernel even when one is cached. */
  readonly refresh?: boolean;
  /** The kernel series to take; default "6.18". */
  readonly series?: string;
  /** The Debian mirror ("http://deb.debian.org/debian"); default: the machine's, see debianMirror. */
  readonly mirror?: string;
}

export const DEFAULT_SERIES = '6.18';
export const SUITE = 'trixie-backports';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const SCHED_EXT_MARK = 'struct sched_ext_ops {';
const RECORD = 'kernel.json';

/** Makes sure a sched_ext kernel with BTF is in the cache and says where its files are. */
export async function ensureKernel(opts: EnsureKernelOptions): Promise<KernelInfo> {
  const kernelRoot = path.join(opts.cacheDir, 'kernel');
  mkdirp(kernelRoot);
  const release = await acquireFolderLock(kernelRoot, {
    what: 'filling the kernel cache',
    onWait: (pid) =>
      opts.onProgress({ step: 'lock-wait', message: `waiting for ${pid ? `process ${pid}` : 'another process'}, which is filling ${kernelRoot}` }),
  });
  try {
    removeLeftovers(kernelRoot);
    if (opts.kernelPath !== undefined) return await fromFile(kernelRoot, opts.kernelPath, opts.onProgress);
    return await fromDebian(opts, kernelRoot);
  } finally {
    release();
  }
}

/** The kernels in a cache, newest first (Debian's and users'). */
export function listCachedKernels(cacheDir: string): KernelInfo[] {
  return cachedEntries(path.join(cacheDir, 'kernel'))
    .sort((a, b) => compareReleases(b.record.version, a.record.version))
    .map((e) => toInfo(e.dir, e.record, true));
}

// ---------------------------------------------------------------------------------------
// The cache's records

type Source =
  | { readonly kind: 'debian'; readonly package: string; readonly debVersion: string; readonly mirror: string }
  | { readonly kind: 'file'; readonly path: string };

interface CacheRecord {
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
      (src.kind === 'file' && typeof src.path === 'string'));
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

interface CacheEntry {
  readonly dir: string;
  readonly record: CacheRecord;
}

/** Complete cached kernels: a readable record and the files it names. */
function cachedEntries(kernelRoot: string): CacheEntry[] {
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

function toInfo(dir: string, r: CacheRecord, fromCache: boolean): KernelInfo {
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
    source: r.source.kind === 'debian' ? `debian:${r.source.package}=${r.source.debVersion}` : `file:${r.source.path}`,
  };
}

// ---------------------------------------------------------------------------------------
// A user's kernel

async function fromFile(kernelRoot: string, kernelPath: string, onProgress: (p: Progress) => void): Promise<KernelInfo> {
  const abs = path.resolve(kernelPath);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new TldError('ENOENT', `kernel image ${abs} does not exist; give the path of a bzImage (arch/x86/boot/bzImage) or an ELF vmlinux`);
  }
  if (!st.isFile()) throw new TldError('EINVAL', `kernel image ${abs} is not a file; give a bzImage or an ELF vmlinux`);
  onProgress({ step: 'read', message: `reading ${abs}` });
  const buf = fs.readFileSync(abs);
  const sha = sha256(buf);
  const image = inspectKernelImage(buf);
  if (image.kind === 'unknown') {
    throw new TldError(
      'EINVAL',
      `${abs} is not a Linux kernel: ${image.reason}. Give a bzImage (arch/x86/boot/bzImage) or an ELF vmlinux ` +
        'built with CONFIG_DEBUG_INFO_BTF=y and CONFIG_SCHED_CLASS_EXT=y, or leave the kernel out to use Debian\'s.',
    );
  }
  const hit = cachedEntries(kernelRoot).find((e) => e.record.imageSha256 === sha);
  if (hit) {
    onProgress({ step: 'cache-hit', message: `kernel ${hit.record.version} from ${abs} is cached in ${hit.dir}` });
    return toInfo(hit.dir, hit.record, true);
  }
  if (image.kind === 'elf' && !image.pvh) {
    throw new TldError(
      'EINVAL',
      `${abs} is an ELF vmlinux without a PVH entry note, which qemu -kernel cannot boot; give the bzImage ` +
        '(arch/x86/boot/bzImage) of the same build, or build with CONFIG_PVH=y',
    );
  }
  const version = image.version ?? 'unknown';
  const work = partialDir(kernelRoot);
  try {
    let bzImage: string;
    if (image.kind === 'elf') {
      fs.copyFileSync(abs, path.join(work, 'vmlinux'));
      bzImage = 'vmlinux';
    } else {
      fs.copyFileSync(abs, path.join(work, 'bzImage'));
      bzImage = 'bzImage';
      await decompressPayload(image, path.join(work, 'vmlinux'), abs, onProgress);
    }
    const checks = await checkVmlinux(work, abs, version, onProgress);
    const record: CacheRecord = {
      format: 1,
      version,
      source: { kind: 'file', path: abs },
      imageSha256: sha,
      bzImage,
      ...checks,
      modules: false,
      config: false,
      createdAt: new Date().toISOString(),
    };
    const dir = commit(work, kernelRoot, `${safeName(version)}-${sha.slice(0, 12)}`, record);
    onProgress({ step: 'done', message: `kernel ${version} from ${abs} is ready in ${dir}` });
    return toInfo(dir, record, false);
  } catch (e) {
    rmrf(work);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------
// Debian's kernel from trixie-backports

async function fromDebian(opts: EnsureKernelOptions, kernelRoot: string): Promise<KernelInfo> {
  const series = opts.series ?? DEFAULT_SERIES;
  const onProgress = opts.onProgress;
  const cached = newestDebianEntry(kernelRoot, series);
  if (cached && !opts.refresh) {
    onProgress({ step: 'cache-hit', message: `kernel ${cached.record.version} is cached in ${cached.dir}` });
    return toInfo(cached.dir, cached.record, true);
  }
  let apt: Apt;
  try {
    apt = await prepareApt(opts.cacheDir, opts.mirror ?? debianMirror(), onProgress);
  } catch (e) {
    if (!cached) throw e;
    // Asked to refresh but the archive cannot be reached: the cached kernel still works.
    onProgress({ step: 'warning', message: `cannot refresh (${(e as Error).message.split('\n')[0]}); using the cached kernel` });
    onProgress({ step: 'cache-hit', message: `kernel ${cached.record.version} is cached in ${cached.dir}` });
    return toInfo(cached.dir, cached.record, true);
  }

  onProgress({ step: 'resolve', message: `looking for linux-image-${series}.*-cloud-amd64 in ${SUITE}` });
  const pattern = `^linux-image-${series.replace(/\./g, '\\.')}\\.[0-9]+.*-cloud-amd64$`;
  const search = await run(apt.cache, [...apt.options, 'search', '--names-only', pattern]);
  if (search.code !== 0) throw failure(`searching ${SUITE} for the kernel`, search);
  const names = search.stdout.split('\n').map((l) => l.split(' - ')[0]!.trim()).filter((n) => n !== '');
  const pkg = pickNewestKernel(names, series);
  if (!pkg) {
    const others = await run(apt.cache, [...apt.options, 'search', '--names-only', '^linux-image-[0-9].*-cloud-amd64$']);
    const seen = others.stdout
      .split('\n')
      .map((l) => l.split(' - ')[0]!.trim())
      .filter((n) => n !== '')
      .sort((a, b) => compareReleases(b, a))
      .slice(0, 6);
    throw new TldError(
      'ENOENT',
      `no linux-image-${series}.*-cloud-amd64 in ${SUITE} at ${apt.mirror}: ` +
        (seen.length ? `it has ${seen.join(', ')}` : 'it has no cloud kernel images at all') +
        '. Pass a sched_ext kernel of your own (kernelPath / --kernel PATH to a bzImage), or another series.',
    );
  }
  const meta = await packageMeta(apt, pkg);
  if (cached && cached.record.source.kind === 'debian' && cached.record.source.package === pkg && cached.record.source.debVersion === meta.version) {
    onProgress({ step: 'cache-hit', message: `kernel ${cached.record.version} (${pkg} ${meta.version}) is the newest; cached in ${cached.dir}` });
    return toInfo(cached.dir, cached.record, true);
  }
  onProgress({ step: 'resolve', message: `${pkg} ${meta.version} (${formatBytes(meta.size)})` });

  const work = partialDir(kernelRoot);
  try {
    const deb = await download(apt, pkg, meta, path.join(work, 'download'), onProgress);

    onProgress({ step: 'unpack', message: `dpkg-deb -x ${path.basename(deb)}` });
    const root = path.join(work, 'root');
    const dpkgDeb = findTool('dpkg-deb', 'unpack the kernel package');
    const unpack = await run(dpkgDeb, ['-x', deb, root]);
    if (unpack.code !== 0) throw failure(`unpacking ${deb}`, unpack);
    const boot = path.join(root, 'boot');
    const vmlinuz = (fs.existsSync(boot) ? fs.readdirSync(boot) : []).filter((f) => f.startsWith('vmlinuz-'));
    if (vmlinuz.length !== 1) {
      throw new TldError('EIO', `${pkg} ${meta.version} holds ${vmlinuz.length} boot/vmlinuz-* files, expected one`);
    }
    const release = vmlinuz[0]!.slice('vmlinuz-'.length);
    fs.renameSync(path.join(boot, vmlinuz[0]!), path.join(work, 'bzImage'));
    const config = path.join(boot, `config-${release}`);
    const hasConfig = fs.existsSync(config);
    if (hasConfig) fs.renameSync(config, path.join(work, 'config'));
    const modules = path.join(root, 'usr', 'lib', 'modules', release);
    const hasModules = fs.existsSync(modules);
    if (hasModules) fs.renameSync(modules, path.join(work, 'modules'));
    rmrf(root);
    rmrf(path.dirname(deb));

    const bzBuf = fs.readFileSync(path.join(work, 'bzImage'));
    const image = inspectKernelImage(bzBuf);
    if (image.kind !== 'bzImage') {
      throw new TldError('EIO', `boot/vmlinuz-${release} of ${pkg} is not a bzImage: ${image.kind === 'unknown' ? image.reason : 'an ELF file'}`);
    }
    const version = image.version ?? release;
    await decompressPayload(image, path.join(work, 'vmlinux'), `${pkg}'s vmlinuz`, onProgress);
    const checks = await checkVmlinux(work, pkg, version, onProgress);
    const record: CacheRecord = {
      format: 1,
      version,
      source: { kind: 'debian', package: pkg, debVersion: meta.version, mirror: apt.mirror },
      imageSha256: sha256(bzBuf),
      bzImage: 'bzImage',
      ...checks,
      modules: hasModules,
      config: hasConfig,
      createdAt: new Date().toISOString(),
    };
    const dir = commit(work, kernelRoot, safeName(version), record);
    onProgress({ step: 'done', message: `kernel ${version} is ready in ${dir}` });
    return toInfo(dir, record, false);
  } catch (e) {
    rmrf(work);
    throw e;
  }
}

function newestDebianEntry(kernelRoot: string, series: string): CacheEntry | null {
  const entries = cachedEntries(kernelRoot)
    .filter((e) => e.record.source.kind === 'debian' && e.record.version.startsWith(`${series}.`))
    .sort((a, b) => compareReleases(b.record.version, a.record.version));
  return entries[0] ?? null;
}

interface Apt {
  readonly get: string;
  readonly cache: string;
  /** The -o options that make apt use only <cacheDir>/apt. */
  readonly options: readonly string[];
  readonly mirror: string;
  readonly dir: string;
}

/** Writes the private apt configuration and runs `apt-get update` on it. */
async function prepareApt(cacheDir: string, mirror: string, onProgress: (p: Progress) => void): Promise<Apt> {
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
      `# Written by TLD Studio's VM runner: the sched_ext kernel comes from ${SUITE}.\ndeb ${opt} ${mirror} ${SUITE} main\n`,
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

interface PackageMeta {
  readonly version: string;
  readonly size: number;
  readonly sha256: string;
  readonly filename: string;
}

async function packageMeta(apt: Apt, pkg: string): Promise<PackageMeta> {
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
async function download(apt: Apt, pkg: string, meta: PackageMeta, dir: string, onProgress: (p: Progress) => void): Promise<string> {
  mkdirp(dir);
  const total = meta.size;
  let lastDone = -1;
  const report = (): void => {
    let done = 0;
    for (const name of safeReaddir(dir)) {
      try {
        done += fs.statSync(path.join(dir, name)).size;
      } catch {
        // renamed under us
      }
    }
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

// ---------------------------------------------------------------------------------------
// Steps shared by both sources

/** Decompresses a bzImage's payload into the ELF vmlinux at `out`. */
async function decompressPayload(
  image: Extract<KernelImage, { kind: 'bzImage' }>,
  out: string,
  what: string,
  onProgress: (p: Progress) => void,
): Promise<void> {
  const total = image.uncompressedSize ?? undefined;
  const tell = (done: number): void =>
    onProgress({
      step: 'decompress',
      message: `${image.compression} payload of ${what}: ${formatBytes(done)}${total ? ` of ${formatBytes(total)}` : ''}`,
      done,
      ...(total !== undefined ? { total } : {}),
    });
  tell(0);
  if (image.compression === 'none') {
    fs.writeFileSync(out, image.payload);
  } else {
    const tools: Record<Exclude<typeof image.compression, 'none'>, [string, string[], string]> = {
      zstd: ['zstd', ['-d', '-c', '-q'], 'zstd'],
      gzip: ['gzip', ['-d', '-c', '-q'], 'gzip'],
      xz: ['xz', ['-d', '-c', '-q'], 'xz-utils'],
      lzma: ['xz', ['--format=lzma', '-d', '-c', '-q'], 'xz-utils'],
      bzip2: ['bzip2', ['-d', '-c', '-q'], 'bzip2'],
      lz4: ['lz4', ['-d', '-c', '-q'], 'lz4'],
      lzo: ['lzop', ['-d', '-c', '-q'], 'lzop'],
    };
    const [tool, args, pkg] = tools[image.compression];
    const exe = lookupTool(tool);
    if (!exe) {
      throw new TldError('ENOENT', `${tool} is not installed; it is needed to decompress the ${image.compression} payload of ${what}: install Debian's ${pkg} package (${SETUP_HINT})`);
    }
    const timer = setInterval(() => {
      try {
        tell(fs.statSync(out).size);
      } catch {
        // not created yet
      }
    }, 250);
    let r: Awaited<ReturnType<typeof run>>;
    try {
      r = await run(exe, args, { input: image.payload, stdoutFile: out, timeoutMs: 5 * 60_000 });
    } finally {
      clearInterval(timer);
    }
    // Without the header's payload length, trailing bytes make zstd complain after a good frame.
    const head = Buffer.alloc(64);
    const fd = fs.openSync(out, 'r');
    const n = fs.readSync(fd, head, 0, 64, 0);
    fs.closeSync(fd);
    if (n < 64 || !isElf(head)) {
      throw failure(`decompressing the ${image.compression} payload of ${what} into an ELF vmlinux`, r, 'The image may be damaged, or not an x86-64 kernel.');
    }
  }
  tell(fs.statSync(out).size);
}

/** Checks .BTF, dumps vmlinux.h, checks sched_ext; throws when either is missing. */
async function checkVmlinux(
  work: string,
  what: string,
  version: string,
  onProgress: (p: Progress) => void,
): Promise<{ hasBtf: boolean; hasSchedExt: boolean }> {
  const vmlinux = path.join(work, 'vmlinux');
  let sections: ReturnType<typeof elfSections>;
  try {
    sections = elfSections(fs.readFileSync(vmlinux));
  } catch (e) {
    throw new TldError('EINVAL', `the vmlinux of ${what} cannot be read as ELF: ${(e as Error).message}`);
  }
  const btf = sections.find((s) => s.name === '.BTF');
  const hasBtf = btf !== undefined && btf.size > 0;
  if (!hasBtf) {
    throw new TldError(
      'EINVAL',
      `kernel ${version} (${what}) has no .BTF section, so BPF programs cannot be built or loaded for it: ` +
        'use a kernel built with CONFIG_DEBUG_INFO_BTF=y (and CONFIG_SCHED_CLASS_EXT=y)',
    );
  }
  onProgress({ step: 'btf-dump', message: `bpftool btf dump file vmlinux format c > vmlinux.h (kernel ${version})` });
  const bpftool = findTool('bpftool', 'dump the kernel BTF into vmlinux.h');
  const tmp = path.join(work, 'vmlinux.h.tmp');
  const r = await run(bpftool, ['btf', 'dump', 'file', vmlinux, 'format', 'c'], { stdoutFile: tmp, timeoutMs: 5 * 60_000 });
  if (r.code !== 0) throw failure(`dumping the BTF of kernel ${version}`, r, 'A bpftool newer than the kernel\'s BTF may be needed.');
  fs.renameSync(tmp, path.join(work, 'vmlinux.h'));
  const hasSchedExt = fileContains(path.join(work, 'vmlinux.h'), SCHED_EXT_MARK);
  if (!hasSchedExt) {
    throw new TldError(
      'EINVAL',
      `kernel ${version} (${what}) has no sched_ext: its BTF has no struct sched_ext_ops. ` +
        'Use a kernel built with CONFIG_SCHED_CLASS_EXT=y (Debian\'s 6.18 cloud kernels from trixie-backports have it).',
    );
  }
  return { hasBtf, hasSchedExt };
}

/** Writes the record and renames the finished folder into place; returns its path. */
function commit(work: string, kernelRoot: string, name: string, record: CacheRecord): string {
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

// ---------------------------------------------------------------------------------------
// Pure helpers (exported for tests)

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

/** Debian control stanzas (apt-cache show): field maps; continuation lines are dropped. */
export function parseControl(text: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const rec: Record<string, string> = {};
    for (const line of stanza.split('\n')) {
      const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
      if (m) rec[m[1]!] = m[2]!.trim();
    }
    if (Object.keys(rec).length) out.push(rec);
  }
  return out;
}

export function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
  return `${n} B`;
}

// ---------------------------------------------------------------------------------------
// Files

function mkdirp(d: string): void {
  try {
    fs.mkdirSync(d, { recursive: true });
  } catch (e) {
    throw new TldError('EIO', `cannot create ${d}: ${(e as Error).message}; choose a writable cache folder`);
  }
}

function rmrf(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}

function safeReaddir(d: string): string[] {
  try {
    return fs.readdirSync(d);
  } catch {
    return [];
  }
}

function safeName(version: string): string {
  return version.replace(/[^A-Za-z0-9._+-]/g, '_');
}

function partialDir(kernelRoot: string): string {
  const d = path.join(kernelRoot, `.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirp(d);
  return d;
}

/**
 * Removes folders that crashed or killed runs left (we hold the lock, so no live run owns
 * one). A killed run's tool (dpkg-deb, zstd) may still be writing into its folder: what cannot
 * be removed now is left for a later call.
 */
function removeLeftovers(kernelRoot: string): void {
  for (const name of safeReaddir(kernelRoot)) {
    if (!name.startsWith('.partial-') && !name.startsWith('.old-')) continue;
    try {
      fs.rmSync(path.join(kernelRoot, name), { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // still being written by an orphaned tool: next time
    }
  }
}

function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

function sha256File(f: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    fs.createReadStream(f)
      .on('data', (b) => h.update(b))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

function fileContains(f: string, needle: string): boolean {
  return fs.readFileSync(f).includes(needle);
}
