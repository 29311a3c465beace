// Building a sched_ext scheduler for the guest kernel: its BPF object against the guest's
// vmlinux.h (the host's has no sched_ext). The guest loads it with tld-scx-run, the one
// loader for every scheduler (native/scx/scx_run.c).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Diagnostic, compile } from '../client/compiler';
import { buildOptions } from './buildOptions';

export interface SchedulerBuild {
  readonly ok: boolean;
  readonly diagnostics: readonly Diagnostic[];
  /** The BPF object to load in the guest. */
  readonly object: string;
}

/** The developer's build options for the guest's scheduler (tldctl vm run -I/--cflag, the extension's settings). */
export interface SchedulerBuildOptions {
  readonly includeDirs?: readonly string[];
  readonly cflags?: readonly string[];
  /** Look for compile_commands.json up to this folder; false: do not look. */
  readonly compileCommandsTop?: string | false;
}

/**
 * Compiles @bpfSource (NAME.bpf.c) into @outDir against the folder @vmlinuxDir holding the
 * guest's vmlinux.h (always the guest kernel's: --kernel of vm run names the guest), with the
 * include folders and flags of @opts and of compile_commands.json.
 */
export async function buildScheduler(bpfSource: string, vmlinuxDir: string, outDir: string, opts: SchedulerBuildOptions = {}): Promise<SchedulerBuild> {
  fs.mkdirSync(outDir, { recursive: true });
  const object = path.join(outDir, path.basename(bpfSource).replace(/\.bpf\.c$/, '.bpf.o'));
  const flags = await buildOptions(bpfSource, { ...opts, kernel: false });
  const built = await compile(bpfSource, { ...flags, vmlinuxDir, output: object });
  return { ok: built.ok, diagnostics: built.diagnostics, object };
}
