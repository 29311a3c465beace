// The .vsix carries only what runs: `vsce ls` (the package's file list) has no source maps and
// none of koffi's sources, docs or musl binary, and koffi copied from that list alone loads the
// packaged helper library.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { ABI_VERSION } from '../../extension/src/client/nativeHelper';
import { repoRoot } from '../support/repo';

const vsce = path.join(repoRoot, 'node_modules', '.bin', 'vsce');
// vsce walks the whole checkout, node_modules included: minutes on a busy machine.
const files = execFileSync(vsce, ['ls'], { cwd: repoRoot, encoding: 'utf8', input: '', timeout: 15 * 60_000 })
  .split('\n')
  .filter((l) => l !== '');
const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-vsix-'));

after(() => fs.rmSync(unpacked, { recursive: true, force: true }));

test('the package lists its bundles and koffi\'s linux-x64 binary, and no source map, C++ source, doc or musl binary', () => {
  for (const f of ['dist/extension.js', 'dist/helperHost.js', 'dist/feedWorker.js', 'dist/webview.js', 'native/build/libtldhelper.so', 'node_modules/@koromix/koffi-linux-x64/linux_x64/koffi.node']) {
    assert.ok(files.includes(f), `${f} is missing from the package`);
  }
  const unwanted = files.filter((f) => /\.map$|\.(cc|hh|h|inc|S|asm)$|\/doc\/|\/vendor\/|musl|CMakeLists|CHANGELOG/.test(f) && f.startsWith('node_modules/'));
  assert.deepEqual(unwanted, []);
  assert.deepEqual(files.filter((f) => f.endsWith('.map')), []);
  assert.deepEqual(fs.readdirSync(path.join(repoRoot, 'dist')).filter((f) => f.endsWith('.map')), [], 'a production build writes no source maps');
});

test('koffi from the packaged files alone loads the packaged helper library, which speaks this client\'s ABI', () => {
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(unpacked, f)), { recursive: true });
    fs.copyFileSync(path.join(repoRoot, f), path.join(unpacked, f));
  }
  const script = `
const koffi = require(${JSON.stringify(path.join(unpacked, 'node_modules', 'koffi'))});
const lib = koffi.load(${JSON.stringify(path.join(unpacked, 'native', 'build', 'libtldhelper.so'))});
process.stdout.write(String(lib.func('int32_t tldh_abi_version(void)')()));`;
  // From a folder outside the repository, so nothing resolves to the repository's node_modules.
  const abi = execFileSync(process.execPath, ['-e', script], { cwd: os.tmpdir(), encoding: 'utf8' });
  assert.equal(Number(abi), ABI_VERSION);
});
