// Builds test/vm/ownloader's own_fifo scheduler and its skeleton loader the way a developer
// builds theirs, into a folder of the test's: clang for the BPF side against the guest
// kernel's vmlinux.h, bpftool gen skeleton, cc with the project's libbpf (toolchain.json).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { toolchainFiles } from '../../extension/src/client/paths';
import { loadToolchain } from '../../extension/src/client/toolchain';
import { repoRoot } from '../support/repo';

const SOURCES = path.join(repoRoot, 'test', 'vm', 'ownloader');

/** Builds own_fifo into @outDir (created) for the kernel whose vmlinux.h is @vmlinuxH; returns the loader's path. */
export function buildOwnFifo(outDir: string, vmlinuxH: string): string {
  const t = loadToolchain(toolchainFiles());
  if (!t) throw new Error(`no toolchain.json (${toolchainFiles().join(', ')}): run npm run build`);
  fs.mkdirSync(outDir, { recursive: true });
  const obj = path.join(outDir, 'own_fifo.bpf.o');
  execFileSync('clang-19', [
    '-g', '-O2', '-target', 'bpf', '-mcpu=v3', '-D__TARGET_ARCH_x86',
    '-I', path.dirname(vmlinuxH), '-I', path.join(repoRoot, 'bpf', 'include'), '-I', path.join(repoRoot, 'native', 'include'), '-I', t.libbpf.include,
    '-c', path.join(SOURCES, 'own_fifo.bpf.c'), '-o', obj,
  ], { stdio: ['ignore', 'inherit', 'inherit'] });
  fs.writeFileSync(path.join(outDir, 'own_fifo.skel.h'), execFileSync(t.bpftool.path, ['gen', 'skeleton', obj, 'name', 'own_fifo_bpf'], { maxBuffer: 256 * 2 ** 20 }));
  const loader = path.join(outDir, 'own_fifo');
  const libbpf = t.libbpf.static ? [t.libbpf.static] : ['-lbpf'];
  execFileSync('cc', [
    '-Wall', '-Wextra', '-Werror', '-O2', '-I', outDir, '-I', path.join(repoRoot, 'native', 'include'), '-I', t.libbpf.include,
    path.join(SOURCES, 'own_fifo.c'), '-o', loader, ...libbpf, '-lelf', '-lz',
  ], { stdio: ['ignore', 'inherit', 'inherit'] });
  return loader;
}
