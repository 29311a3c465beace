// The precompiled vmlinux.h: made on the first compile, used by the next, the same code either
// way; never used where something before the include could change the header's meaning, nor
// when the header or clang changed; a broken one is dropped and the compile still succeeds.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { CompileResult, compile, vmlinuxDir } from '../../extension/src/client/compiler';
import { includesVmlinuxFirst } from '../../extension/src/client/vmlinuxPch';
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
