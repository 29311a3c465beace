// tldctl compile's build options reach clang: -I, --cflag, --kernel, the default flags,
// compile_commands.json, and a sched_ext source on this host (which has no sched_ext) built
// against the cached sched_ext kernel's vmlinux.h.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { cacheDir } from '../../extension/src/client/paths';
import { hostHasSchedExt } from '../../extension/src/vm/buildOptions';
import { listCachedKernels } from '../../extension/src/vm/kernel';
import { repoRoot } from '../support/repo';
import { ProcessSet, runTldctl } from '../support/processes';

const procs = new ProcessSet(process.env);
let work: string;
let env: NodeJS.ProcessEnv;
/** The user's real cache: the sched_ext kernel npm test fetched before the tests. */
const realCache = cacheDir();

const tldctl = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runTldctl(procs, args, { env: { ...env, ...extraEnv }, timeoutMs: 120_000 });

interface CompileJson {
  ok: boolean;
  command: string[];
  diagnostics: { file: string; line: number; severity: string; message: string; source: string }[];
}

async function compileJson(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CompileJson> {
  const r = await tldctl(['compile', ...args, '--json'], extraEnv);
  assert.ok(r.stdout.trim(), r.stderr);
  return JSON.parse(r.stdout) as CompileJson;
}

function write(rel: string, text: string): string {
  const file = path.join(work, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

/** A program that builds only when its header is found and FLAG_VALUE is 7. */
const NEEDS_FLAGS = `#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "only_here.h"

#if !defined(FLAG_VALUE) || FLAG_VALUE != 7
#error FLAG_VALUE must be 7
#endif

char LICENSE[] SEC("license") = "GPL";
__u64 seen;

SEC("tracepoint/syscalls/sys_enter_getpid")
int count(void *ctx)
{
	seen += ONLY_HERE;
	return 0;
}
`;

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-it-build-'));
  // A cache of the test's own for objects; kernels are read from the real one where a test says so.
  env = { ...process.env, XDG_CACHE_HOME: path.join(work, 'cache') };
});

after(async () => {
  await procs.killAll();
  fs.rmSync(work, { recursive: true, force: true });
});

test('-I and --cflag reach clang, after the defaults -g -O2 -target bpf -mcpu=v3', async () => {
  const src = write('flags/prog.bpf.c', NEEDS_FLAGS);
  write('flags/inc/only_here.h', '#define ONLY_HERE 3\n');
  const without = await compileJson([src]);
  assert.equal(without.ok, false);
  assert.ok(without.diagnostics.some((d) => d.severity === 'error' && /only_here\.h' file not found/.test(d.message)), JSON.stringify(without.diagnostics));

  const noFlag = await compileJson([src, '-I', path.join(work, 'flags/inc')]);
  assert.equal(noFlag.ok, false);
  assert.ok(noFlag.diagnostics.some((d) => /FLAG_VALUE must be 7/.test(d.message)), JSON.stringify(noFlag.diagnostics));

  const built = await compileJson([src, `-I${path.join(work, 'flags/inc')}`, '--cflag', '-DFLAG_VALUE=7', '--cflag', '-Wno-unused']);
  assert.equal(built.ok, true, JSON.stringify(built.diagnostics));
  const at = (flag: string) => built.command.indexOf(flag);
  for (const flag of ['-g', '-O2', '-mcpu=v3', '-DFLAG_VALUE=7', '-Wno-unused']) assert.ok(at(flag) > 0, `${flag} missing: ${built.command.join(' ')}`);
  assert.deepEqual(built.command.slice(at('-target'), at('-target') + 2), ['-target', 'bpf']);
  assert.ok(at('-mcpu=v3') < at('-DFLAG_VALUE=7'), 'the user\'s flags come after the defaults, so they win');
  const user = built.command.indexOf(path.join(work, 'flags/inc'));
  const ours = built.command.indexOf(path.join(repoRoot, 'bpf', 'include'));
  assert.ok(user > 0 && ours > user, `the user's include folder is searched before TLD Studio's: ${built.command.join(' ')}`);
});

test("compile_commands.json's -I and -D of the file's sibling loader are picked up, with a note saying from where", async () => {
  const src = write('scx/scheds/c/my_sched.bpf.c', NEEDS_FLAGS);
  write('scx/scheds/include/only_here.h', '#define ONLY_HERE 5\n');
  write('scx/scheds/c/my_sched.c', 'int main(void) { return 0; }\n');
  const db = write('scx/build/compile_commands.json', JSON.stringify([
    { directory: path.join(work, 'scx/build'), file: '../scheds/c/my_sched.c', command: 'cc -I../scheds/include "-DFLAG_VALUE=7" -O2 -c ../scheds/c/my_sched.c -o my_sched.o' },
  ]));
  const r = await compileJson([src]);
  assert.equal(r.ok, true, JSON.stringify(r.diagnostics));
  assert.ok(r.command.includes(path.join(work, 'scx/scheds/include')), r.command.join(' '));
  const note = r.diagnostics.find((d) => d.severity === 'note' && d.message.includes('compile_commands.json'));
  assert.ok(note, JSON.stringify(r.diagnostics));
  assert.match(note.message, new RegExp(`flags from ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(the entry of my_sched\\.c\\)`));
});

test('a sched_ext scheduler built on this host (no sched_ext) uses the cached sched_ext kernel\'s vmlinux.h and says so', async (t) => {
  if (hostHasSchedExt()) {
    t.skip('the running kernel has sched_ext: the host vmlinux.h is used and there is nothing to say');
    return;
  }
  const kernel = listCachedKernels(realCache).find((k) => k.hasSchedExt);
  assert.ok(kernel, `no sched_ext kernel in ${realCache}: npm test fetches one before the tests (tldctl vm kernel)`);
  const scheduler = path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c');
  // Objects in this test's cache; the kernel from the real one (XDG_CACHE_HOME names both).
  const r = await compileJson([scheduler, '--out', path.join(work, 'scx_hints.bpf.o')], { XDG_CACHE_HOME: path.dirname(realCache) });
  assert.equal(r.ok, true, JSON.stringify(r.diagnostics));
  assert.ok(r.command.includes(path.dirname(kernel.vmlinuxH)), r.command.join(' '));
  const note = r.diagnostics.find((d) => d.severity === 'note' && /uses sched_ext/.test(d.message));
  assert.ok(note, JSON.stringify(r.diagnostics));
  assert.match(note.message, new RegExp(`running kernel \\(${os.release().replace(/[.+]/g, '\\$&')}\\) has none: built against the vmlinux.h of the cached sched_ext kernel ${kernel.version.replace(/[.+]/g, '\\$&')}`));
});

test('without a cached sched_ext kernel, a sched_ext source gets one error naming tldctl vm kernel instead of clang\'s unknown types', async (t) => {
  if (hostHasSchedExt()) {
    t.skip('the running kernel has sched_ext: its own vmlinux.h builds the scheduler');
    return;
  }
  const r = await compileJson([path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c')]);
  assert.equal(r.ok, false);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.match(errors[0]!.message, /uses sched_ext and the running kernel .* has none.*`tldctl vm kernel`/);
  assert.equal(errors[0]!.source, 'build');
  assert.ok(errors[0]!.line > 1, 'the error is on the line that uses sched_ext');
});

test('--kernel builds against a cached kernel by version, or a vmlinux.h given by path; an unknown one is refused clearly', async () => {
  const kernel = listCachedKernels(realCache).find((k) => k.hasSchedExt);
  assert.ok(kernel, `no sched_ext kernel in ${realCache}: npm test fetches one before the tests (tldctl vm kernel)`);
  const src = write('kernel/prog.bpf.c', NEEDS_FLAGS);
  write('kernel/only_here.h', '#define ONLY_HERE 1\n');
  const byVersion = await compileJson([src, '--cflag', '-DFLAG_VALUE=7', '--kernel', kernel.version], { XDG_CACHE_HOME: path.dirname(realCache) });
  assert.equal(byVersion.ok, true, JSON.stringify(byVersion.diagnostics));
  assert.ok(byVersion.command.includes(path.dirname(kernel.vmlinuxH)), byVersion.command.join(' '));
  assert.ok(byVersion.diagnostics.some((d) => d.severity === 'note' && d.message.includes(`the cached kernel ${kernel.version}`)));

  const header = write('kernel/headers/guest_vmlinux.h', fs.readFileSync(kernel.vmlinuxH, 'utf8'));
  const byPath = await compileJson([src, '--cflag', '-DFLAG_VALUE=7', '--kernel', header]);
  assert.equal(byPath.ok, true, JSON.stringify(byPath.diagnostics));
  assert.ok(byPath.diagnostics.some((d) => d.severity === 'note' && d.message.includes(header)));

  const unknown = await tldctl(['compile', src, '--kernel', '9.99-nothing']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /--kernel 9\.99-nothing is neither a file nor a cached kernel .*tldctl vm kernel/);
  assert.doesNotMatch(unknown.stderr, /\n\s+at /, 'no stack trace');
});
