// A scheduler made by New Scheduler from Template builds for the sched_ext guest kernel, with
// tld.bpf.h found in the include folders the extension ships (bpf/include).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { cacheDir } from '../../extension/src/client/paths';
import { renameScheduler, schedulerFileName } from '../../extension/src/schedulerTemplate';
import { listCachedKernels } from '../../extension/src/vm/kernel';
import { buildScheduler } from '../../extension/src/vm/scheduler';
import { repoRoot } from '../support/repo';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-newsched-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

test("a renamed example builds against the guest kernel's vmlinux.h, its struct_ops under the new name", async () => {
  const kernel = listCachedKernels(cacheDir())[0];
  assert.ok(kernel, 'no sched_ext kernel cached: npm test gets it before the tests (tldctl vm kernel)');
  const source = path.join(work, schedulerFileName('scx_mine'));
  fs.writeFileSync(source, renameScheduler(fs.readFileSync(path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c'), 'utf8'), 'scx_mine'));
  const build = await buildScheduler(source, path.dirname(kernel.vmlinuxH), path.join(work, 'out'));
  assert.deepEqual(build.diagnostics.filter((d) => d.severity === 'error'), []);
  assert.ok(build.ok);
  const object = fs.readFileSync(build.object).toString('latin1');
  assert.ok(object.includes('scx_mine_ops'), 'the struct_ops map is scx_mine_ops');
  assert.ok(object.includes('scx_mine_enqueue'), 'the operations are scx_mine_*');
  assert.ok(!object.includes('hints_ops'));
});
