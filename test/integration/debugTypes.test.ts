// Key types without configuration: tld-demo's struct key found through its own debug
// information (its sources name the type, its DWARF gives the fields), decoded the same way
// in the inspector's table and in hovers; Doctor's output; the BPF build ignoring user files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { after, test } from 'node:test';

import { binaryKeyTypes, dwarfInt, processBinaries } from '../../extension/src/analysis/debugTypes';
import { bpfIncludeDirs } from '../../extension/src/client/paths';
import { lookupTool } from '../../extension/src/client/hostTool';
import { keyValueLines, toView } from '../../extension/src/inspector/views';
import { demoBinary, runTldctl } from '../support/processes';
import { repoRoot } from '../support/repo';
import { World } from '../support/world';

const world = new World('debug-types');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-debug-types-'));
after(() => {
  fs.rmSync(work, { recursive: true, force: true });
  return world.dispose();
});

test("tld-demo's struct key gets its type from the demo's debug information, and hovers show the values as the table does", async () => {
  const demo = world.procs.spawn(demoBinary, ['--threads', '2', '--tick', '50', '--report', '200', '--plugin-delay', '50']);
  await demo.waitForLine(/"plugin\.requests"/, 10_000); // the plugin is loaded
  const client = await world.client();
  try {
    const binaries = processBinaries(demo.pid);
    assert.equal(binaries[0], demoBinary);
    assert.ok(binaries.some((b) => b.endsWith('libtld-demo-plugin.so')), `the plugin is among ${binaries.join(', ')}`);
    const snap = await client.snapshot(demo.pid);
    const types = new Map(binaries.flatMap((b) => [...binaryKeyTypes(b, snap.keys)]));
    assert.deepEqual(types.get('demo.request'), {
      kind: 'struct', name: 'demo_request', size: 8,
      fields: [
        { name: 'prio', offset: 0, type: { kind: 'int', size: 4, signed: false } },
        { name: 'id', offset: 4, type: { kind: 'int', size: 4, signed: false } },
      ],
    });
    assert.deepEqual([...types.keys()], ['demo.request'], 'integer keys keep their default types');
    const view = toView(snap, types);
    const k = view.keys.findIndex((key) => key.name === 'demo.request');
    assert.equal(view.keys[k]?.type, 'struct demo_request');
    for (const r of view.rows) assert.match(r.cells[k] ?? '', /^\{prio: [01], id: \d+\}$/);
    // The hover's lines are the table's cells.
    assert.deepEqual(keyValueLines(snap, 'demo.request', types), view.rows.map((r) => `${r.tid}: ${r.cells[k]}`));
    assert.deepEqual(keyValueLines(snap, 'no.such.key', types), []);
  } finally {
    world.release(client);
    await demo.kill();
  }
});

test('tldctl doctor prints no ✓ beside something absent', async () => {
  const r = await runTldctl(world.procs, ['doctor'], { env: world.env });
  const lines = r.stdout.split('\n');
  assert.ok(lines.some((l) => /^[✓✗–] sched_ext: /.test(l)), r.stdout);
  assert.deepEqual(lines.filter((l) => /^✓ .*\babsent\b/.test(l)), []);
});

test("make -C bpf never compiles a user's file saved in bpf/templates", () => {
  const user = path.join(repoRoot, 'bpf', 'templates', 'zz_user_broken.bpf.c');
  fs.writeFileSync(user, 'this is not C;\n');
  try {
    const r = spawnSync('make', ['-C', path.join(repoRoot, 'bpf'), '-n', '-B'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /hint_sampler\.bpf\.c/, "the project's own template is built");
    assert.doesNotMatch(r.stdout, /zz_user_broken/);
  } finally {
    fs.rmSync(user, { force: true });
  }
});

test('a BPF object whose program reads a key with tld_lookup of a struct gives that struct as the key\'s type', () => {
  const source = path.join(work, 'reads_req.bpf.c');
  fs.writeFileSync(source, [
    '#include "vmlinux.h"', '#include <bpf/bpf_helpers.h>', '#include "tld.bpf.h"',
    'struct req_hint { __u32 prio; __s16 nice; __u8 flags; };',
    'char LICENSE[] SEC("license") = "GPL";',
    'SEC("syscall")', 'int read_req(void *ctx)', '{',
    '\tstruct task_struct *t = bpf_get_current_task_btf();', '\tstruct tld_key k = {};',
    '\tstruct req_hint *r = tld_lookup(t, &k, "app.req", sizeof(struct req_hint));',
    '\treturn r ? r->prio + r->nice + r->flags : 0;', '}', '',
  ].join('\n'));
  const object = path.join(work, 'reads_req.bpf.o');
  const clang = lookupTool('clang-19') ?? lookupTool('clang');
  assert.ok(clang, 'clang is installed by scripts/setup.sh');
  const includes = [...bpfIncludeDirs(), path.join(repoRoot, 'bpf', 'build')].flatMap((d) => ['-I', d]);
  const cc = spawnSync(clang, ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', ...includes, '-c', source, '-o', object], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  assert.deepEqual(binaryKeyTypes(object, [{ name: 'app.req', size: 8 }]).get('app.req'), {
    kind: 'struct', name: 'req_hint', size: 8,
    fields: [
      { name: 'prio', offset: 0, type: { kind: 'int', size: 4, signed: false } },
      { name: 'nice', offset: 4, type: { kind: 'int', size: 2, signed: true } },
      { name: 'flags', offset: 6, type: { kind: 'int', size: 1, signed: false } },
    ],
  });
  // A key of another size is not given a struct that does not fit it.
  assert.equal(binaryKeyTypes(object, [{ name: 'app.req', size: 16 }]).size, 0);
});

test("C integer types as DWARF spells them get their size and sign; others none", () => {
  assert.deepEqual(dwarfInt('long unsigned int'), { size: 8, signed: false });
  assert.deepEqual(dwarfInt('short int'), { size: 2, signed: true });
  assert.deepEqual(dwarfInt('uint32_t'), { size: 4, signed: false });
  assert.deepEqual(dwarfInt('__s16'), { size: 2, signed: true });
  assert.deepEqual(dwarfInt('const unsigned char'), { size: 1, signed: false });
  assert.equal(dwarfInt('double'), undefined);
  assert.equal(dwarfInt('demo_request'), undefined);
});
