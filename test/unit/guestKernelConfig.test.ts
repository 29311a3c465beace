// The minimal kernel's configuration (extension/src/vm/guestKernelConfig.ts) and the choice of
// its source (kernelSource.ts): a missing option is named with what needs it, the fragment
// holds every option once, and apt-cache showsrc's stanzas give the tarball to fetch.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import {
  GUEST_KERNEL_OPTIONS,
  configFragment,
  describeMissing,
  missingOptions,
  neededOptions,
  parseKernelConfig,
} from '../../extension/src/vm/guestKernelConfig';
import { kernelChoiceFromEnv } from '../../extension/src/vm/kernel';
import { describeKernel } from '../../extension/src/vm/kernelInfo';
import { parseSourceStanzas, pickSource, upstreamRelease } from '../../extension/src/vm/kernelSource';

/** A config that has every option as the list wants it. */
function fullConfig(): string {
  return GUEST_KERNEL_OPTIONS.filter((o) => o.value !== 'n').map((o) => `CONFIG_${o.name}=${o.value}`).join('\n');
}

test('a config with every option passes; one without sched_ext names CONFIG_SCHED_CLASS_EXT and what needs it', () => {
  assert.deepEqual(missingOptions(parseKernelConfig(fullConfig()), GUEST_KERNEL_OPTIONS), []);
  const without = fullConfig().replace('CONFIG_SCHED_CLASS_EXT=y', '# CONFIG_SCHED_CLASS_EXT is not set');
  const missing = missingOptions(parseKernelConfig(without), GUEST_KERNEL_OPTIONS);
  assert.deepEqual(missing.map((m) => m.option.name), ['SCHED_CLASS_EXT']);
  assert.match(describeMissing(missing), /^CONFIG_SCHED_CLASS_EXT=y \(not set\): sched_ext/);
});

test('a module where the guest needs a built-in driver is reported with what was found', () => {
  const modular = fullConfig().replace('CONFIG_VIRTIO_CONSOLE=y', 'CONFIG_VIRTIO_CONSOLE=m');
  const missing = missingOptions(parseKernelConfig(modular), neededOptions());
  assert.equal(missing.length, 1);
  assert.match(describeMissing(missing), /CONFIG_VIRTIO_CONSOLE=y \(found m\): virtio-serial/);
});

test('an option that must be off passes when unset or absent, and fails when on', () => {
  const off = GUEST_KERNEL_OPTIONS.filter((o) => o.value === 'n');
  assert.ok(off.some((o) => o.name === 'MODULES'));
  assert.deepEqual(missingOptions(parseKernelConfig('# CONFIG_MODULES is not set\n'), off), []);
  assert.deepEqual(missingOptions(parseKernelConfig(''), off), []);
  assert.deepEqual(missingOptions(parseKernelConfig('CONFIG_MODULES=y\n'), off).map((m) => m.option.name), ['MODULES']);
});

test('the fragment sets each option once, in merge_config.sh syntax', () => {
  const lines = configFragment().split('\n').filter((l) => l !== '' && !l.startsWith('# Written'));
  const names = lines.map((l) => /^(?:# )?CONFIG_([A-Z0-9_]+)/.exec(l)?.[1]);
  assert.ok(names.every((n) => n !== undefined), lines.join('\n'));
  assert.equal(new Set(names).size, names.length);
  for (const l of lines) assert.match(l, /^(CONFIG_[A-Z0-9_]+=(y|\d+|"[^"]*")|# CONFIG_[A-Z0-9_]+ is not set)$/);
  // Every option the runner needs on any kernel is also in the minimal kernel's fragment.
  for (const o of neededOptions()) assert.ok(names.includes(o.name), o.name);
});

test("the cached cloud kernel's config has everything the runner needs, when it is cached", (t) => {
  const cache = process.env.TLD_VM_CACHE || `${process.env.HOME}/.cache/tld-studio`;
  const configs = fs.existsSync(`${cache}/kernel`)
    ? fs.readdirSync(`${cache}/kernel`).map((d) => `${cache}/kernel/${d}/config`).filter((f) => fs.existsSync(f))
    : [];
  if (configs.length === 0) {
    t.skip(`no cached kernel with a config in ${cache}/kernel (tldctl vm kernel gets Debian's)`);
    return;
  }
  for (const f of configs) {
    const missing = missingOptions(parseKernelConfig(fs.readFileSync(f, 'utf8')), neededOptions());
    assert.deepEqual(missing, [], `${f}:\n${describeMissing(missing)}`);
  }
});

const SHOWSRC = `Package: linux
Format: 3.0 (quilt)
Version: 6.18.12-1~bpo13+1
Directory: pool/main/l/linux
Checksums-Sha256:
 ${'a'.repeat(64)} 208655 linux_6.18.12-1~bpo13+1.dsc
 ${'b'.repeat(64)} 157000000 linux_6.18.12.orig.tar.xz
 ${'c'.repeat(64)} 1533808 linux_6.18.12-1~bpo13+1.debian.tar.xz
Homepage: https://www.kernel.org/

Package: linux
Version: 6.18.9-1~bpo13+1
Directory: pool/main/l/linux
Checksums-Sha256:
 ${'d'.repeat(64)} 157422084 linux_6.18.9.orig.tar.xz

Package: linux
Version: 6.19.2-1~bpo13+1
Directory: pool/main/l/linux
Checksums-Sha256:
 ${'e'.repeat(64)} 160000000 linux_6.19.2.orig.tar.xz
`;

test("showsrc stanzas give each version's files, and the source picked is the asked version or the series' newest", () => {
  const stanzas = parseSourceStanzas(SHOWSRC);
  assert.equal(stanzas.length, 3);
  assert.deepEqual(stanzas[0]!.files.map((f) => f.name), ['linux_6.18.12-1~bpo13+1.dsc', 'linux_6.18.12.orig.tar.xz', 'linux_6.18.12-1~bpo13+1.debian.tar.xz']);
  assert.equal(stanzas[0]!.files[1]!.size, 157000000);
  assert.equal(pickSource(stanzas, { series: '6.18' })?.version, '6.18.12-1~bpo13+1');
  assert.equal(pickSource(stanzas, { series: '6.18', debVersion: '6.18.9-1~bpo13+1' })?.version, '6.18.9-1~bpo13+1');
  assert.equal(pickSource(stanzas, { series: '6.18', debVersion: '6.18.1-1' }), null);
  assert.equal(upstreamRelease('6.18.15-1~bpo13+1'), '6.18.15');
  assert.equal(upstreamRelease('1:6.1.0-2'), '6.1.0');
});

test('TLD_VM_KERNEL chooses the kernel, and a wrong value says which ones there are', () => {
  assert.equal(kernelChoiceFromEnv({}), 'auto');
  assert.equal(kernelChoiceFromEnv({ TLD_VM_KERNEL: 'debian' }), 'debian');
  assert.equal(kernelChoiceFromEnv({ TLD_VM_KERNEL: 'minimal' }), 'minimal');
  assert.throws(() => kernelChoiceFromEnv({ TLD_VM_KERNEL: 'tiny' }), (e: unknown) => e instanceof TldError && /auto, minimal, debian/.test(e.message));
  assert.match(describeKernel({ version: '6.18.15-tld-minimal', source: 'built:linux=6.18.15-1~bpo13+1' }), /minimal kernel built from Debian's linux 6\.18\.15-1~bpo13\+1 source/);
  assert.match(describeKernel({ version: '6.18.15+deb13-cloud-amd64', source: 'debian:linux-image-6.18.15+deb13-cloud-amd64=6.18.15-1~bpo13+1' }), /Debian's linux-image/);
});
