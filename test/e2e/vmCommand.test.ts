// End to end in real VS Code (code-server in Chromium): Run Scheduler in VM with the developer's
// own loader from the tldStudio.vm.command setting, chosen beside the generic loader; the VM
// view says which loader runs, and how the run of the real guest ended.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import { cacheDir } from '../../extension/src/client/paths';
import { ensureKernel } from '../../extension/src/vm/kernel';
import { CodeServer } from '../support/codeServer';
import { ProcessSet } from '../support/processes';
import { buildOwnFifo } from '../vm/ownLoader';

const build = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-e2e-own-'));
const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: path.dirname(cacheDir()) };
const procs = new ProcessSet(env);
let vsc: CodeServer;

before(async () => {
  const k = await ensureKernel({ cacheDir: cacheDir(), onProgress: () => undefined });
  const loader = buildOwnFifo(build, k.vmlinuxH);
  vsc = await CodeServer.start({
    env,
    procs,
    workspaceFiles: [loader],
    settings: { 'tldStudio.vm.command': './own_fifo --slice-us 3000', 'tldStudio.vm.seconds': 5 },
    // A task of the workspace's own, offered too; there before VS Code reads the workspace's tasks.
    workspaceTexts: {
      '.vscode/tasks.json': JSON.stringify({
        version: '2.0.0',
        tasks: [{ label: 'own_fifo short slices', type: 'shell', command: './own_fifo', args: ['--slice-us', '500'] }],
      }),
    },
  });
  fs.chmodSync(path.join(vsc.workspace, 'own_fifo'), 0o755);
});

afterEach(async (t) => {
  if (vsc) await vsc.shot(`last-vm-command-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`);
});

after(async () => {
  await vsc?.dispose();
  fs.rmSync(build, { recursive: true, force: true });
});

test('Run Scheduler in VM offers the command of tldStudio.vm.command and the tasks.json task beside the generic loader, and the VM view shows the chosen one run and stay enabled', { timeout: 480_000 }, async () => {
  // The VM view's idle guest row: the extension is active and its commands are there.
  await vsc.openContainer();
  const rows = vsc.page.locator('.pane-body .monaco-list-row');
  await rows.filter({ hasText: 'Guest not running' }).first().waitFor({ timeout: 60_000 });
  await vsc.runCommand('TLD Studio: Run Scheduler in VM');
  const choices = vsc.page.locator('.quick-input-list .monaco-list-row');
  await choices.filter({ hasText: 'Generic loader on a scheduler of the workspace' }).first().waitFor({ timeout: 30_000 });
  const task = choices.filter({ hasText: 'Task: own_fifo short slices' }).first();
  await task.waitFor({ timeout: 15_000 });
  assert.match(await task.innerText(), /\.\/own_fifo --slice-us 500/);
  await vsc.shot('vm-command-choice');
  await choices.filter({ hasText: 'Your command (tldStudio.vm.command)' }).first().click();
  const running = rows.filter({ hasText: 'Guest running ./own_fifo' }).first();
  await running.waitFor({ timeout: 60_000 });
  assert.match(await running.innerText(), /your command: \.\/own_fifo --slice-us 3000/);
  await vsc.shot('vm-command-running');
  const last = rows.filter({ hasText: 'Last run: ./own_fifo stayed enabled' }).first();
  await last.waitFor({ timeout: 400_000 });
  assert.match(await last.innerText(), /your command: \.\/own_fifo/);
  await vsc.shot('vm-command-enabled');
});
