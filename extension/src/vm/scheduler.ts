// Building a sched_ext scheduler for the guest kernel: its BPF object against the guest's
// vmlinux.h (the host's has no sched_ext). The guest loads it with tld-scx-run, the one
// loader for every scheduler (native/scx/scx_run.c).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Diagnostic, compile } from '../client/compiler';
import { lookupTool } from '../client/hostTool';
import { buildOptions } from './buildOptions';
import { run } from './exec';

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
 * The bytes of @object the guest loads: without its DWARF (llvm-objcopy --strip-debug), which
 * libbpf does not read, while .BTF and .BTF.ext (types, and the line info of verifier messages)
 * stay. scx_hints is 575 KB with DWARF and 60 KB without, and the guest took ~100 ms to read the
 * whole object from its port. The object itself stays whole, for the host's diagnostics. Without
 * llvm-objcopy (Debian's llvm-19), the whole object.
 */
export async function guestObjectBytes(object: string): Promise<Buffer> {
  const objcopy = lookupTool('llvm-objcopy-19') ?? lookupTool('llvm-objcopy');
  if (objcopy) {
    const stripped = `${object}.guest`;
    try {
      if ((await run(objcopy, ['--strip-debug', object, stripped])).code === 0) return fs.readFileSync(stripped);
    } finally {
      fs.rmSync(stripped, { force: true });
    }
  }
  return fs.readFileSync(object);
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
