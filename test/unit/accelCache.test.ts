// The KVM probe's kept verdict (extension/src/vm/accelCache.ts): read back only for the same
// key (host boot, qemu, /dev/kvm), and a missing, corrupt or foreign file is no verdict.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { accelKey, readVerdict, writeVerdict } from '../../extension/src/vm/accelCache';

test('a kept verdict is read back for its key only; corrupt or absent files give none', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-accel-'));
  try {
    const file = path.join(dir, 'sub', 'vm-accel.json');
    assert.equal(readVerdict(file, 'k1'), null);
    writeVerdict(file, 'k1', { accel: 'tcg', reason: 'KVM probe failed: KVM internal error. Suberror: 1' });
    const v = readVerdict(file, 'k1');
    assert.equal(v?.accel, 'tcg');
    assert.match(v?.reason ?? '', /KVM internal error/);
    assert.ok(!Number.isNaN(Date.parse(v?.at ?? '')));
    assert.equal(readVerdict(file, 'k2'), null);
    fs.writeFileSync(file, '{"key":"k1","accel":"fast","reason":"x","at":"now"}');
    assert.equal(readVerdict(file, 'k1'), null);
    fs.writeFileSync(file, 'not json');
    assert.equal(readVerdict(file, 'k1'), null);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['vm-accel.json'], 'no temporary file is left');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the key names this boot of the host and qemu's binary, when /dev/kvm exists", (t) => {
  if (!fs.existsSync('/dev/kvm')) {
    assert.equal(accelKey('/bin/sh'), null);
    t.skip('no /dev/kvm here: the probe is never run, so nothing is kept');
    return;
  }
  const key = accelKey('/bin/sh');
  const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  assert.ok(key?.startsWith(`${bootId}|${fs.realpathSync('/bin/sh')}|`), key ?? 'null');
  assert.notEqual(accelKey('/bin/ls'), key);
  assert.equal(accelKey('/no/such/qemu'), null);
});
