// How the helper host is started: under Electron (desktop VS Code) the host runs as Node only with
// ELECTRON_RUN_AS_NODE=1 set after sudo or pkexec (which drop it); the installed host is its own
// command with no arguments.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { HOST_COMMAND } from '../../extension/src/client/hostConfig';
import { LaunchContext, planHostLaunch } from '../../extension/src/client/hostHelper';

const ELECTRON = '/usr/share/code/code';
const SCRIPT = '/home/u/.vscode/extensions/tld-studio/dist/helperHost.js';
const PIN = '/sys/fs/bpf/tld/tld_data_map';

function ctx(over: Partial<LaunchContext> = {}): LaunchContext {
  return {
    execPath: ELECTRON,
    versions: { ...process.versions, electron: '37.2.3' },
    env: { HOME: '/home/u', PATH: '/usr/bin' },
    installed: false,
    hostScript: SCRIPT,
    ...over,
  };
}

test('under Electron through sudo, ELECTRON_RUN_AS_NODE=1 is set after the privilege boundary by env(1)', () => {
  const plan = planHostLaunch(PIN, ['sudo', '-n'], ctx());
  assert.deepEqual(plan.argv, ['sudo', '-n', '/usr/bin/env', 'ELECTRON_RUN_AS_NODE=1', ELECTRON, SCRIPT, '--pin', PIN]);
  assert.equal(plan.installed, false);
});

test('under Electron through pkexec, the same: env(1) sets ELECTRON_RUN_AS_NODE=1 for the host', () => {
  const plan = planHostLaunch(PIN, ['/usr/bin/pkexec'], ctx());
  assert.deepEqual(plan.argv.slice(0, 4), ['/usr/bin/pkexec', '/usr/bin/env', 'ELECTRON_RUN_AS_NODE=1', ELECTRON]);
});

test('under Electron as root (no boundary), the child gets ELECTRON_RUN_AS_NODE=1 in its environment too', () => {
  const plan = planHostLaunch(PIN, [], ctx());
  assert.equal(plan.argv[0], '/usr/bin/env');
  assert.equal(plan.env.ELECTRON_RUN_AS_NODE, '1');
  assert.equal(plan.env.HOME, '/home/u', 'the rest of the environment is kept');
});

test('under Node, the host runs on process.execPath without any Electron variable', () => {
  const versions = { ...process.versions };
  delete (versions as { electron?: string }).electron;
  const plan = planHostLaunch(PIN, ['sudo', '-n'], ctx({ execPath: '/usr/bin/node', versions }));
  assert.deepEqual(plan.argv, ['sudo', '-n', '/usr/bin/node', SCRIPT, '--pin', PIN]);
  assert.equal(plan.env.ELECTRON_RUN_AS_NODE, undefined);
});

test('the installed host is started as HOST_COMMAND alone: no Node, script, pin or library from the caller', () => {
  for (const launcher of [['sudo', '-n'], ['/usr/bin/pkexec'], []]) {
    const plan = planHostLaunch(PIN, launcher, ctx({ installed: true }), '/tmp/evil.so');
    assert.deepEqual(plan.argv, [...launcher, HOST_COMMAND]);
    assert.equal(plan.installed, true);
  }
});
