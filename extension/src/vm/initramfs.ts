// Building the guest's initramfs: a newc cpio with busybox as the userland. It is left
// uncompressed: gzip -9 on the host and gunzip in a TCG guest cost more than copying the bytes
// (about half a second of the guest's boot, more on the host). The overlay (buildOverlay), packed
// once and kept, stays gzip'd; the kernel unpacks concatenated archives of either kind in order.
//
//   await buildInitramfs({
//     out: '/tmp/guest.cpio',
//     binaries: ['/usr/sbin/bpftool'],                 // -> /bin/bpftool, with its shared libraries
//     files: [{ src: 'sched.bpf.o', dest: '/root/sched.bpf.o' }],
//     init: guestInit(['bpftool version']),            // or any /init script text
//   });
//
// Layout of the archive:
//   /bin/busybox   Debian's busybox-static (/bin/busybox), with a symlink for every applet at
//                  the place `busybox --list-full` names (/bin/sh, /bin/mount, /sbin/poweroff...)
//   /bin/<name>    each of `binaries`; an applet of the same name is left out so the binary wins
//   /lib..., /lib64/ld-linux-x86-64.so.2   every library `ldd` lists for them, and the loader,
//                  each as a regular file at the path ldd printed
//   <dest>         each of `files` and `runFiles` (a file, or a folder copied whole)
//   /init          the init script (mode 0755; "#!/bin/sh" is added when it has no "#!")
//   /dev /proc /sys /tmp /run /root /etc   empty mount points
// With baseCache, everything but runFiles, the libraries of librariesOf and /init is a second
// archive kept from the last build of the same inputs, and this run's part is appended to it:
// packing busybox, the binaries and their libraries took 110-130 ms of every vm run. In the base
// (and the overlay), ELF files are stripped of their debug sections, and a host file that goes in
// under two names is stored once, as a hard link (Stager).
// The kernel's built-in initramfs already holds /dev/console, so /init has a console.
// Host tools: cpio, gzip (the overlay), ldd (libc-bin), busybox-static, strip (binutils; without
// it files go in whole) (scripts/vm/setup-vm.sh).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TldError } from '../client/errors';
import { lookupTool } from '../client/hostTool';
import { pruneKept, statKey, touch } from '../client/keptFiles';
import { SETUP_HINT, failure, findTool, run } from './exec';
import { NewcWriter, archiveName } from './newc';

export interface InitramfsFile {
  /** A file or folder on the host. */
  readonly src: string;
  /** The absolute path in the guest. */
  readonly dest: string;
}

export interface BuildInitramfsOptions {
  /** The .cpio to write (written to a temporary name, then renamed). */
  readonly out: string;
  /** Host executables to put in /bin, with the shared libraries they need. */
  readonly binaries: readonly string[];
  readonly files?: readonly InitramfsFile[];
  /** The text of /init. */
  readonly init: string;
  /** The busybox to use; default /bin/busybox (Debian's busybox-static). */
  readonly busybox?: string;
  /** Executables among `files` or `runFiles` whose shared libraries go in too (at the paths ldd prints). */
  readonly librariesOf?: readonly string[];
  /**
   * A folder that keeps the part of the archive that does not change between runs (busybox,
   * `binaries` with their libraries, `files`), named by what went in. Later builds from the
   * same inputs append only `runFiles`, `librariesOf` and /init to a copy of it.
   */
  readonly baseCache?: string;
  /** Files of this build only (a scheduler's object, a workload script): never kept in baseCache. */
  readonly runFiles?: readonly InitramfsFile[];
}

/** How many base archives a baseCache keeps (the most recently used). */
const KEPT_BASES = 4;

export const EXIT_MARK = 'TLD-VM-EXIT';
/** The first line /init prints: the kernel's start-up is over. */
export const INIT_STARTED = 'TLD-VM-INIT';

/**
 * An /init script that mounts proc, sysfs, devtmpfs, bpffs, tracefs and cgroup2, runs `commands` in
 * order (a failing command ends the run with its status), then prints `TLD-VM-EXIT <status>`
 * and powers off: the convention qemu.ts reads the guest's result by.
 */
export function guestInit(commands: readonly string[]): string {
  return [
    '#!/bin/sh',
    'export PATH=/bin:/sbin:/usr/bin:/usr/sbin',
    'mount -t proc proc /proc',
    'mount -t sysfs sysfs /sys',
    'mount -t devtmpfs devtmpfs /dev 2>/dev/null',
    'mount -t bpf bpf /sys/fs/bpf 2>/dev/null',
    'mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null',
    // cgroup2, as a systemd host has it: schedulers with cgroup operations (CONFIG_EXT_GROUP_SCHED) see a hierarchy.
    'mount -t cgroup2 cgroup2 /sys/fs/cgroup',
    'mount -t tmpfs tmpfs /tmp',
    `echo ${INIT_STARTED}`,
    'tld_status=0',
    'tld_run() {',
    '  if [ "$tld_status" = 0 ]; then sh -c "$1"; tld_status=$?; fi',
    '}',
    ...commands.map((c) => `tld_run ${shSingleQuote(c)}`),
    `echo "${EXIT_MARK} $tld_status"`,
    // poweroff -f cuts the serial port with output still queued in the tty, and qemu.ts reads the
    // result from the last lines: re-applying the console's own settings waits for it to drain
    // (busybox stty sets them with TCSADRAIN).
    'stty "$(stty -g)" 2>/dev/null',
    'poweroff -f',
    '',
  ].join('\n');
}

/** Builds the initramfs; throws a TldError naming the tool or file that failed. */
export async function buildInitramfs(opts: BuildInitramfsOptions): Promise<void> {
  const cpio = findTool('cpio', 'build the initramfs');
  const busybox = opts.busybox ?? '/bin/busybox';
  if (!fs.existsSync(busybox)) {
    throw new TldError('ENOENT', `${busybox} is missing: install Debian's busybox-static package (${SETUP_HINT})`);
  }
  const binaries = opts.binaries.map((b) => path.resolve(b));
  const names = new Set<string>();
  for (const b of binaries) {
    const name = path.basename(b);
    if (names.has(name)) throw new TldError('EINVAL', `two binaries are named ${name}; each goes to /bin/${name}`);
    names.add(name);
  }
  const files = opts.files ?? [];
  for (const f of [...files, ...(opts.runFiles ?? [])]) {
    if (!path.isAbsolute(f.dest)) throw new TldError('EINVAL', `initramfs file destination ${f.dest} is not an absolute path`);
  }
  const tmpOut = `${opts.out}.tmp-${process.pid}`;
  try {
    // The kernel unpacks concatenated archives in order: the base (kept, or packed now), then
    // this run's part.
    if (opts.baseCache) fs.copyFileSync(await cachedBase(opts.baseCache, cpio, busybox, binaries, files), tmpOut);
    else await packStage(cpio, tmpOut, async (stage) => void (await addBase(stage, busybox, binaries, files)));
    await appendRunPart(tmpOut, opts);
    fs.renameSync(tmpOut, opts.out);
  } finally {
    fs.rmSync(tmpOut, { force: true });
  }
}

/** Fills a fresh stage with @fill, then writes it to @out as a newc cpio. */
async function packStage(cpio: string, out: string, fill: (stage: string) => Promise<void>): Promise<void> {
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-initramfs-'));
  try {
    await fill(stage);
    await writeCpio(stage, cpio, null, out);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** busybox with its applets, the mount points, @binaries in /bin and @files; the libraries copied. */
async function addBase(stage: string, busybox: string, binaries: readonly string[], files: readonly InitramfsFile[]): Promise<string[]> {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'dev', 'proc', 'sys', 'tmp', 'run', 'root', 'etc']) {
    fs.mkdirSync(path.join(stage, d), { recursive: true });
  }
  const stager = new Stager();
  const names = new Set(binaries.map((b) => path.basename(b)));
  const libs: string[] = [];
  // busybox and its applets.
  libs.push(...(await addExecutable(stage, busybox, '/bin/busybox', stager)));
  const list = await run(busybox, ['--list-full']);
  if (list.code !== 0) throw failure(`listing the applets of ${busybox}`, list);
  for (const rel of list.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '')) {
    if (names.has(path.basename(rel)) || rel === 'bin/busybox') continue;
    const link = path.join(stage, rel);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    if (!fs.existsSync(link)) fs.symlinkSync('/bin/busybox', link);
  }
  // The binaries and their libraries.
  for (const b of binaries) libs.push(...(await addExecutable(stage, b, `/bin/${path.basename(b)}`, stager)));
  await addFiles(stage, files, stager);
  return libs;
}

/**
 * What changes from run to run, appended to @out as an archive of its own: its files, the
 * libraries of @opts.librariesOf (at the paths ldd prints) and /init. Written straight from the
 * host files (newc.ts): a project folder copied into the guest is read once, not staged first.
 */
async function appendRunPart(out: string, opts: BuildInitramfsOptions): Promise<void> {
  const libs = new Set<string>();
  for (const b of opts.librariesOf ?? []) for (const lib of await sharedLibraries(b)) libs.add(lib);
  const init = opts.init.startsWith('#!') ? opts.init : `#!/bin/sh\n${opts.init}`;
  const fd = fs.openSync(out, 'a');
  try {
    const w = new NewcWriter(fd);
    for (const f of opts.runFiles ?? []) w.host(f.dest, path.resolve(f.src));
    for (const lib of libs) w.host(lib, lib);
    w.data('/init', Buffer.from(init), 0o755);
    w.end();
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * @files into a kept archive's stage (the base, the overlay): a file through @stager, a folder
 * copied whole with its symlinks followed, since the host paths they name are not in the guest.
 */
async function addFiles(stage: string, files: readonly InitramfsFile[], stager: Stager): Promise<void> {
  for (const f of files) {
    const src = path.resolve(f.src);
    if (!fs.existsSync(src)) throw new TldError('ENOENT', `${src} (for ${f.dest} in the initramfs) does not exist`);
    const dest = guestPath(stage, f.dest);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    if (fs.statSync(src).isDirectory()) fs.cpSync(src, dest, { recursive: true, dereference: true });
    else await stager.put(src, dest);
  }
}

/**
 * Puts the host files of a kept archive (the base, the overlay) into its stage. An ELF file goes
 * in without its debug sections (strip --strip-debug: the guest never reads them, and they were
 * half of the base: 15.7 MB, unpacked by the guest kernel at every boot and copied at every run).
 * A file staged before under another name goes in as a hard link to it, which cpio stores once:
 * libtld.so is both in /bin and at the path ldd prints for tld-demo. Without strip (binutils),
 * files go in as they are.
 */
class Stager {
  private readonly staged = new Map<string, string>();
  private readonly strip = lookupTool('strip');

  async put(src: string, to: string): Promise<void> {
    const real = fs.realpathSync(src);
    const first = this.staged.get(real);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    if (first) {
      fs.linkSync(first, to);
      return;
    }
    if (!this.strip || !isElf(real) || (await run(this.strip, ['--strip-debug', '-o', to, real])).code !== 0) {
      fs.copyFileSync(real, to);
    }
    fs.chmodSync(to, fs.statSync(real).mode & 0o7777);
    this.staged.set(real, to);
  }
}

function isElf(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(4);
    return fs.readSync(fd, head, 0, 4, 0) === 4 && head.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The base archive for these inputs in @dir, packed now when there is none. Its name hashes the
 * inputs' paths, sizes and times; a record beside it lists the libraries ldd found, with theirs,
 * so that an upgraded libc or libelf also makes a new base. Written by rename, so that runs that
 * pack the same base at once each see a whole file.
 */
async function cachedBase(dir: string, cpio: string, busybox: string, binaries: readonly string[], files: readonly InitramfsFile[]): Promise<string> {
  // Version 2: ELF files stripped of debug sections when strip is at hand, and staged once.
  // Version 3: symlinks in copied folders followed.
  const hash = createHash('sha256').update(`tld-initramfs-base 3 ${lookupTool('strip') ? 'stripped' : 'whole'}\n`).update(statKey(busybox));
  for (const b of binaries) hash.update(`\n${statKey(b)}`);
  for (const f of files) hash.update(`\n${f.dest}\0${statKey(path.resolve(f.src))}`);
  const name = `base-${hash.digest('hex').slice(0, 20)}`;
  const out = path.join(dir, `${name}.cpio`);
  const record = path.join(dir, `${name}.libs`);
  try {
    const libs = fs.readFileSync(record, 'utf8').split('\n').filter((l) => l !== '');
    if (fs.existsSync(out) && libs.every((l) => l === statKey(l.split('\0')[0]!))) {
      touch(out);
      return out;
    }
  } catch {
    // No record, or a library is gone: pack it again.
  }
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    let libs: string[] = [];
    await packStage(cpio, tmp, async (stage) => {
      libs = await addBase(stage, busybox, binaries, files);
    });
    fs.writeFileSync(`${record}.tmp-${process.pid}`, [...new Set(libs)].map(statKey).join('\n') + '\n');
    fs.renameSync(tmp, out);
    fs.renameSync(`${record}.tmp-${process.pid}`, record);
  } finally {
    fs.rmSync(tmp, { force: true });
    fs.rmSync(`${record}.tmp-${process.pid}`, { force: true });
  }
  pruneKept(dir, /^base-[0-9a-f]+\.cpio$/, KEPT_BASES, out, (f) => [f.replace(/\.cpio$/, '.libs')]);
  return out;
}

export interface BuildOverlayOptions {
  /** The .cpio.gz to write (written to a temporary name, then renamed). */
  readonly out: string;
  /** Executables, each at its guest path, with the shared libraries they need. */
  readonly executables: readonly InitramfsFile[];
  readonly files: readonly InitramfsFile[];
  /** gzip's level: an overlay built once and kept favours speed over size (default 6). */
  readonly level?: number;
}

/**
 * An archive of more files, without busybox or /init, to append to an initramfs: the kernel
 * unpacks concatenated gzip'd cpio archives in order, so a large part that never changes
 * (Node for the guest's helper host) is packed once, kept, and appended to each run's archive.
 */
export async function buildOverlay(opts: BuildOverlayOptions): Promise<void> {
  const cpio = findTool('cpio', 'build the initramfs');
  const gzip = findTool('gzip', 'compress the initramfs');
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-overlay-'));
  const tmpOut = `${opts.out}.tmp-${process.pid}`;
  try {
    const stager = new Stager();
    for (const e of opts.executables) await addExecutable(stage, path.resolve(e.src), e.dest, stager);
    await addFiles(stage, opts.files, stager);
    await writeCpio(stage, cpio, { gzip, level: opts.level ?? 6 }, tmpOut);
    fs.renameSync(tmpOut, opts.out);
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
    fs.rmSync(tmpOut, { force: true });
  }
}

/** Puts an executable at `dest` in the stage, with every library ldd lists for it; returns those. */
async function addExecutable(stage: string, src: string, dest: string, stager: Stager): Promise<string[]> {
  let st: fs.Stats;
  try {
    st = fs.statSync(src);
  } catch {
    throw new TldError('ENOENT', `binary ${src} for the initramfs does not exist`);
  }
  if (!st.isFile()) throw new TldError('EINVAL', `binary ${src} for the initramfs is not a file`);
  const target = guestPath(stage, dest);
  await stager.put(src, target);
  fs.chmodSync(target, (st.mode & 0o7777) | 0o555);
  return addLibraries(stage, src, stager);
}

/** Puts every library ldd lists for @binary into the stage, at the path ldd printed; returns those. */
async function addLibraries(stage: string, binary: string, stager: Stager): Promise<string[]> {
  const libs = await sharedLibraries(binary);
  for (const lib of libs) {
    const to = guestPath(stage, lib);
    // Symlinks followed: the library's content under the name ldd printed.
    if (!fs.existsSync(to)) await stager.put(lib, to);
  }
  return libs;
}

/** The shared libraries (and the dynamic loader) a binary needs, by ldd; [] when static. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const ldd = findTool('ldd', 'find the shared libraries of binaries for the initramfs');
  const r = await run(ldd, [binary], { env: { ...process.env, LC_ALL: 'C' } });
  const text = `${r.stdout}\n${r.stderr}`;
  if (/not a dynamic executable|statically linked/.test(text)) return [];
  if (r.code !== 0) throw failure(`ldd ${binary}`, r, 'Only executables for this machine can go into the initramfs.');
  const { libs, missing } = parseLdd(r.stdout);
  if (missing.length) {
    throw new TldError('ENOENT', `${binary} needs ${missing.join(', ')}, which ldd cannot find on this machine; install the libraries or link it statically`);
  }
  return libs;
}

/** Parses ldd output: the absolute library and loader paths, and names it did not find. */
export function parseLdd(text: string): { libs: string[]; missing: string[] } {
  const libs: string[] = [];
  const missing: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    let m = /^(\S+)\s+=>\s+not found/.exec(line);
    if (m) {
      missing.push(m[1]!);
      continue;
    }
    m = /^\S+\s+=>\s+(\/\S+)\s+\(0x[0-9a-f]+\)$/.exec(line) ?? /^(\/\S+)\s+\(0x[0-9a-f]+\)$/.exec(line);
    if (m && !libs.includes(m[1]!)) libs.push(m[1]!);
    // Anything else (linux-vdso.so.1, "statically linked") has no file.
  }
  return { libs, missing };
}

/** Where the guest's absolute path @p lies in @stage (archiveName: never above it). */
function guestPath(stage: string, p: string): string {
  return path.join(stage, archiveName(p));
}

function shSingleQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Every path under `stage`, relative ("bin/busybox"), parents before children, sorted. */
function walk(stage: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    const ents = fs.readdirSync(path.join(stage, rel), { withFileTypes: true });
    for (const ent of ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const r = rel === '' ? ent.name : `${rel}/${ent.name}`;
      out.push(r);
      if (ent.isDirectory()) visit(r);
    }
  };
  visit('');
  return out;
}

/** `cpio -o -H newc` of the stage into `out`, piped through gzip when @compress says so. */
function writeCpio(stage: string, cpio: string, compress: { gzip: string; level: number } | null, out: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fd = fs.openSync(out, 'w');
    const c = spawn(cpio, ['--null', '-o', '-H', 'newc', '--quiet', '-R', '0:0', '--reproducible'], {
      cwd: stage,
      stdio: ['pipe', compress ? 'pipe' : fd, 'pipe'],
    });
    const g = compress ? spawn(compress.gzip, [`-${compress.level}`, '-n', '-c'], { stdio: ['pipe', fd, 'pipe'] }) : null;
    fs.closeSync(fd);
    let cErr = '';
    let gErr = '';
    c.stderr?.on('data', (b: Buffer) => (cErr += b.toString()));
    g?.stderr?.on('data', (b: Buffer) => (gErr += b.toString()));
    const gIn = g?.stdin;
    if (gIn && c.stdout) {
      c.stdout.pipe(gIn);
      gIn.on('error', () => undefined);
    }
    c.stdin?.on('error', () => undefined);
    c.stdin?.end(walk(stage).join('\0') + '\0');
    let pending = g ? 2 : 1;
    let cCode = 0;
    let gCode = 0;
    const done = (): void => {
      if (--pending > 0) return;
      if (cCode !== 0) reject(new TldError('EIO', `cpio -o -H newc failed (exit ${cCode}): ${cErr.trim()}`));
      else if (gCode !== 0) reject(new TldError('EIO', `gzip failed (exit ${gCode}): ${gErr.trim()}`));
      else resolve();
    };
    c.on('error', (e) => reject(new TldError('EIO', `cannot run ${cpio}: ${e.message}`)));
    g?.on('error', (e) => reject(new TldError('EIO', `cannot run ${compress?.gzip}: ${e.message}`)));
    c.on('close', (code) => {
      cCode = code ?? -1;
      done();
    });
    g?.on('close', (code) => {
      gCode = code ?? -1;
      done();
    });
  });
}
