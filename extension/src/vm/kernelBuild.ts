// `tldctl vm kernel --build`: a minimal sched_ext kernel for the VM runner, built once from
// Debian's linux source (kernelSource.ts) with the configuration of guestKernelConfig.ts, and
// cached beside the downloaded cloud kernel, which `vm run` then prefers (kernel.ts).
//
//   <cacheDir>/kernel-build/src/linux-<release>/  the unpacked source, kept for rebuilds
//   <cacheDir>/kernel-build/obj/linux-<release>/  make O=…: objects, so a rebuild is incremental
//   <cacheDir>/kernel/<release>-tld-minimal/      the result: bzImage vmlinux vmlinux.h config kernel.json
//
// Host tools: make, gcc, flex, bison, bc, pahole (dwarves), objcopy, libelf (scripts/vm/setup-vm.sh).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TldError } from '../client/errors';
import { lookupTool } from '../client/hostTool';
import { DEFAULT_SERIES, SUITE, debianMirror, prepareApt } from './debianApt';
import { SETUP_HINT, failure, findTool, run, tail } from './exec';
import { mkdirp, rmrf, sha256, sha256File } from './files';
import { inspectKernelImage } from './elf';
import { acquireFolderLock } from './folderLock';
import { GUEST_KERNEL_OPTIONS, KernelOption, configFragment, describeMissing, missingOptions, parseKernelConfig } from './guestKernelConfig';
import { CacheRecord, commit, newestBuiltEntry, newestDebianEntry, safeName, toInfo } from './kernelCache';
import { KernelInfo, Progress } from './kernelInfo';
import { fetchSource, parseSourceStanzas, pickSource, unpackedSource, upstreamRelease } from './kernelSource';
import { checkVmlinux } from './vmlinux';

export interface BuildKernelOptions {
  /** The cache root, for example ~/.cache/tld-studio. */
  readonly cacheDir: string;
  readonly onProgress: (p: Progress) => void;
  /** make -j; default: the machine's CPUs. */
  readonly jobs?: number;
  /** Debian's version of the linux source; default: the cached cloud kernel's, else the newest of the series. */
  readonly debVersion?: string;
  readonly series?: string;
  readonly mirror?: string;
  /** Stops the build (make is killed; its objects stay for the next build). */
  readonly signal?: AbortSignal;
}

export interface BuiltKernel extends KernelInfo {
  /** Wall time of this call (download, configure, compile, checks), in seconds. */
  readonly buildSeconds: number;
  /** True when make found nothing to do (an earlier build of the same source and configuration). */
  readonly upToDate: boolean;
  /** The bzImage's size (what a bootloader would load; qemu boots the ELF when it has a PVH entry). */
  readonly bzImageBytes: number;
  readonly vmlinuxBytes: number;
}

/** The tools a kernel build runs, and the Debian package of each. */
const BUILD_TOOLS: readonly [tool: string, pkg: string][] = [
  ['make', 'make'],
  ['gcc', 'gcc'],
  ['flex', 'flex'],
  ['bison', 'bison'],
  ['bc', 'bc'],
  ['pahole', 'dwarves'],
  ['objcopy', 'binutils'],
  ['perl', 'perl'],
];

function checkBuildTools(): void {
  const missing = BUILD_TOOLS.filter(([tool]) => lookupTool(tool) === null);
  if (!fs.existsSync('/usr/include/libelf.h') && !fs.existsSync('/usr/include/gelf.h')) missing.push(['libelf.h', 'libelf-dev']);
  if (missing.length) {
    throw new TldError(
      'ENOENT',
      `building the kernel needs ${missing.map(([t, p]) => `${t} (Debian package ${p})`).join(', ')}: ` +
        `install them with apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')} (or ${SETUP_HINT})`,
    );
  }
}

/** Builds (or brings up to date) the minimal kernel and caches it; returns where it is. */
export async function buildMinimalKernel(opts: BuildKernelOptions): Promise<BuiltKernel> {
  const started = Date.now();
  const { onProgress } = opts;
  checkBuildTools();
  const buildRoot = path.join(opts.cacheDir, 'kernel-build');
  const kernelRoot = path.join(opts.cacheDir, 'kernel');
  mkdirp(buildRoot);
  mkdirp(kernelRoot);
  const release = await acquireFolderLock(buildRoot, {
    what: 'building the minimal kernel',
    timeoutMs: 3 * 60 * 60_000,
    onWait: (pid) => onProgress({ step: 'lock-wait', message: `waiting for ${pid ? `process ${pid}` : 'another process'}, which is building a kernel in ${buildRoot}` }),
  });
  try {
    const series = opts.series ?? DEFAULT_SERIES;
    // Like for like: the same release as the cloud kernel the runner already boots.
    const cloud = newestDebianEntry(kernelRoot, series);
    const debVersion = opts.debVersion ?? (cloud?.record.source.kind === 'debian' ? cloud.record.source.debVersion : undefined);
    const mirror = opts.mirror ?? debianMirror();
    let source = debVersion !== undefined ? unpackedSource(buildRoot, upstreamRelease(debVersion)) : null;
    if (source) {
      onProgress({ step: 'cache-hit', message: `linux ${source.debVersion} source is unpacked in ${source.dir}` });
    } else {
      const apt = await prepareApt(opts.cacheDir, mirror, onProgress, true);
      onProgress({ step: 'resolve', message: `looking for the linux ${debVersion ?? `${series}.*`} source in ${SUITE}` });
      const show = await run(apt.cache, [...apt.options, 'showsrc', 'linux']);
      if (show.code !== 0) throw failure(`apt-cache showsrc linux (${SUITE})`, show);
      const stanzas = parseSourceStanzas(show.stdout);
      const stanza = pickSource(stanzas, { series, ...(debVersion !== undefined ? { debVersion } : {}) });
      if (!stanza) {
        const have = stanzas.filter((s) => s.package === 'linux').map((s) => s.version).slice(-6).join(', ');
        throw new TldError('ENOENT', `no linux ${debVersion ?? `${series}.*`} source in ${SUITE} at ${mirror}${have ? ` (it has ${have})` : ''}`);
      }
      source = await fetchSource(apt, buildRoot, stanza, onProgress);
    }

    const obj = path.join(buildRoot, 'obj', `linux-${source.release}`);
    mkdirp(obj);
    await configureKernel(source.dir, obj, GUEST_KERNEL_OPTIONS, onProgress);
    const jobs = opts.jobs ?? Math.max(1, os.cpus().length);
    if (opts.signal?.aborted) throw cancelled(obj);
    const upToDate = await compile(source.dir, obj, jobs, onProgress, opts.signal);

    const rel = await run(findTool('make', 'build the kernel'), ['-s', '-C', source.dir, `O=${obj}`, 'kernelrelease']);
    const version = rel.stdout.trim().split('\n').pop() ?? '';
    if (rel.code !== 0 || version === '') throw failure('make kernelrelease', rel);

    // Nothing compiled and this very image is cached: done, without stripping and dumping again.
    const imageSha256 = await sha256File(path.join(obj, 'arch', 'x86', 'boot', 'bzImage'));
    const cached = newestBuiltEntry(kernelRoot, series);
    if (upToDate && cached && cached.record.version === version && cached.record.imageSha256 === imageSha256) {
      onProgress({ step: 'cache-hit', message: `kernel ${version} is up to date and cached in ${cached.dir}` });
      return {
        ...toInfo(cached.dir, cached.record, true),
        buildSeconds: (Date.now() - started) / 1000,
        upToDate,
        bzImageBytes: fs.statSync(path.join(cached.dir, 'bzImage')).size,
        vmlinuxBytes: fs.statSync(path.join(cached.dir, 'vmlinux')).size,
      };
    }
    const work = path.join(buildRoot, `.partial-${process.pid}`);
    rmrf(work);
    mkdirp(work);
    try {
      fs.copyFileSync(path.join(obj, 'arch', 'x86', 'boot', 'bzImage'), path.join(work, 'bzImage'));
      fs.copyFileSync(path.join(obj, '.config'), path.join(work, 'config'));
      // The DWARF (hundreds of MB) made the BTF and is not needed again; .BTF is an allocated
      // section and stays, as does the PVH note.
      onProgress({ step: 'unpack', message: 'objcopy --strip-debug vmlinux' });
      const strip = await run(findTool('objcopy', 'strip the kernel'), ['--strip-debug', path.join(obj, 'vmlinux'), path.join(work, 'vmlinux')]);
      if (strip.code !== 0) throw failure('objcopy --strip-debug vmlinux', strip);
      const checks = await checkVmlinux(work, `the kernel built in ${obj}`, version, onProgress);
      // qemu boots the ELF through its PVH entry: no decompression of a bzImage under TCG.
      const elf = inspectKernelImage(fs.readFileSync(path.join(work, 'vmlinux')));
      const boots = elf.kind === 'elf' && elf.pvh ? 'vmlinux' : 'bzImage';
      const record: CacheRecord = {
        format: 1,
        version,
        source: { kind: 'built', package: 'linux', debVersion: source.debVersion, configSha256: sha256(Buffer.from(configFragment())) },
        imageSha256,
        bzImage: boots,
        ...checks,
        modules: false,
        config: true,
        createdAt: new Date().toISOString(),
      };
      const bzImageBytes = fs.statSync(path.join(work, 'bzImage')).size;
      const vmlinuxBytes = fs.statSync(path.join(work, 'vmlinux')).size;
      const unlock = await acquireFolderLock(kernelRoot, { what: 'adding the built kernel to the cache' });
      let dir: string;
      try {
        dir = commit(work, kernelRoot, safeName(version), record);
      } finally {
        unlock();
      }
      onProgress({ step: 'done', message: `kernel ${version} is ready in ${dir}` });
      return { ...toInfo(dir, record, false), buildSeconds: (Date.now() - started) / 1000, upToDate, bzImageBytes, vmlinuxBytes };
    } catch (e) {
      rmrf(work);
      throw e;
    }
  } finally {
    release();
  }
}

/**
 * allnoconfig, then the fragment of @options, then olddefconfig, in the build folder @obj;
 * throws naming each option Kconfig did not keep (an unmet dependency), with what needs it.
 */
export async function configureKernel(src: string, obj: string, options: readonly KernelOption[], onProgress: (p: Progress) => void): Promise<void> {
  const make = findTool('make', 'build the kernel');
  const fragment = path.join(obj, 'tld-guest.config');
  fs.writeFileSync(fragment, configFragment(options));
  onProgress({ step: 'configure', message: `make allnoconfig + ${options.length} options (guestKernelConfig.ts)` });
  const steps: [string, string[]][] = [
    [make, ['-s', '-C', src, `O=${obj}`, 'allnoconfig']],
    [path.join(src, 'scripts', 'kconfig', 'merge_config.sh'), ['-m', '-O', obj, path.join(obj, '.config'), fragment]],
    [make, ['-s', '-C', src, `O=${obj}`, 'olddefconfig']],
  ];
  for (const [file, args] of steps) {
    const r = await run(file, args, { cwd: src, timeoutMs: 5 * 60_000, env: { ...process.env, LC_ALL: 'C' } });
    if (r.code !== 0) throw failure(`configuring the kernel (${path.basename(file)} ${args[args.length - 1]})`, r);
  }
  const missing = missingOptions(parseKernelConfig(fs.readFileSync(path.join(obj, '.config'), 'utf8')), options);
  if (missing.length) {
    const btf = missing.some((m) => m.option.name === 'DEBUG_INFO_BTF' || m.option.name === 'SCHED_CLASS_EXT');
    throw new TldError(
      'EINVAL',
      `the kernel configuration lacks what the VM runner needs (Kconfig dropped these; their dependencies are not met):\n${describeMissing(missing)}` +
        (btf ? '\nCONFIG_DEBUG_INFO_BTF (which sched_ext needs) depends on pahole from Debian\'s dwarves package being installed and recent enough.' : '') +
        `\nThe configuration is ${path.join(obj, '.config')}.`,
    );
  }
}

/** The kbuild lines that count as steps of the compile progress. */
const STEP_LINE = /^\s{2}(CC|AS|LD|AR|BTF|HOSTCC|HOSTLD|GEN|OBJCOPY|KSYMS|SORTTAB|CHK|UPD|LDS|VDSO\S*|ZOFFSET|MKPIGGY|LZ4)\s+(\S+)/;

function cancelled(obj: string): TldError {
  return new TldError('EIO', `the kernel build was stopped; what it compiled stays in ${obj} for the next build`);
}

/** make bzImage with progress; returns true when there was nothing to do. */
async function compile(src: string, obj: string, jobs: number, onProgress: (p: Progress) => void, signal?: AbortSignal): Promise<boolean> {
  const make = findTool('make', 'build the kernel');
  // The step count of the last build of this tree is the estimate of this one's total.
  const countFile = path.join(obj, '.tld-steps');
  const previous = Number(fs.existsSync(countFile) ? fs.readFileSync(countFile, 'utf8') : NaN);
  const total = Number.isFinite(previous) && previous > 0 ? previous : undefined;
  let steps = 0;
  let last = '';
  let pending = '';
  let told = 0;
  const tell = (force = false): void => {
    const now = Date.now();
    if (!force && now - told < 500) return;
    told = now;
    onProgress({
      step: 'compile',
      message: `make -j${jobs} bzImage: ${steps}${total ? ` of ~${total}` : ''} steps${last ? ` (${last})` : ''}`,
      done: steps,
      ...(total !== undefined ? { total } : {}),
    });
  };
  tell(true);
  const r = await run('nice', ['-n', '10', make, '-C', src, `O=${obj}`, `-j${jobs}`, 'bzImage'], {
    timeoutMs: 4 * 60 * 60_000,
    ...(signal ? { signal } : {}),
    env: { ...process.env, LC_ALL: 'C', KBUILD_BUILD_USER: 'tld-studio', KBUILD_BUILD_HOST: 'tld-studio' },
    onStdout: (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) {
        const m = STEP_LINE.exec(l);
        if (!m) continue;
        steps++;
        last = `${m[1]} ${m[2]}`;
      }
      tell();
    },
  });
  if (signal?.aborted) throw cancelled(obj);
  if (r.code !== 0) {
    const errors = r.stderr.split('\n').filter((l) => /error|Error/.test(l));
    throw new TldError('EIO', `the kernel build failed (make exited with ${r.code}) in ${obj}:\n${tail(errors.join('\n') || r.stderr, 12)}`);
  }
  tell(true);
  // A no-op make still prints a few CALL/CHK lines: only a build that compiled sets the estimate.
  if (steps > 50) fs.writeFileSync(countFile, String(steps));
  return steps <= 50;
}
