// End to end as an ordinary user, as desktop VS Code runs: after `tldctl helper install --user`,
// code-server runs as the test user without any capability, and the extension reaches the
// user's own tld-demo (run with CAP_BPF + CAP_PERFMON) through sudo -n and the installed host.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, afterEach, before, test } from 'node:test';

import { INSTALL_DIR } from '../../extension/src/client/hostConfig';
import { CodeServer, shotsDir } from '../support/codeServer';
import { ProcessSet, Proc, demoBinary, runTldctl } from '../support/processes';
import { assertTableIsDemo, demoValuesOnce, inspectDemo, setInEveryThread } from '../support/demoInspector';
import { TestUser, asUser, ensureTestUser, userEnv } from '../support/user';

const procs = new ProcessSet(process.env);
const pinDir = `/sys/fs/bpf/tld-e2e-user-${process.pid}`;
const pinPath = `${pinDir}/tld_data_map`;
let user: TestUser;
let vsc: CodeServer | undefined;
let demo: Proc;

before(async () => {
  user = ensureTestUser();
  assert.ok(!fs.existsSync(INSTALL_DIR), `a helper host is installed on this machine (${INSTALL_DIR}); this test installs and removes its own: run tldctl helper uninstall first`);
  const inst = await runTldctl(procs, ['helper', 'install', '--user', user.name, '--pin-dir', pinDir], { timeoutMs: 120_000 });
  assert.equal(inst.code, 0, inst.stdout + inst.stderr);
  const [cmd, ...prefix] = asUser(user, ['bpf', 'perfmon']) as [string, ...string[]];
  demo = procs.spawn(cmd, [...prefix, demoBinary, '--threads', '4', '--tick', '50', '--report', '200'], 'tld-demo as the user', {
    env: userEnv(user, process.env, { TLD_PIN_DIR: pinDir }),
  });
  await demo.waitForLine(/^\{"pid"/, 15_000);
  vsc = await CodeServer.start({
    env: process.env,
    procs,
    user,
    settings: { 'tldStudio.refreshIntervalMs': 200, 'tldStudio.pinPath': pinPath },
    shots: path.join(shotsDir, 'ordinary-user'),
  });
});

afterEach(async (t) => {
  if (vsc) await vsc.shot(`last-${t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`);
});

after(async () => {
  await vsc?.dispose();
  await procs.killAll();
  if (fs.existsSync(INSTALL_DIR)) await runTldctl(procs, ['helper', 'uninstall'], { timeoutMs: 60_000 });
  fs.rmSync(pinDir, { recursive: true, force: true });
});

test("as an ordinary user, the Processes view lists the user's tld-demo", async () => {
  assert.ok(vsc);
  await vsc.openContainer();
  const row = vsc.page.locator('.pane-body .monaco-list-row', { hasText: `tld-demo (${demo.pid})` });
  await row.waitFor({ timeout: 60_000 });
  assert.match(await row.innerText(), /4 threads · 6 keys/);
  await vsc.shot('processes-view');
});

test("as an ordinary user, the Hint Inspector shows the demo's values", async () => {
  assert.ok(vsc);
  await assertTableIsDemo(await inspectDemo(vsc, demo), demo);
  await vsc.shot('hint-inspector');
});

test('as an ordinary user, a value set from the inspector reaches the demo', async () => {
  assert.ok(vsc);
  await setInEveryThread(vsc, vsc.inspector(), 'sched.latency_critical', '1');
  const values = await demoValuesOnce(demo, 'sched.latency_critical', 1, 15_000);
  assert.deepEqual(values, [1, 1, 1, 1], 'the demo reads the value the inspector set');
  await vsc.shot('after-set');
});
