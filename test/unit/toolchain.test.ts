// toolchain.json as scripts/libbpf.sh writes it, read back for BPF compiles and tldctl doctor.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { toolchainCheck } from '../../extension/src/client/doctor';
import { loadToolchain, parseToolchain, versionAtLeast } from '../../extension/src/client/toolchain';

const cached = {
  format: 1,
  libbpf: { source: 'cache', version: '1.5.0', include: '/c/libbpf/1.5.0-3/include', static: '/c/libbpf/1.5.0-3/lib/libbpf.a', buildSeconds: 21.4 },
  bpftool: { path: '/c/bpftool/7.5.0/bpftool', version: '7.5.0' },
};

test('a cached libbpf and bpftool are read from toolchain.json; a malformed one is refused', () => {
  const t = parseToolchain(JSON.stringify(cached), '/c/toolchain/toolchain.json');
  assert.ok(t);
  assert.equal(t.libbpf.static, '/c/libbpf/1.5.0-3/lib/libbpf.a');
  assert.equal(t.libbpf.buildSeconds, 21.4);
  assert.equal(t.bpftool.version, '7.5.0');
  const system = { ...cached, libbpf: { ...cached.libbpf, source: 'system', static: null, buildSeconds: null } };
  assert.equal(parseToolchain(JSON.stringify(system), 'f')?.libbpf.source, 'system');
  for (const bad of ['', '{', '[]', JSON.stringify({ ...cached, format: 2 }), JSON.stringify({ ...cached, libbpf: { ...cached.libbpf, source: 'apt' } }),
    JSON.stringify({ ...cached, bpftool: { path: '', version: '7.5.0' } })]) {
    assert.equal(parseToolchain(bad, 'f'), null, bad);
  }
});

test('versions compare by their numbers, Debian epochs and revisions aside', () => {
  assert.ok(versionAtLeast('1.5.0', '1.5.0'));
  assert.ok(versionAtLeast('1.10.0', '1.5.0'));
  assert.ok(versionAtLeast('1:1.5.0-3', '1.5'));
  assert.ok(versionAtLeast('7.5.0+6.12.95-1~bpo12+1', '7.5.0'));
  assert.ok(!versionAtLeast('1.4.6', '1.5.0'));
  assert.ok(!versionAtLeast('7.1.0', '7.5.0'));
});

test('the first readable toolchain.json wins, and doctor fails with the fix when there is none or libbpf is too old', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-toolchain-'));
  try {
    const old = path.join(dir, 'old.json');
    fs.writeFileSync(old, JSON.stringify({ ...cached, libbpf: { ...cached.libbpf, source: 'system', version: '1.1.2', static: null, buildSeconds: null } }));
    assert.equal(loadToolchain([path.join(dir, 'missing.json'), old])?.libbpf.version, '1.1.2');
    const c = toolchainCheck([old]);
    assert.equal(c.ok, false);
    assert.match(c.detail, /libbpf 1\.1\.2 \(the system's\).*libbpf 1\.5\.0 or newer is needed/);
    assert.match(c.fix ?? '', /scripts\/libbpf\.sh/);
    const none = toolchainCheck([path.join(dir, 'missing.json')]);
    assert.equal(none.ok, false);
    assert.match(none.detail, /no toolchain\.json in /);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
