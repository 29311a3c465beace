// From a kernel image to a checked ELF vmlinux and its vmlinux.h: the bzImage payload
// decompressed with the matching tool, .BTF required, the BTF dumped with bpftool, sched_ext required.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { TldError } from '../client/errors';
import { lookupTool } from '../client/hostTool';
import { KernelImage, elfSections, isElf } from './elf';
import { SETUP_HINT, failure, findTool, run } from './exec';
import { formatBytes } from './files';
import { Progress } from './kernelInfo';

const SCHED_EXT_MARK = 'struct sched_ext_ops {';

/** Decompresses a bzImage's payload into the ELF vmlinux at `out`. */
export async function decompressPayload(
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
export async function checkVmlinux(
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

function fileContains(f: string, needle: string): boolean {
  return fs.readFileSync(f).includes(needle);
}
