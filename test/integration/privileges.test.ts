// Without CAP_BPF tldctl says so in one line (no stack trace); the privileged helper host
// answers exactly like the in-process helper, and ends when its client is disposed.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, test } from 'node:test';

import { TldClient } from '../../extension/src/client/client';
import { TldError } from '../../extension/src/client/errors';
import { run, runTldctl, stackLines, tldctlScript, until } from '../support/processes';
import { World, valuesByTid } from '../support/world';

const world = new World('privileges');
after(() => world.dispose());

/** Runs what follows as uid 0 without any capability. */
const NO_CAPS = ['setpriv', '--bounding-set=-all', '--inh-caps=-all', '--ambient-caps=-all'];

/** Pids of helper hosts serving @pinPath. */
function helperHosts(pinPath: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith('helperHost.js')) && argv.includes(pinPath)) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

test('tldctl snapshot without capabilities exits 1 naming CAP_BPF, in one line without a stack trace', async () => {
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '2', '--keys', '2']);
  try {
    const r = await runTldctl(world.procs, ['snapshot', String(proc.pid)], { env: world.env });
    assert.equal(r.code, 0, `with privileges it works: ${r.stderr}`);

    const np = await run(world.procs, 'setpriv', [...NO_CAPS.slice(1), process.execPath, tldctlScript, 'snapshot', String(proc.pid)], { env: world.env });
    assert.equal(np.code, 1, `stdout: ${np.stdout}\nstderr: ${np.stderr}`);
    assert.equal(np.stdout, '');
    assert.match(np.stderr, /CAP_BPF/);
    assert.match(np.stderr, /^tldctl: /);
    assert.deepEqual(stackLines(np.stderr), []);
    assert.equal(np.stderr.trim().split('\n').length, 1, np.stderr);
  } finally {
    await proc.kill();
  }
});

test('tldctl doctor without capabilities fails the privileges check and says how to fix it', async () => {
  const r = await runTldctl(world.procs, ['doctor'], { env: world.env });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const np = await run(world.procs, 'setpriv', [...NO_CAPS.slice(1), process.execPath, tldctlScript, 'doctor'], { env: world.env });
  assert.equal(np.code, 1, np.stdout + np.stderr);
  assert.match(np.stdout, /^✗ privileges: missing CAP_BPF and CAP_PERFMON: needs CAP_BPF to .*; and CAP_PERFMON for .*\n {4}fix: run as root .*, or install the helper host once: sudo tldctl helper install --user root$/m);
  assert.match(np.stdout, /^✓ kernel: /m);
  assert.deepEqual(stackLines(np.stdout + np.stderr), []);
});

test('the helper host returns the same snapshot as the in-process helper, and ends on dispose', async () => {
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '8', '--keys', '12']);
  const local = await world.client();
  const host = await TldClient.create({ pinPath: world.pinPath, transport: 'host', launcher: [] });
  try {
    assert.equal(local.transport, 'in-process');
    assert.equal(host.transport, 'host');
    assert.equal(helperHosts(world.pinPath).length, 1, 'one helper host runs');
    const a = await local.snapshot(proc.pid);
    const b = await host.snapshot(proc.pid);
    assert.deepEqual(b.keys, a.keys);
    assert.equal(b.comm, a.comm);
    assert.deepEqual(b.threads.map((t) => [t.tid, t.comm, t.hasData]), a.threads.map((t) => [t.tid, t.comm, t.hasData]));
    const va = valuesByTid(a);
    assert.equal(va.size, 8);
    assert.deepEqual(valuesByTid(b), va);
    // Writes go through it too, and errors keep their codes.
    assert.equal((await host.set(proc.pid, 0, 'fx.k02', '123456')).length, 8);
    for (const values of valuesByTid(await local.snapshot(proc.pid)).values()) assert.equal(values['fx.k02'], 123456);
    await assert.rejects(host.snapshot(999_999_999), (e: unknown) => e instanceof TldError && e.code === 'ESRCH');
    assert.deepEqual((await host.processes()).map((p) => p.pid), (await local.processes()).map((p) => p.pid));
  } finally {
    host.dispose();
    await proc.kill();
  }
  assert.ok(await until(() => helperHosts(world.pinPath).length === 0, 5000), 'the helper host ended after dispose');
});

test('a helper host without capabilities refuses to start with EPERM naming CAP_BPF', async () => {
  await assert.rejects(TldClient.create({ pinPath: world.pinPath, transport: 'host', launcher: NO_CAPS }), (e: unknown) => {
    assert.ok(e instanceof TldError, String(e));
    assert.equal(e.code, 'EPERM', e.message);
    assert.match(e.message, /CAP_BPF/);
    return true;
  });
  assert.ok(await until(() => helperHosts(world.pinPath).length === 0, 5000), 'no helper host is left');
});

test('a helper host that stops reading its requests fails the next call with its exit, not an unhandled EPIPE', async () => {
  // Stands in for a host that closed its end (sudo refusing after the hello, a host on its way
  // out): it says hello in the real protocol, closes stdin, and exits a moment later.
  const protocolJs = require.resolve('../../extension/src/client/protocol');
  const script = `
    const fs = require('node:fs');
    const p = require(${JSON.stringify(protocolJs)});
    for (const c of p.encodeReply({ hello: 'tld-helper-host', abi: p.ABI_VERSION, protocol: p.PROTOCOL_VERSION })) fs.writeSync(1, c);
    fs.closeSync(0);
    setTimeout(() => { process.stderr.write('gone on purpose'); process.exit(3); }, 1500);`;
  const host = await TldClient.create({ pinPath: world.pinPath, transport: 'host', launcher: [process.execPath, '-e', script] });
  try {
    await assert.rejects(host.processes(), (e: unknown) => {
      assert.ok(e instanceof TldError, String(e));
      assert.match(e.message, /the helper host exited \(3\): gone on purpose/);
      return true;
    });
  } finally {
    host.dispose();
  }
});
