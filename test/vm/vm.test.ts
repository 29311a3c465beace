// The VM runner's first half, for real: Debian's sched_ext kernel through a private apt
// configuration, initramfs building, and booting the guest in qemu (KVM or TCG).
//
//   bash scripts/vm/setup-vm.sh && npx tsc -p . && node --test out/test/vm/vm.test.js
//
// The kernel is cached in $TLD_VM_CACHE (default ~/.cache/tld-studio), so later runs reuse it
// and need no network. Needs: qemu-system-x86, busybox-static, cpio, zstd, bpftool.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import { inspectKernelImage } from '../../extension/src/vm/elf';
import { buildInitramfs, buildOverlay, guestInit, parseLdd } from '../../extension/src/vm/initramfs';
import {
  KernelInfo,
  Progress,
  aptOptions,
  compareReleases,
  ensureKernel,
  mirrorFromSources,
  parseControl,
  pickNewestKernel,
} from '../../extension/src/vm/kernel';
import { bootGuest, cleanConsoleLine, exitCodeOf } from '../../extension/src/vm/qemu';
import { nativeBuild } from '../support/repo';

const CACHE = process.env.TLD_VM_CACHE || path.join(os.homedir(), '.cache', 'tld-studio');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-vm-test-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

const isTldError = (code: string, message?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof TldError, `not a TldError: ${String(e)}`);
  assert.equal(e.code, code, e.message);
  if (message) assert.match(e.message, message);
  return true;
};

let kernelPromise: Promise<KernelInfo> | null = null;
/** The real kernel, fetched once per run (test (a) does it; later tests reuse it). */
function kernel(progress: Progress[] = []): Promise<KernelInfo> {
  kernelPromise ??= ensureKernel({ cacheDir: CACHE, onProgress: (p) => progress.push(p) });
  return kernelPromise;
}

/** qemu processes whose command line mentions `needle`. */
function qemuProcessesWith(needle: string): number[] {
  const pids: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('qemu-system') && cmd.includes(needle)) pids.push(Number(pid));
    } catch {
      // gone
    }
  }
  return pids;
}

// ---------------------------------------------------------------------------------------
// (a) Debian's kernel

test('ensureKernel gets the trixie-backports 6.18 cloud kernel with BTF and sched_ext, then reuses the cache', { timeout: 20 * 60_000 }, async () => {
  const progress: Progress[] = [];
  const t0 = Date.now();
  const k = await kernel(progress);
  const firstMs = Date.now() - t0;
  const steps = new Set(progress.map((p) => p.step));
  console.log(`kernel ${k.version} ${k.fromCache ? 'from the cache' : 'fetched'} in ${firstMs} ms; steps: ${[...steps].join(' ')}`);
  assert.match(k.version, /^6\.18\.\d+/);
  assert.ok(k.hasSchedExt, 'hasSchedExt');
  assert.ok(k.hasBtf, 'hasBtf');
  for (const f of [k.bzImage, k.vmlinuxElf, k.vmlinuxH]) {
    assert.ok(f.startsWith(path.join(CACHE, 'kernel', k.version) + path.sep), `${f} is in the cache folder of ${k.version}`);
    assert.ok(fs.statSync(f).size > 0, `${f} is not empty`);
  }
  assert.ok(fs.readFileSync(k.vmlinuxH, 'utf8').includes('struct sched_ext_ops {'), 'vmlinux.h defines struct sched_ext_ops');
  assert.equal(fs.readFileSync(k.vmlinuxElf).readUInt32BE(0), 0x7f454c46, 'vmlinux is an ELF file');
  assert.equal(inspectKernelImage(fs.readFileSync(k.bzImage)).kind, 'bzImage');
  if (!k.fromCache) {
    for (const s of ['apt-update', 'resolve', 'download', 'unpack', 'decompress', 'btf-dump', 'done'] as const) {
      assert.ok(steps.has(s), `progress reported ${s}`);
    }
    const dl = progress.filter((p): p is Extract<Progress, { step: 'download' }> => p.step === 'download');
    const lastDl = dl[dl.length - 1]!;
    assert.ok(lastDl.total > 10_000_000 && lastDl.done === lastDl.total, `download counted bytes: ${lastDl.done}/${lastDl.total}`);
    // The private apt configuration names only trixie-backports.
    assert.match(fs.readFileSync(path.join(CACHE, 'apt', 'sources.list'), 'utf8'), /^deb \[[^\]]+\] https?:\/\/\S+ trixie-backports main$/m);
  }
  assert.deepEqual(
    fs.readdirSync(path.join(CACHE, 'kernel')).filter((n) => n.startsWith('.partial-') || n.startsWith('.old-')),
    [],
    'no partial folders are left',
  );

  const again: Progress[] = [];
  const t1 = Date.now();
  const k2 = await ensureKernel({ cacheDir: CACHE, onProgress: (p) => again.push(p) });
  const secondMs = Date.now() - t1;
  console.log(`second call: ${secondMs} ms`);
  assert.equal(k2.fromCache, true);
  assert.equal(k2.version, k.version);
  assert.equal(k2.bzImage, k.bzImage);
  assert.deepEqual(again.map((p) => p.step), ['cache-hit'], 'no apt step on a cache hit');
  assert.ok(secondMs < 2000, `a cache hit is quick (${secondMs} ms)`);
});

// ---------------------------------------------------------------------------------------
// (b) kernels of the user's

test('a kernelPath that is not a kernel is refused with a clear error', async () => {
  const cacheDir = path.join(scratch, 'cache-b');
  const notKernel = path.join(scratch, 'notes.txt');
  fs.writeFileSync(notKernel, 'this is not a kernel\n'.repeat(100));
  await assert.rejects(
    ensureKernel({ cacheDir, kernelPath: notKernel, onProgress: () => undefined }),
    isTldError('EINVAL', /notes\.txt is not a Linux kernel: neither an x86 bzImage .* nor an ELF vmlinux/),
  );
  await assert.rejects(
    ensureKernel({ cacheDir, kernelPath: path.join(scratch, 'missing-bzImage'), onProgress: () => undefined }),
    isTldError('ENOENT', /missing-bzImage does not exist/),
  );
  await assert.rejects(
    ensureKernel({ cacheDir, kernelPath: scratch, onProgress: () => undefined }),
    isTldError('EINVAL', /is not a file/),
  );
  assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'kernel')).filter((n) => n !== '.lock'), [], 'nothing cached');
});

/** A minimal ELF vmlinux: a PVH note, a "Linux version" banner and (maybe) a .BTF section. */
function fakeVmlinux(btf: Buffer | null): Buffer {
  const note = Buffer.alloc(12 + 4 + 8);
  note.writeUInt32LE(4, 0); // namesz "Xen\0"
  note.writeUInt32LE(8, 4); // descsz
  note.writeUInt32LE(18, 8); // XEN_ELFNOTE_PHYS32_ENTRY
  note.write('Xen\0', 12, 'latin1');
  const banner = Buffer.from('Linux version 6.18.0-fake (test@tld) #1 SMP\0');
  const sections: { name: string; type: number; data: Buffer }[] = [
    { name: '.note.Xen', type: 7, data: note },
    { name: '.rodata', type: 1, data: banner },
    ...(btf ? [{ name: '.BTF', type: 1, data: btf }] : []),
  ];
  const names = ['', ...sections.map((s) => s.name), '.shstrtab'];
  const shstrtab = Buffer.from(names.join('\0') + '\0', 'latin1');
  const nameOffsets: number[] = [];
  let o = 0;
  for (const n of names) {
    nameOffsets.push(o);
    o += n.length + 1;
  }
  const all = [...sections, { name: '.shstrtab', type: 3, data: shstrtab }];
  const offsets: number[] = [];
  let at = 64;
  for (const s of all) {
    at = (at + 7) & ~7;
    offsets.push(at);
    at += s.data.length;
  }
  const shoff = (at + 7) & ~7;
  const buf = Buffer.alloc(shoff + 64 * (all.length + 1));
  buf.writeUInt32BE(0x7f454c46, 0);
  buf[4] = 2; // 64-bit
  buf[5] = 1; // little-endian
  buf[6] = 1; // version
  buf.writeUInt16LE(2, 16); // ET_EXEC
  buf.writeUInt16LE(62, 18); // EM_X86_64
  buf.writeUInt32LE(1, 20);
  buf.writeBigUInt64LE(BigInt(shoff), 0x28);
  buf.writeUInt16LE(64, 0x34); // e_ehsize
  buf.writeUInt16LE(64, 0x3a); // e_shentsize
  buf.writeUInt16LE(all.length + 1, 0x3c);
  buf.writeUInt16LE(all.length, 0x3e); // e_shstrndx: the last
  all.forEach((s, i) => {
    s.data.copy(buf, offsets[i]!);
    const h = shoff + 64 * (i + 1);
    buf.writeUInt32LE(nameOffsets[i + 1]!, h);
    buf.writeUInt32LE(s.type, h + 4);
    buf.writeBigUInt64LE(BigInt(offsets[i]!), h + 0x18);
    buf.writeBigUInt64LE(BigInt(s.data.length), h + 0x20);
    buf.writeBigUInt64LE(1n, h + 0x30);
  });
  return buf;
}

test('a kernel without BTF, or whose BTF has no sched_ext, is refused and not cached', async () => {
  const cacheDir = path.join(scratch, 'cache-b2');
  const noBtf = path.join(scratch, 'vmlinux-nobtf');
  fs.writeFileSync(noBtf, fakeVmlinux(null));
  await assert.rejects(
    ensureKernel({ cacheDir, kernelPath: noBtf, onProgress: () => undefined }),
    isTldError('EINVAL', /kernel 6\.18\.0-fake .* has no \.BTF section.*CONFIG_DEBUG_INFO_BTF=y/),
  );
  // This host's own BTF: its kernel has no sched_ext (DESIGN.md), which is what we want here.
  const hostBtf = fs.readFileSync('/sys/kernel/btf/vmlinux');
  if (!hostBtf.includes('sched_ext_ops')) {
    const noScx = path.join(scratch, 'vmlinux-noscx');
    fs.writeFileSync(noScx, fakeVmlinux(hostBtf));
    await assert.rejects(
      ensureKernel({ cacheDir, kernelPath: noScx, onProgress: () => undefined }),
      isTldError('EINVAL', /kernel 6\.18\.0-fake .* has no sched_ext: its BTF has no struct sched_ext_ops.*CONFIG_SCHED_CLASS_EXT=y/),
    );
  }
  assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'kernel')).filter((n) => n !== '.lock'), [], 'nothing cached, no partial folder');
});

test("the user's own bzImage and ELF vmlinux are used and cached by content", { timeout: 5 * 60_000 }, async () => {
  const k = await kernel();
  const cacheDir = path.join(scratch, 'cache-user');
  const copy = path.join(scratch, 'my-bzImage');
  fs.copyFileSync(k.bzImage, copy);
  const steps: string[] = [];
  const u = await ensureKernel({ cacheDir, kernelPath: copy, onProgress: (p) => steps.push(p.step) });
  assert.equal(u.version, k.version);
  assert.equal(u.fromCache, false);
  assert.ok(u.hasBtf && u.hasSchedExt);
  assert.ok(steps.includes('decompress') && steps.includes('btf-dump'), steps.join(' '));
  assert.equal(fs.readFileSync(u.vmlinuxH, 'utf8'), fs.readFileSync(k.vmlinuxH, 'utf8'));
  assert.equal((await ensureKernel({ cacheDir, kernelPath: copy, onProgress: () => undefined })).fromCache, true);
  // The ELF vmlinux boots through PVH, so it is its own "bzImage".
  const elf = await ensureKernel({ cacheDir, kernelPath: k.vmlinuxElf, onProgress: () => undefined });
  assert.equal(elf.version, k.version);
  assert.equal(elf.bzImage, elf.vmlinuxElf);
  assert.equal(elf.fromCache, false);
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// The initramfs

/**
 * `cpio -t` (-tv with @verbose) of every archive in @file: an initramfs is archives one after
 * another (the base, then the run's part), where cpio stops at the first one's trailer.
 */
function cpioListing(file: string, verbose = false): string {
  const bytes = fs.readFileSync(file);
  const field = (at: number, i: number) => parseInt(bytes.toString('latin1', at + 6 + i * 8, at + 14 + i * 8), 16);
  const pad4 = (n: number) => (n + 3) & ~3;
  const parts: Buffer[] = [];
  let start = 0;
  for (let at = 0; at < bytes.length; ) {
    if (bytes[at] === 0) {
      at++; // the zeros that pad an archive to its block size
      continue;
    }
    assert.equal(bytes.toString('latin1', at, at + 6), '070701', `a newc header at ${at}`);
    const nameSize = field(at, 11);
    const name = bytes.toString('latin1', at + 110, at + 110 + nameSize - 1);
    at = pad4(pad4(at + 110 + nameSize) + field(at, 6));
    if (name === 'TRAILER!!!') {
      parts.push(bytes.subarray(start, at));
      while (at < bytes.length && bytes[at] === 0) at++;
      start = at;
    }
  }
  return parts.map((p) => execFileSync('cpio', [verbose ? '-tv' : '-t', '--quiet'], { input: p, encoding: 'utf8' })).join('');
}

test('buildInitramfs packs busybox with its applets, binaries with their libraries, files and /init', { timeout: 120_000 }, async () => {
  const out = path.join(scratch, 'list.cpio');
  const extra = path.join(scratch, 'hello.txt');
  fs.writeFileSync(extra, 'hello\n');
  await buildInitramfs({ out, binaries: ['/usr/sbin/bpftool'], files: [{ src: extra, dest: '/root/hello.txt' }], init: 'echo hi\n' });
  const listing = cpioListing(out).split('\n');
  for (const want of ['init', 'bin/busybox', 'bin/sh', 'bin/mount', 'sbin/poweroff', 'bin/bpftool', 'root/hello.txt', 'lib64/ld-linux-x86-64.so.2']) {
    assert.ok(listing.includes(want), `${want} is in the initramfs`);
  }
  assert.ok(listing.some((f) => /^(usr\/)?lib\/x86_64-linux-gnu\/libelf\.so\.1$/.test(f)), 'bpftool\'s libelf is in the initramfs');
  assert.match(cpioListing(out, true), /^-rwxr-xr-x\s+1 root\s+root\s+.* init$/m, '/init is executable and owned by root');
  assert.ok(!fs.readdirSync(scratch).some((n) => n.startsWith('list.cpio.tmp')), 'no temporary archive is left');
  await assert.rejects(
    buildInitramfs({ out, binaries: [path.join(scratch, 'no-such-tool')], init: 'true' }),
    isTldError('ENOENT', /no-such-tool .* does not exist/),
  );
});

test('the initramfs holds ELF files without their debug sections, and a host file under two names once', { timeout: 120_000 }, async () => {
  // tld-demo (built with -g) finds libtld.so through ldd at its host path, and the runner puts
  // libtld.so in /bin too: one file, two names.
  const demo = path.join(nativeBuild, 'tld-demo');
  const libtld = path.join(nativeBuild, 'libtld.so');
  const out = path.join(scratch, 'stripped.cpio');
  await buildInitramfs({ out, binaries: [demo], files: [{ src: libtld, dest: '/bin/libtld.so' }], init: 'true\n' });
  const unpacked = fs.mkdtempSync(path.join(scratch, 'unpacked-'));
  execFileSync('sh', ['-c', `cpio -idm --quiet < '${out}'`], { cwd: unpacked });
  const sections = (f: string) => execFileSync('readelf', ['-S', '-W', f], { encoding: 'utf8' });
  assert.match(sections(demo), /\.debug_info/, 'the host binary has debug sections (else this test shows nothing)');
  for (const f of ['bin/tld-demo', 'bin/libtld.so']) {
    assert.doesNotMatch(sections(path.join(unpacked, f)), /\.debug_/, `${f} went in without them`);
    assert.ok(fs.statSync(path.join(unpacked, f)).mode & 0o111, `${f} stays executable`);
  }
  const atHostPath = path.join(unpacked, libtld.slice(1));
  assert.equal(fs.statSync(atHostPath).ino, fs.statSync(path.join(unpacked, 'bin', 'libtld.so')).ino, 'libtld.so is one file under both names');
  // cpio stores a hard link's bytes once: the archive is smaller than its files by name.
  let byName = 0;
  const byInode = new Map<number, number>();
  for (const f of fs.readdirSync(unpacked, { recursive: true, encoding: 'utf8' })) {
    const st = fs.lstatSync(path.join(unpacked, f));
    if (!st.isFile()) continue;
    byName += st.size;
    byInode.set(st.ino, st.size);
  }
  const once = [...byInode.values()].reduce((a, b) => a + b, 0);
  const size = fs.statSync(out).size;
  assert.ok(size < byName && size >= once, `archive ${size} bytes, its files ${byName} by name and ${once} once`);
});

test('a folder goes into the base and into an overlay alike: symlinks followed, ELF files stripped, a missing one named', { timeout: 120_000 }, async () => {
  // The guest has none of the host's paths: a link to one must arrive as the file it names.
  const outside = path.join(scratch, 'outside.txt');
  fs.writeFileSync(outside, 'from outside\n');
  const folder = path.join(scratch, 'folder');
  fs.mkdirSync(path.join(folder, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'sub', 'plain.txt'), 'plain\n');
  fs.symlinkSync(outside, path.join(folder, 'absolute-link'));
  fs.symlinkSync('sub/plain.txt', path.join(folder, 'relative-link'));
  const libtld = path.join(nativeBuild, 'libtld.so');
  const files = [
    { src: folder, dest: '/opt/folder' },
    { src: libtld, dest: '/opt/libtld.so' },
  ];
  const base = path.join(scratch, 'files-base.cpio');
  await buildInitramfs({ out: base, binaries: [], files, init: 'true\n' });
  const overlay = path.join(scratch, 'files-overlay.cpio.gz');
  await buildOverlay({ out: overlay, executables: [], files });
  for (const [name, unpack] of [
    ['base', `cpio -idm --quiet < '${base}'`],
    ['overlay', `gzip -dc '${overlay}' | cpio -idm --quiet`],
  ] as const) {
    const unpacked = fs.mkdtempSync(path.join(scratch, `${name}-`));
    execFileSync('sh', ['-c', unpack], { cwd: unpacked });
    const opt = path.join(unpacked, 'opt');
    for (const [link, content] of [['absolute-link', 'from outside\n'], ['relative-link', 'plain\n']]) {
      const f = path.join(opt, 'folder', link);
      assert.ok(fs.lstatSync(f).isFile(), `${name}: ${link} is a file, not a link`);
      assert.equal(fs.readFileSync(f, 'utf8'), content, `${name}: ${link}`);
    }
    assert.equal(fs.readFileSync(path.join(opt, 'folder', 'sub', 'plain.txt'), 'utf8'), 'plain\n');
    assert.doesNotMatch(execFileSync('readelf', ['-S', '-W', path.join(opt, 'libtld.so')], { encoding: 'utf8' }), /\.debug_/, `${name}: libtld.so went in stripped`);
  }
  const missing = [{ src: path.join(scratch, 'no-such-folder'), dest: '/opt/x' }];
  await assert.rejects(buildInitramfs({ out: base, binaries: [], files: missing, init: 'true\n' }), isTldError('ENOENT', /no-such-folder \(for \/opt\/x in the initramfs\) does not exist/));
  await assert.rejects(buildOverlay({ out: overlay, executables: [], files: missing }), isTldError('ENOENT', /no-such-folder \(for \/opt\/x in the initramfs\) does not exist/));
});

test('a kept base archive is reused while its inputs stay the same, and the run part appended to it boots', { timeout: 5 * 60_000 }, async () => {
  const k = await kernel();
  const baseCache = path.join(scratch, 'bases');
  const tool = path.join(scratch, 'tool');
  fs.copyFileSync('/usr/sbin/bpftool', tool);
  fs.chmodSync(tool, 0o755);
  const note = path.join(scratch, 'note.txt');
  const build = async (out: string, text: string): Promise<void> => {
    fs.writeFileSync(note, `${text}\n`);
    await buildInitramfs({ out, binaries: [tool], runFiles: [{ src: note, dest: '/etc/note.txt' }], init: guestInit(['cat /etc/note.txt', 'tool version | head -1']), baseCache });
  };
  const bases = () => fs.readdirSync(baseCache).filter((f) => f.endsWith('.cpio'));
  await build(path.join(scratch, 'first.cpio'), 'first run');
  assert.equal(bases().length, 1);
  const base = path.join(baseCache, bases()[0]!);
  const ino = fs.statSync(base).ino;
  const second = path.join(scratch, 'second.cpio');
  await build(second, 'second run');
  assert.deepEqual(bases(), [path.basename(base)], 'the same inputs reuse the base');
  assert.equal(fs.statSync(base).ino, ino, 'the base is not packed again');
  assert.ok(fs.statSync(second).size > fs.statSync(base).size, 'the run part follows the base');
  const lines: string[] = [];
  const r = await bootGuest({ bzImage: k.bzImage, initramfs: second, timeoutMs: 180_000, onConsole: (l) => lines.push(l) });
  assert.equal(r.exitCode, 0, r.lastLines.join('\n'));
  assert.ok(lines.includes('second run'), `the run part's file: ${lines.join('\n')}`);
  assert.ok(lines.some((l) => /^tool v\d/.test(l)), `the base's binary and its libraries: ${lines.join('\n')}`);
  // A rebuilt binary is a new base; the most recently used four are kept.
  for (let i = 0; i < 5; i++) {
    fs.utimesSync(tool, new Date(), new Date(Date.now() + (i + 1) * 1000));
    await build(path.join(scratch, 'again.cpio'), `run ${i}`);
  }
  assert.equal(bases().length, 4, bases().join(' '));
  assert.ok(!bases().includes(path.basename(base)), 'the oldest base is gone');
});

// ---------------------------------------------------------------------------------------
// (c), (d) Booting

test('the sched_ext kernel boots in qemu; the guest reports its kernel, sched_ext and exit code', { timeout: 5 * 60_000 }, async () => {
  const k = await kernel();
  const initramfs = path.join(scratch, 'boot.cpio');
  await buildInitramfs({
    out: initramfs,
    binaries: [],
    init: [
      '#!/bin/sh',
      'mount -t proc proc /proc',
      'mount -t sysfs sysfs /sys',
      'echo "guest-kernel: $(uname -r)"',
      'if [ -d /sys/kernel/sched_ext ]; then echo "sched_ext: yes ($(cat /sys/kernel/sched_ext/state))"; else echo "sched_ext: no"; fi',
      // No background kernel work the runner did not ask for (Debian's kernel starts DAMON's sampler).
      'for p in /proc/[0-9]*; do case "$(cat $p/comm)" in kdamond*) echo "running: $(cat $p/comm)";; esac; done',
      'echo "TLD-VM-EXIT 0"',
      'poweroff -f',
      '',
    ].join('\n'),
  });
  const lines: string[] = [];
  const t0 = Date.now();
  const r = await bootGuest({ bzImage: k.bzImage, initramfs, timeoutMs: 180_000, onConsole: (l) => lines.push(l) });
  console.log(`booted under ${r.accel} (${r.accelReason}) in ${r.durationMs} ms (${Date.now() - t0} ms with the probe)`);
  assert.equal(r.timedOut, false, r.lastLines.join('\n'));
  assert.equal(r.exitCode, 0, r.lastLines.join('\n'));
  assert.ok(r.accel === 'kvm' || r.accel === 'tcg');
  assert.ok(r.accelReason.length > 0);
  assert.ok(lines.includes(`guest-kernel: ${k.version}`), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('sched_ext: yes')), lines.join('\n'));
  assert.deepEqual(lines.filter((l) => l.startsWith('running: ')), [], 'no kdamond in the guest');
  assert.ok(r.lastLines.includes('TLD-VM-EXIT 0'));
  assert.deepEqual(qemuProcessesWith(initramfs), []);
});

test("the guest's exit code comes from guestInit's commands; no exit line means 255", { timeout: 5 * 60_000 }, async () => {
  const k = await kernel();
  const failing = path.join(scratch, 'fail.cpio');
  await buildInitramfs({ out: failing, binaries: [], init: guestInit(['echo first', 'exit 7', 'echo never']) });
  const lines: string[] = [];
  const r = await bootGuest({ bzImage: k.bzImage, initramfs: failing, timeoutMs: 180_000, onConsole: (l) => lines.push(l) });
  assert.equal(r.exitCode, 7, r.lastLines.join('\n'));
  assert.ok(lines.includes('first') && !lines.includes('never'));

  const silent = path.join(scratch, 'silent.cpio');
  await buildInitramfs({ out: silent, binaries: [], init: '#!/bin/sh\necho bye\npoweroff -f\n' });
  const r2 = await bootGuest({ bzImage: k.bzImage, initramfs: silent, timeoutMs: 180_000, onConsole: () => undefined });
  assert.equal(r2.timedOut, false);
  assert.equal(r2.exitCode, 255);
  assert.ok(r2.lastLines.includes('bye'));
});

test('a guest that hangs is stopped at the time limit, with its last lines and no qemu left', { timeout: 5 * 60_000 }, async () => {
  const k = await kernel();
  const initramfs = path.join(scratch, 'hang.cpio');
  await buildInitramfs({
    out: initramfs,
    binaries: [],
    init: '#!/bin/sh\necho guest-hangs-now\nwhile :; do sleep 1; done\n',
  });
  const t0 = Date.now();
  const r = await bootGuest({ bzImage: k.bzImage, initramfs, timeoutMs: 20_000, onConsole: () => undefined });
  const took = Date.now() - t0;
  assert.equal(r.timedOut, true);
  assert.equal(r.exitCode, 255);
  assert.ok(took >= 20_000 && took < 30_000, `stopped at the limit (${took} ms)`);
  assert.ok(r.lastLines.length > 0 && r.lastLines.length <= 40);
  assert.ok(r.lastLines.includes('guest-hangs-now'), r.lastLines.join('\n'));
  assert.deepEqual(qemuProcessesWith(initramfs), [], 'no qemu process remains');
});

test('a guest stopped through its abort signal ends at once, says so, and leaves no qemu', { timeout: 5 * 60_000 }, async () => {
  const k = await kernel();
  const initramfs = path.join(scratch, 'stop.cpio');
  await buildInitramfs({
    out: initramfs,
    binaries: [],
    init: '#!/bin/sh\necho guest-waits-to-be-stopped\nwhile :; do sleep 1; done\n',
  });
  const abort = new AbortController();
  const r = await bootGuest({
    bzImage: k.bzImage,
    initramfs,
    timeoutMs: 120_000,
    signal: abort.signal,
    onConsole: (line) => {
      if (line.includes('guest-waits-to-be-stopped')) abort.abort();
    },
  });
  assert.equal(r.stopped, true);
  assert.equal(r.timedOut, false);
  assert.equal(r.exitCode, 255);
  assert.ok(r.lastLines.includes('guest-waits-to-be-stopped'), r.lastLines.join('\n'));
  assert.deepEqual(qemuProcessesWith(initramfs), [], 'no qemu process remains');
});

/** A qemu-system-x86_64 that behaves like this host's broken KVM ("KVM internal error", then paused). */
function fakeBrokenKvmQemu(): { dir: string; pidFile: string } {
  const dir = path.join(scratch, 'fake-qemu');
  const pidFile = path.join(dir, 'hung.pid');
  fs.mkdirSync(dir, { recursive: true });
  const real = execFileSync('sh', ['-c', 'command -v qemu-system-x86_64'], { encoding: 'utf8' }).trim();
  fs.writeFileSync(
    path.join(dir, 'qemu-system-x86_64'),
    [
      '#!/bin/sh',
      'case " $* " in *" -enable-kvm "*)',
      `  echo $$ >> '${pidFile}'`,
      '  echo "KVM internal error. Suberror: 1" >&2',
      '  echo "emulation failure" >&2',
      '  exec sleep 600;;',
      'esac',
      `exec '${real}' "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return { dir, pidFile };
}

test('a KVM that fails with "KVM internal error" is caught (probe or boot) and the guest runs under TCG', { timeout: 5 * 60_000 }, async (t) => {
  const k = await kernel();
  const initramfs = path.join(scratch, 'kvm.cpio.gz');
  await buildInitramfs({ out: initramfs, binaries: [], init: guestInit(['echo ok-under-tcg']) });
  const fake = fakeBrokenKvmQemu();
  const savedPath = process.env.PATH;
  process.env.PATH = `${fake.dir}:${savedPath ?? ''}`;
  try {
    // Forced KVM: the boot itself fails, qemu is stopped and the guest is booted again under TCG.
    const lines: string[] = [];
    const forced = await bootGuest({ bzImage: k.bzImage, initramfs, timeoutMs: 180_000, accel: 'kvm', onConsole: (l) => lines.push(l) });
    assert.equal(forced.accel, 'tcg');
    assert.match(forced.accelReason, /KVM failed during the boot \(KVM internal error/);
    assert.equal(forced.exitCode, 0, forced.lastLines.join('\n'));
    assert.ok(lines.includes('ok-under-tcg'));
    assert.ok(forced.durationMs < 120_000);

    let kvmUsable = true;
    try {
      fs.accessSync('/dev/kvm', fs.constants.R_OK | fs.constants.W_OK);
    } catch {
      kvmUsable = false;
    }
    if (!kvmUsable) {
      t.diagnostic('no usable /dev/kvm: the probe is not run, so only the forced case was checked');
    } else {
      const auto = await bootGuest({ bzImage: k.bzImage, initramfs, timeoutMs: 180_000, accel: 'auto', onConsole: () => undefined });
      assert.equal(auto.accel, 'tcg');
      assert.match(auto.accelReason, /^KVM probe failed: KVM internal error/);
      assert.equal(auto.exitCode, 0);
    }
  } finally {
    process.env.PATH = savedPath;
  }
  for (const pid of fs.readFileSync(fake.pidFile, 'utf8').split('\n').filter((l) => l !== '')) {
    assert.ok(!fs.existsSync(`/proc/${pid}`), `the hung KVM qemu (pid ${pid}) was stopped`);
  }
});

// ---------------------------------------------------------------------------------------
// Pure parts

test('pickNewestKernel takes the newest 6.18.x cloud image by number', () => {
  const names = [
    'linux-image-6.18.9+deb13-cloud-amd64',
    'linux-image-6.18.12+deb13-cloud-amd64',
    'linux-image-6.18.15+deb13-cloud-amd64-unsigned',
    'linux-image-6.18.15+deb13-cloud-amd64-dbg',
    'linux-image-6.19.14+deb13-cloud-amd64',
    'linux-image-6.18.13+deb13-amd64',
    'linux-image-6.1.8+deb13-cloud-amd64',
  ];
  assert.equal(pickNewestKernel(names), 'linux-image-6.18.12+deb13-cloud-amd64');
  assert.equal(pickNewestKernel(names, '6.19'), 'linux-image-6.19.14+deb13-cloud-amd64');
  assert.equal(pickNewestKernel(['linux-image-6.17.8+deb13-cloud-amd64']), null);
  assert.ok(compareReleases('6.18.9+deb13', '6.18.12+deb13') < 0);
});

test('mirrorFromSources reads one-line and deb822 sources, skipping security and snapshots', () => {
  const deb822 = [
    'Types: deb',
    '# http://snapshot.debian.org/archive/debian/20250520T000000Z',
    'URIs: http://mirror.example.org/debian/',
    'Suites: bookworm bookworm-updates',
    'Components: main',
    '',
    'Types: deb',
    'URIs: http://mirror.example.org/debian-security',
    'Suites: bookworm-security',
  ].join('\n');
  assert.equal(mirrorFromSources([deb822]), 'http://mirror.example.org/debian');
  assert.equal(mirrorFromSources(['deb [arch=amd64 signed-by=/k.gpg] https://ftp.example.net/debian bookworm main\n']), 'https://ftp.example.net/debian');
  assert.equal(mirrorFromSources(['deb http://snapshot.debian.org/archive/debian/20250520T000000Z bookworm main\n']), null);
  assert.equal(mirrorFromSources(['Types: deb\nEnabled: no\nURIs: http://off.example/debian\n']), null);
  assert.equal(mirrorFromSources(['deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n']), null);
});

test('aptOptions confine apt to the private folder', () => {
  const o = aptOptions('/c/apt');
  assert.deepEqual(o.slice(0, 2), ['-c', '/c/apt/apt.conf']);
  const values = o.slice(2).filter((_, i) => i % 2 === 1);
  assert.ok(o.slice(2).filter((_, i) => i % 2 === 0).every((x) => x === '-o'));
  for (const key of ['Dir::State', 'Dir::State::status', 'Dir::Cache', 'Dir::Etc::sourcelist', 'Dir::Etc::sourceparts']) {
    const v = values.find((x) => x.startsWith(`${key}=`));
    assert.ok(v && v.slice(key.length + 1).startsWith('/c/apt/'), `${key} points into the private folder`);
  }
  assert.ok(values.includes('Acquire::Check-Valid-Until=false'));
});

test('parseControl, parseLdd, cleanConsoleLine, exitCodeOf', () => {
  const show = 'Package: a\nVersion: 1\nSize: 10\nDescription: x\n more\n\nPackage: a\nVersion: 2\n';
  assert.deepEqual(parseControl(show).map((s) => s.Version), ['1', '2']);
  const ldd = [
    '\tlinux-vdso.so.1 (0x00007ffd)',
    '\tlibelf.so.1 => /lib/x86_64-linux-gnu/libelf.so.1 (0x00007f4d188f1000)',
    '\tlibgone.so.3 => not found',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f4d189a6000)',
  ].join('\n');
  assert.deepEqual(parseLdd(ldd), {
    libs: ['/lib/x86_64-linux-gnu/libelf.so.1', '/lib64/ld-linux-x86-64.so.2'],
    missing: ['libgone.so.3'],
  });
  assert.equal(cleanConsoleLine('\x1bc\x1b[?7l\x1b[2JSeaBIOS (version 1)\r'), 'SeaBIOS (version 1)');
  assert.equal(exitCodeOf(['x', 'TLD-VM-EXIT 3', '[ 1.0] TLD-VM-EXIT 4', 'y']), 4);
  assert.equal(exitCodeOf(['nothing']), 255);
  assert.equal(inspectKernelImage(Buffer.alloc(4096)).kind, 'unknown');
});
