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
//   <cacheDir>/kernel/<release>-tld-minimal/  the minimal kernel (kernelBuild.ts, tldctl vm kernel --build),
//                                        which is preferred when present (KernelChoice, TLD_VM_KERNEL)
//   <cacheDir>/kernel/.lock              flock()ed while one process fills the cache (folderLock.ts)
// A cached kernel is returned with fromCache: true and no apt command is run (pass refresh to
// look for a newer 6.18.x). Host tools: apt, dpkg, zstd, bpftool (scripts/vm/setup-vm.sh).
//
// This file runs the steps; each job has its module: debianApt.ts (the private apt and the
// package), vmlinux.ts (payload decompression, BTF and sched_ext checks, vmlinux.h),
// kernelCache.ts (records, commit by rename, leftovers), folderLock.ts (one filler at a time).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TldError } from '../client/errors';
import { Apt, DEFAULT_SERIES, SUITE, compareReleases, debianMirror, download, packageMeta, pickNewestKernel, prepareApt } from './debianApt';
import { inspectKernelImage } from './elf';
import { failure, findTool, run } from './exec';
import { formatBytes, mkdirp, rmrf, sha256 } from './files';
import { acquireFolderLock } from './folderLock';
import { CacheRecord, cachedEntries, commit, newestBuiltEntry, newestDebianEntry, partialDir, removeLeftovers, safeName, toInfo } from './kernelCache';
import { KernelInfo, Progress } from './kernelInfo';
import { checkVmlinux, decompressPayload } from './vmlinux';

export { KernelInfo, Progress, ProgressStep } from './kernelInfo';
export { listCachedKernels } from './kernelCache';
export { aptOptions, compareReleases, mirrorFromSources, parseControl, pickNewestKernel } from './debianApt';

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
  /** Which kernel without kernelPath; default: TLD_VM_KERNEL, else `auto`. */
  readonly choice?: KernelChoice;
}

/**
 * `auto`: the minimal kernel when one is built (tldctl vm kernel --build), else Debian's cloud
 * kernel; `minimal`: the built one or an error saying how to build it; `debian`: the cloud kernel.
 */
export type KernelChoice = 'auto' | 'minimal' | 'debian';
export const KERNEL_CHOICES: readonly KernelChoice[] = ['auto', 'minimal', 'debian'];

/** TLD_VM_KERNEL, checked. */
export function kernelChoiceFromEnv(env: NodeJS.ProcessEnv = process.env): KernelChoice {
  const v = env.TLD_VM_KERNEL;
  if (v === undefined || v === '') return 'auto';
  if ((KERNEL_CHOICES as readonly string[]).includes(v)) return v as KernelChoice;
  throw new TldError('EINVAL', `TLD_VM_KERNEL=${v}: give one of ${KERNEL_CHOICES.join(', ')}`);
}

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
    const choice = opts.choice ?? kernelChoiceFromEnv();
    if (choice !== 'debian') {
      const built = newestBuiltEntry(kernelRoot, opts.series ?? DEFAULT_SERIES);
      if (built && built.record.source.kind === 'built') {
        opts.onProgress({
          step: 'cache-hit',
          message: `minimal kernel ${built.record.version} (built from Debian's linux ${built.record.source.debVersion} source) is cached in ${built.dir}`,
        });
        return toInfo(built.dir, built.record, true);
      }
      if (choice === 'minimal') {
        throw new TldError('ENOENT', `no minimal kernel of ${opts.series ?? DEFAULT_SERIES} is built: run \`tldctl vm kernel --build\` once (a long build), or use Debian's cloud kernel (TLD_VM_KERNEL=debian)`);
      }
    }
    return await fromDebian(opts, kernelRoot);
  } finally {
    release();
  }
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
