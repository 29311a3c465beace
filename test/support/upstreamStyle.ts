// The producer and reader written in upstream's style (test/integration/upstream_style), built
// into a folder of the caller's: writers of both layout revisions and the reader per revision.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { toolchainFiles } from '../../extension/src/client/paths';
import { loadToolchain } from '../../extension/src/client/toolchain';
import { bpfBuild, repoRoot } from './repo';

export const upstreamStyleSources = path.join(repoRoot, 'test', 'integration', 'upstream_style');

/** The programs built: writers by configuration, the reader's loader, its BPF object per revision. */
export const UPSTREAM_STYLE = {
  /** Upstream's first revision with its default TLD_DYN_DATA_SIZE (64): data inside a malloc'ed page. */
  writerRev1Malloc: 'writer-rev1-malloc',
  /** The first revision with TLD_DYN_DATA_SIZE of half a page: aligned_alloc, data at the page's start. */
  writerRev1Pages: 'writer-rev1-pages',
  /** The later revision: start in the map value, data anywhere in the page. */
  writerRev2: 'writer-rev2',
  reader: 'reader',
  readerObject: (rev: 1 | 2) => `reader-rev${rev}.bpf.o`,
} as const;

/** Builds every upstream-style program into @dir (made readable to every user). */
export function buildUpstreamStyle(dir: string): void {
  const tc = loadToolchain(toolchainFiles());
  if (!tc) throw new Error('no toolchain.json: run npm run build');
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o755);
  const libbpf = [`-I${tc.libbpf.include}`];
  const link = [tc.libbpf.static ?? '-lbpf', '-lelf', '-lz', '-lpthread'];
  const cc = (out: string, src: string, defs: string[]) =>
    execFileSync('cc', ['-O2', '-g', '-Wall', '-Wextra', '-Werror', '-std=gnu11', '-D_GNU_SOURCE', ...defs,
      path.join(upstreamStyleSources, src), '-o', path.join(dir, out), ...libbpf, ...link]);
  cc(UPSTREAM_STYLE.writerRev1Malloc, 'writer.c', ['-DTLD_REV=1']);
  cc(UPSTREAM_STYLE.writerRev1Pages, 'writer.c', ['-DTLD_REV=1', '-DTLD_DYN_DATA_SIZE=2048']);
  cc(UPSTREAM_STYLE.writerRev2, 'writer.c', ['-DTLD_REV=2']);
  cc(UPSTREAM_STYLE.reader, 'reader.c', []);
  for (const r of [1, 2] as const) {
    // __PAGE_SIZE comes from vmlinux.h, as for upstream's BPF header.
    execFileSync('clang-19', ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', `-DTLD_REV=${r}`, '-Wall', '-Werror',
      `-I${bpfBuild}`, ...libbpf, '-c', path.join(upstreamStyleSources, 'reader.bpf.c'), '-o', path.join(dir, UPSTREAM_STYLE.readerObject(r))]);
  }
}
