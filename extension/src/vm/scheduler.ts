// Building a sched_ext scheduler for the guest kernel: its BPF object against the guest's
// vmlinux.h (the host's has no sched_ext), the skeleton, and its loader linked with libbpf.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { compile } from '../client/compiler';
import { Diagnostic } from '../client/compiler';
import { TldError } from '../client/errors';

export interface SchedulerBuild {
  readonly ok: boolean;
  readonly diagnostics: readonly Diagnostic[];
  /** The loader binary to run in the guest. */
  readonly loader: string;
}

/**
 * Builds @bpfSource (NAME.bpf.c) and its loader @loaderSource (NAME.c, which includes
 * NAME.skel.h) into @outDir, against the folder @vmlinuxDir holding the guest's vmlinux.h.
 */
export async function buildScheduler(bpfSource: string, loaderSource: string, vmlinuxDir: string, outDir: string): Promise<SchedulerBuild> {
  fs.mkdirSync(outDir, { recursive: true });
  const name = path.basename(bpfSource).replace(/\.bpf\.c$/, '');
  const object = path.join(outDir, `${name}.bpf.o`);
  const built = await compile(bpfSource, { vmlinuxDir, output: object });
  const loader = path.join(outDir, name);
  if (!built.ok) return { ok: false, diagnostics: built.diagnostics, loader };
  const skel = spawnSync('bpftool', ['gen', 'skeleton', object, 'name', `${name.replace(/-/g, '_')}_bpf`], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (skel.status !== 0) throw new TldError('EIO', `bpftool could not make the skeleton of ${object}: ${skel.stderr.trim()}`);
  fs.writeFileSync(path.join(outDir, `${name}.skel.h`), skel.stdout);
  const cc = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-include', 'linux/types.h', '-I', outDir, loaderSource, '-o', loader, '-lbpf'], { encoding: 'utf8' });
  if (cc.status !== 0) throw new TldError('EIO', `the loader ${loaderSource} does not compile: ${cc.stderr.trim()}`);
  return { ok: true, diagnostics: built.diagnostics, loader };
}
