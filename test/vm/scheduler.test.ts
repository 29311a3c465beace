// The example scheduler in a real sched_ext guest: built for the guest kernel, enabled, and fed
// by tld-demo's hints (thread 0, 4, ... latency critical; every thread a weight).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { cacheDir } from '../../extension/src/client/paths';
import { buildInitramfs, guestInit } from '../../extension/src/vm/initramfs';
import { ensureKernel } from '../../extension/src/vm/kernel';
import { bootGuest } from '../../extension/src/vm/qemu';
import { buildScheduler } from '../../extension/src/vm/scheduler';
import { nativeBuild, repoRoot } from '../support/repo';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-vm-sched-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

test('scx_hints loads in a sched_ext guest, stays enabled, and sends hinted threads to their queues', { timeout: 300_000 }, async () => {
  const kernel = await ensureKernel({ cacheDir: process.env.TLD_VM_CACHE || cacheDir(), onProgress: () => undefined });
  assert.ok(kernel.hasSchedExt, 'the guest kernel has no sched_ext');
  const dir = path.join(repoRoot, 'bpf', 'schedulers');
  const build = await buildScheduler(path.join(dir, 'scx_hints.bpf.c'), path.join(dir, 'scx_hints.c'), path.dirname(kernel.vmlinuxH), work);
  assert.ok(build.ok, build.diagnostics.map((d) => `${d.file}:${d.line}: ${d.message}`).join('\n'));
  const initrd = path.join(work, 'initrd.gz');
  await buildInitramfs({
    out: initrd,
    binaries: [build.loader, path.join(nativeBuild, 'tld-demo')],
    files: [
      { src: path.join(nativeBuild, 'libtld.so'), dest: '/bin/libtld.so' },
      { src: path.join(nativeBuild, 'libtld-demo-plugin.so'), dest: '/bin/libtld-demo-plugin.so' },
    ],
    init: guestInit(['(tld-demo --threads 4 --seconds 8 </dev/null >/tmp/demo.log 2>&1 &)', 'sleep 1', 'scx_hints 4']),
  });
  const lines: string[] = [];
  const r = await bootGuest({ bzImage: kernel.bzImage, initramfs: initrd, timeoutMs: 120_000, onConsole: (l) => lines.push(l) });
  const console_ = lines.join('\n');
  assert.equal(r.timedOut, false, console_.slice(-3000));
  assert.equal(r.exitCode, 0, console_.slice(-3000));
  assert.match(console_, /scx_hints: enabled \(sched_ext state: enabled\)/);
  const final = /scx_hints final: tasks hinted (\d+), enqueued high (\d+), normal (\d+), weighted (\d+)/.exec(console_);
  assert.ok(final, console_.slice(-3000));
  const [hinted, high, , weighted] = final.slice(1).map(Number) as [number, number, number, number];
  assert.ok(hinted >= 4, `only ${hinted} hinted tasks seen`);
  assert.ok(high > 0, 'no latency-critical thread reached the high-priority queue');
  assert.ok(weighted > 0, 'no weight hint was used');
});
