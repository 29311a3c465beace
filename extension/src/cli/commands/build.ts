// tldctl compile, load, progs and unload: BPF objects built, checked, loaded and listed.
// The compiler, the loader and koffi are imported when a command runs (command.ts says why).
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { BuildOutcome } from '../../client/loader';
import { cacheDir } from '../../client/paths';
import { toJson } from '../../client/values';
import { Options, Parsed, UsageError, positiveInt } from '../args';
import { BUILD_OPTIONS, Command, out, withClient } from '../command';
import { programTable } from '../format';

const BUILD_AND_OUT: Options = { ...BUILD_OPTIONS, kernel: { type: 'string' }, out: { type: 'string' } };
const BUILD_HELP =
  '\n\nBuild options (repeatable ones may be given many times):\n' +
  '  -I DIR            an include folder, searched before TLD Studio\'s and libbpf\'s headers\n' +
  '  --cflag FLAG      a clang flag after the defaults (-g -O2 -target bpf -mcpu=v3), e.g. --cflag -DDEBUG\n' +
  '  --kernel K        build against the vmlinux.h of K: a cached kernel\'s version, a bzImage or vmlinux,\n' +
  '                    a vmlinux.h or a folder holding one. Default: the running kernel\'s; for a source that\n' +
  '                    uses sched_ext on a host without it, the cached sched_ext kernel\'s (tldctl vm kernel).\n' +
  'A compile_commands.json in the file\'s folder, a parent or their build folders gives its -I, -D, -mcpu\n' +
  'and -std flags (the entry of the file, or of its sibling NAME.c), before these.';

/** The build options of @p for @file (tldctl compile and load). */
async function buildOptionsOf(p: Parsed, file: string) {
  const { buildOptions } = await import('../../vm/buildOptions');
  return buildOptions(file, {
    includeDirs: p.lists.get('include') ?? [],
    cflags: p.lists.get('cflag') ?? [],
    ...(p.options.has('kernel') ? { kernel: p.options.get('kernel') } : {}),
  });
}

/** Prints a build's diagnostics; saves a verifier log and says where. Exit code: 1 on any error. */
async function report(o: BuildOutcome, json: boolean): Promise<number> {
  const { formatDiagnostic } = await import('../../client/loader');
  let logFile: string | undefined;
  if (o.load && !o.load.ok && o.load.log) {
    logFile = path.join(cacheDir(), 'logs', `${o.load.object || 'object'}.verifier.log`);
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    fs.writeFileSync(logFile, o.load.log);
  }
  const failed = o.diagnostics.some((d) => d.severity === 'error') || (o.load !== undefined && !o.load.ok);
  if (json) {
    out(toJson({ ok: !failed, object: o.compile.object, command: o.compile.command, diagnostics: o.diagnostics, load: o.load && { ...o.load, log: undefined, logFile } }));
    return failed ? 1 : 0;
  }
  for (const d of o.diagnostics) out(formatDiagnostic(d));
  if (o.load?.logGrown) out('note: the verifier log did not fit its first buffer; it was grown and the load retried');
  if (logFile) out(`the verifier's whole log: ${logFile}`);
  if (o.load?.ok) {
    out(`loaded ${o.load.object}: program id(s) ${o.load.progIds.join(', ')}${o.load.attached ? `, ${o.load.attached} attached` : ''}; unload with tldctl unload ${o.load.progIds[0] ?? ''}`);
  } else if (!failed) {
    out(`compiled ${o.compile.object}`);
  }
  return failed ? 1 : 0;
}

const compile: Command = {
  name: 'compile',
  summary: ['compile FILE [--json]        compile BPF C and check the object, errors at their lines'],
  help:
    "Usage: tldctl compile FILE [-I DIR]... [--cflag FLAG]... [--kernel K] [--out OBJ] [--json]\n\nCompiles FILE with clang -g -O2 -target bpf -mcpu=v3 against tld.bpf.h, libbpf's headers and a\nkernel's vmlinux.h, then checks the object (uptr structs defined, tld_data_map shape, license,\nprogram types). Diagnostics print as file:line:col: severity: message. Exits 1 on any error." + BUILD_HELP,
  options: BUILD_AND_OUT,
  async run(p, rest, g) {
    if (!rest[0]) throw new UsageError('compile needs FILE');
    const opts = { ...(await buildOptionsOf(p, rest[0])), output: p.options.get('out') };
    const [{ compileAndCheck }, { nativeObjectCheck }] = await Promise.all([import('../../client/loader'), import('../../client/nativeHelper')]);
    const o = await compileAndCheck({ objectCheck: async (obj) => nativeObjectCheck(obj) }, rest[0], opts);
    return report(o, g.json);
  },
};

const load: Command = {
  name: 'load',
  summary: ['load FILE [--attach]         compile, check and load it (programs stay until unload)'],
  help:
    'Usage: tldctl load FILE [--attach] [-I DIR]... [--cflag FLAG]... [--kernel K] [--out OBJ] [--json]\n\nCompiles, checks and loads FILE, sharing tld_data_map with applications (--pin). A verifier\nrejection is shown at the source line and column of the failing instruction (through inlined\nfunctions), with a plain explanation and, as notes, where the pointer came from; the whole log\nis saved and its path printed. Loaded programs are pinned under $TLD_STUDIO_PIN_ROOT\n(/sys/fs/bpf/tld-studio) until `tldctl unload ID`; --attach also attaches them (struct_ops:\nregisters them).' + BUILD_HELP,
  options: { ...BUILD_AND_OUT, attach: { type: 'boolean' } },
  async run(p, rest, g) {
    const file = rest[0];
    if (!file) throw new UsageError('load needs FILE');
    const opts = { ...(await buildOptionsOf(p, file)), output: p.options.get('out') };
    // clang starts first: the helper opens (koffi and the library load) while it runs.
    const { compile: clang } = await import('../../client/compiler');
    const compiled = clang(file, opts);
    compiled.catch(() => undefined); // awaited below; a failure to open the helper comes first
    return withClient(g.pin, async (c) => report(await c.loadCompiled(file, await compiled, p.switches.has('attach')), g.json));
  },
};

const progs: Command = {
  name: 'progs',
  summary: ['progs [--json]               loaded BPF programs: ids, types, sizes, run counts'],
  help: 'Usage: tldctl progs [--json]\n\nLists loaded BPF programs; run counts and times need sysctl kernel.bpf_stats_enabled=1.',
  run: (_p, _rest, g) =>
    withClient(g.pin, async (c) => {
      const list = await c.programs();
      out(g.json ? toJson(list) : programTable(list));
      return 0;
    }),
};

const unload: Command = {
  name: 'unload',
  summary: ['unload ID                    unload the object that program ID belongs to'],
  help: 'Usage: tldctl unload ID\n\nUnloads the object (all its programs and links) that program ID, loaded by tldctl load, belongs to.',
  async run(_p, rest, g) {
    const id = positiveInt(rest[0], 'ID');
    return withClient(g.pin, async (c) => {
      await c.unload(id);
      out(`unloaded the object of program ${id}`);
      return 0;
    });
  },
};

export const buildCommands: readonly Command[] = [compile, load, progs, unload];
