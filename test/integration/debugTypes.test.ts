// Key types without configuration: tld-demo's struct key found through its own debug
// information (its sources name the type, its DWARF gives the fields), decoded the same way
// in the inspector's table and in hovers; Doctor's output; the BPF build ignoring user files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { binaryKeyTypes, processBinaries } from '../../extension/src/analysis/debugTypes';
import { keyValueLines, toView } from '../../extension/src/inspector/views';
import { demoBinary, runTldctl } from '../support/processes';
import { repoRoot } from '../support/repo';
import { World } from '../support/world';

const world = new World('debug-types');
after(() => world.dispose());

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
  assert.deepEqual(lines.filter((l) => /^✓ .*\b(absent|not pinned)/.test(l)), []);
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
