// The precompiled vmlinux.h: made on the first compile, used by the next, the same code either
// way; never used where something before the include could change the header's meaning, nor
// when the header or clang changed; a broken one is dropped and the compile still succeeds. A
// source that reaches vmlinux.h through a common header (as scx's schedulers do) gets it once a
// compile has learnt that the chain is harmless.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { CompileResult, compile, vmlinuxDir } from '../../extension/src/client/compiler';
import { chainTo, harmlessRegion, includesVmlinuxFirst, parseIncludeTree, regionBefore, withoutIncludeTree } from '../../extension/src/client/includeChain';
import { repoRoot } from '../support/repo';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-pch-'));
// A vmlinux.h of our own (the running kernel's), so that changing it touches nothing else.
const headers = path.join(work, 'vmlinux');
fs.mkdirSync(headers);
fs.copyFileSync(path.join(vmlinuxDir(), 'vmlinux.h'), path.join(headers, 'vmlinux.h'));
const savedCache = process.env.XDG_CACHE_HOME;
process.env.XDG_CACHE_HOME = path.join(work, 'cache');
const pchDir = path.join(work, 'cache', 'tld-studio', 'pch');
after(() => {
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCache;
  fs.rmSync(work, { recursive: true, force: true });
});

const template = path.join(repoRoot, 'bpf', 'templates', 'hint_sampler.bpf.c');
const GUARDS = 'Multiple include guards may be useful for:';
const build = (file: string, extra: { precompiledVmlinux?: boolean; output?: string } = {}): Promise<CompileResult> =>
  compile(file, { vmlinuxDir: headers, output: path.join(work, `${path.basename(file)}.${extra.precompiledVmlinux === false ? 'plain' : 'pch'}.o`), ...extra });
const usesPch = (r: CompileResult) => r.command.includes('-include-pch');
const pchFiles = () => (fs.existsSync(pchDir) ? fs.readdirSync(pchDir).filter((f) => f.endsWith('.pch')) : []);
const disassembly = (obj: string) => {
  const r = spawnSync('llvm-objdump-19', ['-d', '--no-show-raw-insn', obj], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').slice(2).join('\n');
};

test('includesVmlinuxFirst: only when the first line of code, past comments and blank lines, includes vmlinux.h', () => {
  assert.ok(includesVmlinuxFirst('/* SPDX */\n// a scheduler\n\n#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n'));
  assert.ok(includesVmlinuxFirst('#  include <vmlinux.h>\n'));
  assert.ok(!includesVmlinuxFirst('#define BPF_NO_PRESERVE_ACCESS_INDEX\n#include "vmlinux.h"\n'));
  assert.ok(!includesVmlinuxFirst('#include "common.bpf.h"\n#include "vmlinux.h"\n'));
  assert.ok(!includesVmlinuxFirst('/* never closed\n#include "vmlinux.h"\n'));
  assert.ok(!includesVmlinuxFirst('#include "vmlinux.h.orig"\n'));
});

test('the first compile makes the precompiled vmlinux.h, the next uses it, and both give the same code as a compile without it', async () => {
  const first = await build(template);
  assert.ok(first.ok && !usesPch(first), first.command.join(' '));
  assert.equal(pchFiles().length, 1, 'the first compile made no precompiled header');
  const second = await build(template);
  assert.ok(second.ok && usesPch(second), second.command.join(' '));
  const plain = await build(template, { precompiledVmlinux: false });
  assert.ok(plain.ok && !usesPch(plain));
  assert.equal(disassembly(second.object), disassembly(plain.object));
  // Errors keep their lines with the header precompiled.
  const broken = path.join(work, 'broken.bpf.c');
  fs.writeFileSync(broken, fs.readFileSync(template, 'utf8').replace('char LICENSE', 'this is not C;\nchar LICENSE'));
  const line = fs.readFileSync(broken, 'utf8').split('\n').indexOf('this is not C;') + 1;
  for (const r of [await build(broken), await build(broken, { precompiledVmlinux: false })]) {
    assert.ok(!r.ok && r.diagnostics.some((d) => d.file === broken && d.line === line && d.severity === 'error'), JSON.stringify(r.diagnostics));
  }
});

test('a source that defines a macro before including vmlinux.h, or a -include flag, is compiled without the precompiled header', async () => {
  const defines = path.join(work, 'defines.bpf.c');
  fs.writeFileSync(defines, `#define BPF_NO_PRESERVE_ACCESS_INDEX\n${fs.readFileSync(template, 'utf8')}`);
  for (let i = 0; i < 2; i++) assert.ok(!usesPch(await build(defines)));
  const forced = await compile(template, { vmlinuxDir: headers, output: path.join(work, 'forced.o'), cflags: ['-include', path.join(headers, 'vmlinux.h')] });
  assert.ok(forced.ok && !usesPch(forced), forced.command.join(' '));
});

test('a changed vmlinux.h gets a new precompiled header; a broken one is dropped and the compile succeeds without it', async () => {
  await build(template);
  assert.ok(usesPch(await build(template)));
  const before = new Set(pchFiles());
  const header = path.join(headers, 'vmlinux.h');
  fs.appendFileSync(header, '\n/* changed */\n');
  const changed = await build(template);
  assert.ok(changed.ok && !usesPch(changed), 'the precompiled header of the old vmlinux.h was used');
  const made = pchFiles().filter((f) => !before.has(f));
  assert.equal(made.length, 1, `a new header was not made: ${pchFiles().join(' ')}`);
  const pch = path.join(pchDir, made[0]!);
  fs.writeFileSync(pch, 'not a precompiled header');
  const r = await build(template);
  assert.ok(r.ok && !usesPch(r), `${r.command.join(' ')}\n${JSON.stringify(r.diagnostics)}`);
  assert.ok(!fs.existsSync(pch), 'the broken header was kept');
});

test('parseIncludeTree, chainTo and harmlessRegion: a chain to vmlinux.h is harmless only if entered first, with no macro the header uses before it', () => {
  const stderr = ['. /s/inc/common.bpf.h', '.. /s/vmlinux.h', '.. /s/inc/bpf_helpers.h', 'x.c:3:1: warning: something', GUARDS, '/s/inc/common.bpf.h'].join('\n');
  const tree = parseIncludeTree(stderr, '/s');
  assert.deepEqual(tree.map((e) => [e.depth, e.file]), [[1, '/s/inc/common.bpf.h'], [2, '/s/vmlinux.h'], [2, '/s/inc/bpf_helpers.h']]);
  assert.equal(withoutIncludeTree(stderr), 'x.c:3:1: warning: something');
  assert.deepEqual(chainTo(tree, '/s/vmlinux.h'), ['/s/inc/common.bpf.h']);
  // Another header entered first, or vmlinux.h not below the chain: no chain.
  assert.equal(chainTo(parseIncludeTree('. /s/a.h\n. /s/vmlinux.h', '/s'), '/s/vmlinux.h'), null);
  assert.equal(chainTo(parseIncludeTree('. /s/a.h\n.. /s/b.h\n. /s/vmlinux.h', '/s'), '/s/vmlinux.h'), null);
  assert.equal(chainTo(tree, '/s/other/vmlinux.h'), null);

  const header = 'struct task_struct { int pid; };\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#endif\n';
  const region = (text: string) => regionBefore(text, 'vmlinux.h');
  const lsp = '#ifndef COMMON_H\n#define COMMON_H\n#ifdef LSP\n#define __bpf__\n#include "../vmlinux.h"\n#else\n#include "vmlinux.h"\n#endif\n#include <bpf/bpf_helpers.h>\n#define AFTER 1\nint code;\n';
  assert.deepEqual(region(lsp), ['#ifndef COMMON_H', '#define COMMON_H', '#ifdef LSP', '#define __bpf__', '#include "../vmlinux.h"', '#else']);
  assert.ok(harmlessRegion(region(lsp)!, header));
  for (const before of ['#define task_struct my_task', '#define BPF_NO_PRESERVE_ACCESS_INDEX', '#undef pid', '#pragma pack(1)', '#line 7']) {
    assert.ok(!harmlessRegion(region(`/* a */\n${before}\n#include "vmlinux.h"\n`)!, header), before);
  }
  // A comment opener inside a line comment or a string opens nothing: the macro after it is seen.
  assert.ok(!harmlessRegion(region('// see /* here\n#define task_struct my_task\n/* */\n#include "vmlinux.h"\n')!, header));
  assert.ok(!harmlessRegion(region('#error "/*"\n#define task_struct my_task\n#include "vmlinux.h" /* */\n')!, header));
  // Code before the include ends the run of directives: the include is not in it.
  assert.equal(region('int x;\n#include "vmlinux.h"\n'), undefined);
  // A continued line is one directive: its second line is not taken for code.
  const continued = region('#define LONG \\\n  1\n#include "vmlinux.h"\n');
  assert.ok(continued?.length === 1 && /^#define LONG\s+1$/.test(continued[0]!) && harmlessRegion(continued, header), JSON.stringify(continued));
});

test("a scheduler that reaches vmlinux.h through scx's kind of common header gets the precompiled one from its third compile, with the same code; a macro the header uses before the include keeps it off", async () => {
  const proj = path.join(work, 'scx-like');
  fs.mkdirSync(path.join(proj, 'include', 'scx'), { recursive: true });
  fs.writeFileSync(path.join(proj, 'include', 'scx', 'common.bpf.h'), [
    '/* What the schedulers of this project share. */',
    '#ifndef SCX_LIKE_COMMON_BPF_H',
    '#define SCX_LIKE_COMMON_BPF_H',
    '#ifdef LSP',
    '#define __bpf__',
    '#include "../vmlinux.h"',
    '#else',
    '#include "vmlinux.h"',
    '#endif',
    '#include <bpf/bpf_helpers.h>',
    '#include <bpf/bpf_tracing.h>',
    '#endif',
    '',
  ].join('\n'));
  const body = fs.readFileSync(template, 'utf8').replace('#include "vmlinux.h"\n', '').replace('#include <bpf/bpf_helpers.h>\n', '').replace('#include <bpf/bpf_tracing.h>\n', '');
  const sched = path.join(proj, 'sched.bpf.c');
  fs.writeFileSync(sched, `/* A scheduler. */\n#include <scx/common.bpf.h>\n${body}`);
  const scx = (extra: { precompiledVmlinux?: boolean } = {}) =>
    compile(sched, { vmlinuxDir: headers, includeDirs: [path.join(proj, 'include')], output: path.join(proj, `sched.${extra.precompiledVmlinux === false ? 'plain' : 'pch'}.o`), ...extra });
  const learnt = await scx();
  assert.ok(learnt.ok && learnt.command.includes('-H') && !usesPch(learnt), JSON.stringify(learnt.diagnostics));
  assert.ok(!learnt.diagnostics.some((d) => d.message.includes('include guards')), 'what -H printed reached the diagnostics');
  assert.ok(!usesPch(await scx()), 'the header is made beside the second compile');
  const third = await scx();
  assert.ok(third.ok && usesPch(third), third.command.join(' '));
  const plain = await scx({ precompiledVmlinux: false });
  assert.equal(disassembly(third.object), disassembly(plain.object));
  // A macro that vmlinux.h uses, defined before the chain's include: learnt again, then never.
  fs.writeFileSync(sched, `/* A scheduler. */\n#define BPF_NO_PRESERVE_ACCESS_INDEX\n#include <scx/common.bpf.h>\n${body}`);
  const relearnt = await scx();
  assert.ok(relearnt.command.includes('-H') && !usesPch(relearnt));
  for (let i = 0; i < 2; i++) {
    const r = await scx();
    assert.ok(!usesPch(r) && !r.command.includes('-H'), r.command.join(' '));
  }
  // Taken out again: learnt, and used.
  fs.writeFileSync(sched, `/* A scheduler. */\n#include <scx/common.bpf.h>\n${body}`);
  assert.ok((await scx()).command.includes('-H'));
  assert.ok(usesPch(await scx()));
  // A vmlinux.h of the project's own beside the common header is what its include finds now.
  fs.copyFileSync(path.join(headers, 'vmlinux.h'), path.join(proj, 'include', 'scx', 'vmlinux.h'));
  for (let i = 0; i < 3; i++) assert.ok(!usesPch(await scx()), `compile ${i} used the precompiled header of another vmlinux.h`);
});

test('two compiles at once in one process make the precompiled header once, and both succeed', async () => {
  fs.rmSync(pchDir, { recursive: true, force: true });
  const [a, b] = await Promise.all([build(template, { output: path.join(work, 'a.o') }), build(template, { output: path.join(work, 'b.o') })]);
  assert.ok(a.ok && b.ok && !usesPch(a) && !usesPch(b));
  assert.deepEqual(fs.readdirSync(pchDir).filter((f) => f.includes('.pch')).length, 1, fs.readdirSync(pchDir).join(' '));
  assert.ok(usesPch(await build(template)));
});
