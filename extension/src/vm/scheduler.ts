// Building a sched_ext scheduler for the guest kernel: its BPF object against the guest's
// vmlinux.h (the host's has no sched_ext). The guest loads it with tld-scx-run, the one
// loader for every scheduler (native/scx/scx_run.c).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Diagnostic, compile } from '../client/compiler';

export interface SchedulerBuild {
  readonly ok: boolean;
  readonly diagnostics: readonly Diagnostic[];
  /** The BPF object to load in the guest. */
  readonly object: string;
}

/** Compiles @bpfSource (NAME.bpf.c) into @outDir against the folder @vmlinuxDir holding the guest's vmlinux.h. */
export async function buildScheduler(bpfSource: string, vmlinuxDir: string, outDir: string): Promise<SchedulerBuild> {
  fs.mkdirSync(outDir, { recursive: true });
  const object = path.join(outDir, path.basename(bpfSource).replace(/\.bpf\.c$/, '.bpf.o'));
  const built = await compile(bpfSource, { vmlinuxDir, output: object });
  return { ok: built.ok, diagnostics: built.diagnostics, object };
}
