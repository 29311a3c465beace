// The guest helper's overlays in a real cache folder: packed for two Node binaries in turn, each
// is kept and reused; a Node whose binary changed gets a new one, which replaces only its own.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { helperOverlay } from '../../extension/src/vm/guestHelper';
import { repoRoot } from '../support/repo';

test('the CLI\'s and the extension\'s Nodes each keep their overlay; repacking one Node replaces only its own', async () => {
  const world = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-overlay-test-'));
  try {
    // Two "Node binaries" at two paths: small executables stand in (the overlay only copies them).
    const nodeA = path.join(world, 'a', 'node');
    const nodeB = path.join(world, 'b', 'node');
    for (const n of [nodeA, nodeB]) {
      fs.mkdirSync(path.dirname(n));
      fs.copyFileSync('/bin/true', n);
    }
    const cacheDir = path.join(world, 'cache');
    const dir = path.join(cacheDir, 'guest-helper');
    const packed: string[] = [];
    const pack = (node: string) => helperOverlay({ studioRoot: repoRoot, cacheDir, node }, (m) => packed.push(m));

    const a1 = await pack(nodeA);
    const b1 = await pack(nodeB);
    assert.notEqual(a1, b1);
    assert.deepEqual(fs.readdirSync(dir).sort(), [path.basename(a1), path.basename(b1)].sort(), 'both overlays are kept');
    assert.equal(await pack(nodeA), a1, 'A reuses its overlay after B packed');
    assert.equal(packed.length, 2, 'no third pack');

    // A's binary changes (an upgraded Node at the same path): its overlay is packed again and the old one goes.
    fs.appendFileSync(nodeA, Buffer.from([0]));
    const a2 = await pack(nodeA);
    assert.notEqual(a2, a1);
    assert.deepEqual(fs.readdirSync(dir).sort(), [path.basename(a2), path.basename(b1)].sort());
  } finally {
    fs.rmSync(world, { recursive: true, force: true });
  }
});
