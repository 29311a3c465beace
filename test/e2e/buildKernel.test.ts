// End to end in real VS Code (code-server in Chromium): the VM view shows the minimal kernel as
// such beside Debian's, and Build Minimal sched_ext Kernel brings it up to date with its
// progress and says it is ready. It runs where a minimal kernel and its build tree are cached
// (`tldctl vm kernel --build`, tens of minutes once); a first build is not what a test waits for.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import { cacheDir } from '../../extension/src/client/paths';
import { newestBuiltEntry } from '../../extension/src/vm/kernelCache';
import { unpackedSource, upstreamRelease } from '../../extension/src/vm/kernelSource';
import { CodeServer } from '../support/codeServer';
import { ProcessSet } from '../support/processes';

const built = newestBuiltEntry(path.join(cacheDir(), 'kernel'), '6.18');
const source = built?.record.source.kind === 'built' ? unpackedSource(path.join(cacheDir(), 'kernel-build'), upstreamRelease(built.record.source.debVersion)) : null;
const skip = built && source ? false : `no minimal kernel and build tree in ${cacheDir()}: run \`node dist/tldctl.js vm kernel --build\` once to run this test`;

const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: path.dirname(cacheDir()) };
const procs = new ProcessSet(env);
let vsc: CodeServer | undefined;

before(async () => {
  if (!skip) vsc = await CodeServer.start({ env, procs });
});

afterEach(async (t) => {
  if (vsc) await vsc.shot(`last-build-kernel-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`);
});

after(async () => {
  await vsc?.dispose();
  await procs.killAll();
});

test('the VM view marks the minimal kernel, and Build Minimal sched_ext Kernel brings it up to date and says it is ready', { skip, timeout: 600_000 }, async () => {
  const v = vsc!;
  await v.openContainer();
  const rows = v.page.locator('.pane-body .monaco-list-row');
  const kernelRow = rows.filter({ hasText: `Kernel ${built!.record.version}` }).first();
  await kernelRow.waitFor({ timeout: 60_000 });
  assert.match(await kernelRow.innerText(), /minimal build · sched_ext · BTF/);
  await v.runCommand('TLD Studio: Build Minimal sched_ext Kernel');
  const toasts = v.page.locator('.notifications-toasts');
  // Its progress names the steps (configure, make) while it runs...
  await toasts.filter({ hasText: /make allnoconfig|make -j\d+ bzImage|kernel .* up to date/ }).first().waitFor({ timeout: 300_000 });
  // ...and the VM view says a build, not a download, is under way.
  await rows.filter({ hasText: 'Building the minimal kernel' }).first().waitFor({ timeout: 60_000 });
  await v.shot('build-kernel-progress');
  // ...and it ends saying which kernel Run Scheduler in VM boots now.
  await toasts.filter({ hasText: `Minimal kernel ${built!.record.version} is ready` }).first().waitFor({ timeout: 540_000 });
  await v.shot('build-kernel-ready');
});
