// How the helper host is started: under Electron (desktop VS Code) the host runs as Node only with
// ELECTRON_RUN_AS_NODE=1 set after sudo or pkexec (which drop it); the installed host is its own
// command with no arguments; one started by root from a checkout takes only --pin and --lib.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import { HOST_COMMAND, parseHostArgs } from '../../extension/src/client/hostConfig';
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

test('a host started without a boundary (as root) gets no SUDO_UID, SUDO_GID or PKEXEC_UID: it serves its root caller, not the user who once ran sudo', () => {
  const env = { HOME: '/root', SUDO_UID: '1000', SUDO_GID: '1000', SUDO_USER: 'u', PKEXEC_UID: '1000' };
  const plan = planHostLaunch(PIN, [], ctx({ execPath: process.execPath, versions: process.versions, env }));
  for (const v of ['SUDO_UID', 'SUDO_GID', 'SUDO_USER', 'PKEXEC_UID']) assert.equal(plan.env[v], undefined, v);
  assert.equal(plan.env.HOME, '/root');
  const viaSudo = planHostLaunch(PIN, ['sudo', '-n'], ctx({ execPath: process.execPath, versions: process.versions, env }));
  assert.equal(viaSudo.env.SUDO_UID, '1000', 'through sudo, sudo itself sets them for the host');
});

test('a helper host started by root from a checkout takes --pin PATH and --pin=PATH alike, and refuses any other word', () => {
  assert.deepEqual(parseHostArgs(['--pin', '/sys/fs/bpf/x/tld_data_map', '--lib', '/l.so']), { pin: '/sys/fs/bpf/x/tld_data_map', lib: '/l.so' });
  assert.deepEqual(parseHostArgs(['--pin=/a=b']), { pin: '/a=b' });
  assert.deepEqual(parseHostArgs([]), {});
  for (const bad of [['--pin'], ['--json'], ['/a'], ['--pin', '/a', 'extra']]) {
    assert.throws(() => parseHostArgs(bad), (e: unknown) => e instanceof TldError && e.code === 'EINVAL' && /takes --pin PATH and --lib PATH only/.test(e.message), bad.join(' '));
  }
});
