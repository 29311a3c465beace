// The relay of a running VM (vm/guestRelay.ts) with a real helper host at qemu's end (this
// machine's, on a private pin, its stdio joined to the relay's socket as the guest's port is):
// several clients at once each get their own answers, tldctl vm reaches it by the run's
// socket, and a client is told when the other end goes.
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { TldClient } from '../../extension/src/client/client';
import { TldError } from '../../extension/src/client/errors';
import { GuestRelay, pickVm, runningVms } from '../../extension/src/vm/guestRelay';
import { repoRoot } from '../support/repo';
import { runTldctl, stackLines } from '../support/processes';
import { World } from '../support/world';

const world = new World('guest-relay');
const hostScript = path.join(repoRoot, 'out', 'extension', 'src', 'client', 'helperHost.js');
let work: string;
let runDir: string;
let relay: GuestRelay;
let host: ChildProcess;
let line: net.Socket;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-relay-'));
  runDir = path.join(work, 'vm');
  let up: () => void = () => undefined;
  const isUp = new Promise<void>((resolve) => (up = resolve));
  relay = await GuestRelay.start(work, (l) => (/is up/.test(l) ? up() : undefined), runDir);
  // What qemu does with -chardev socket,path=...: connect, and carry the port's bytes both ways.
  line = net.connect(relay.qemuSocket);
  host = spawn(process.execPath, [hostScript, '--pin', world.pinPath], { stdio: ['pipe', 'pipe', 'inherit'], env: world.env });
  line.pipe(host.stdin!);
  host.stdout!.pipe(line);
  await isUp;
});

after(() => {
  relay?.close();
  line?.destroy();
  host?.kill();
  world.dispose();
  fs.rmSync(work, { recursive: true, force: true });
});

test('clients of the relay list and snapshot the processes its helper host serves, two at once, each with its own answers', async () => {
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '3', '--keys', '2']);
  const vm = pickVm(undefined, runDir);
  assert.equal(vm.id, process.pid);
  const [a, b] = await Promise.all([1, 2].map(() => TldClient.create({ guestSocket: vm.socket, guestName: 'the test guest' })));
  try {
    assert.equal(a!.transport, 'guest');
    const [snap, list] = await Promise.all([a!.snapshot(proc.pid), b!.processes()]);
    assert.equal(snap.threads.filter((t) => t.hasData).length, 3);
    assert.deepEqual(snap.keys.map((k) => k.name), ['fx.k00', 'fx.k01']);
    assert.ok(list.some((p) => p.pid === proc.pid));
    const written = await b!.set(proc.pid, 0, 'fx.k01', '513');
    assert.equal(written.length, 3);
    const again = await a!.snapshot(proc.pid);
    for (const t of again.threads.filter((x) => x.hasData)) assert.equal(Buffer.from(t.values.get('fx.k01')!).readUInt16LE(0), 513);
  } finally {
    a!.dispose();
    b!.dispose();
    await proc.kill();
  }
});

test('tldctl vm ps reaches the running VM through its socket, and vm snapshot of a pid that is not there fails without a stack trace', async () => {
  const env = { ...world.env, TLD_VM_RUN_DIR: runDir };
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '1', '--keys', '1']);
  try {
    const ps = await runTldctl(world.procs, ['vm', 'ps', '--json'], { env });
    assert.equal(ps.code, 0, ps.stderr);
    assert.ok((JSON.parse(ps.stdout) as { pid: number }[]).some((p) => p.pid === proc.pid));
    const other = await runTldctl(world.procs, ['vm', 'ps', '--vm', '1'], { env });
    assert.equal(other.code, 1);
    assert.match(other.stderr, new RegExp(`no VM 1 is running \\(running: ${process.pid}\\)`));
  } finally {
    await proc.kill();
  }
  const gone = await runTldctl(world.procs, ['vm', 'snapshot', String(proc.pid)], { env });
  assert.equal(gone.code, 1);
  assert.deepEqual(stackLines(gone.stderr), []);
});

test('when the guest end goes, a waiting client is told so and the VM is no longer offered once its run ends', async () => {
  const c = await TldClient.create({ guestSocket: pickVm(undefined, runDir).socket });
  line.destroy();
  await assert.rejects(c.processes(), (e: unknown) => e instanceof TldError && e.code === 'ESRCH');
  c.dispose();
  relay.close();
  assert.deepEqual(runningVms(runDir), []);
});
