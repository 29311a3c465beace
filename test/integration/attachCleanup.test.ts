// Hints given by attach go away with it, however it dies (its holder killed with SIGKILL, or the
// helper host that pinned them); the target can be attached again; detach signals only the
// tldctl attach its run file records; an ordinary user's attach keeps its run file in its own
// runtime folder.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { TldClient } from '../../extension/src/client/client';
import { TldError } from '../../extension/src/client/errors';
import { AttachRecord, commandLine, startTime } from '../../extension/src/cli/attachRecord';
import { Proc, isRunning, run, runTldctl, sleep, tldctlScript } from '../support/processes';
import { asUser, ensureTestUser, userEnv } from '../support/user';
import { World, valuesByTid } from '../support/world';

const world = new World('attach-cleanup');
after(() => world.dispose());

/** A node process with two worker threads; ends with its stdin. */
const TARGET = `
const { Worker } = require('node:worker_threads');
const start = () => new Promise((resolve) => new Worker('setInterval(() => {}, 1000)', { eval: true }).once('online', resolve));
Promise.all([start(), start()]).then(() => console.log('ready ' + process.pid));
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
`;

const KEYS = [{ name: 'hint.gc', size: 4 }] as const;

async function startTarget(prefix: readonly string[] = [], env?: NodeJS.ProcessEnv): Promise<Proc> {
  const argv = [...prefix, process.execPath, '-e', TARGET];
  const p = world.procs.spawn(argv[0] as string, argv.slice(1), 'node worker target', env ? { env } : {});
  await p.waitForLine(/^ready \d+$/);
  return p;
}

/** Whether @pid has hints in the world's map (ENOENT once none are left). */
async function hasHints(client: TldClient, pid: number): Promise<boolean> {
  try {
    await client.snapshot(pid);
    return true;
  } catch (e) {
    if (e instanceof TldError && e.code === 'ENOENT') return false;
    throw e;
  }
}

/** Polls until @pid has no hints left; false if it still has some after 10 s. */
async function hintsGone(client: TldClient, pid: number): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (!(await hasHints(client, pid))) return true;
    await sleep(20);
  }
  return false;
}

/** The helper hosts this test process started for @pinPath. */
function ourHelperHosts(pinPath: string): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const argv = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (ppid === process.pid && argv.some((a) => a.endsWith('helperHost.js')) && argv.includes(pinPath)) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}

test('tldctl attach killed with SIGKILL leaves no hints: the target can be attached again, and detach clears the run file it left', async () => {
  const target = await startTarget();
  const client = await world.client();
  const holder = world.procs.tldctl(['attach', String(target.pid), 'hint.gc:4', '--set', 'hint.gc=5']);
  try {
    await holder.waitForLine(/^attached /);
    for (const v of valuesByTid(await client.snapshot(target.pid)).values()) assert.deepEqual(v, { 'hint.gc': 5 });
    const file = path.join(world.runDir, String(target.pid));
    const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as AttachRecord;
    assert.deepEqual(rec.holder, { pid: holder.pid, start: startTime(holder.pid), cmdline: commandLine(holder.pid) }, 'the run file records the holder');
    assert.deepEqual(rec.target, { pid: target.pid, start: startTime(target.pid) }, 'and the target, with their start times');

    holder.child.kill('SIGKILL');
    assert.deepEqual(await holder.waitForExit(), { code: null, signal: 'SIGKILL' });
    assert.ok(await hintsGone(client, target.pid), 'the hints went with the attach');
    assert.ok(isRunning(target.pid), 'the target lives on');

    const d = await runTldctl(world.procs, ['detach', String(target.pid)], { env: world.env });
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout.trim(), `the tldctl attach of process ${target.pid} (pid ${holder.pid}) had died and its hints went with it; removed ${file}`);
    assert.ok(!fs.existsSync(file));

    const again = world.procs.tldctl(['attach', String(target.pid), 'hint.gc:4', '--set', 'hint.gc=6']);
    await again.waitForLine(/^attached /);
    for (const v of valuesByTid(await client.snapshot(target.pid)).values()) assert.deepEqual(v, { 'hint.gc': 6 });
    const d2 = await runTldctl(world.procs, ['detach', String(target.pid)], { env: world.env });
    assert.equal(d2.code, 0, d2.stderr);
    assert.deepEqual(await again.waitForExit(), { code: 0, signal: null });
    assert.equal(await hasHints(client, target.pid), false);
  } finally {
    await holder.kill();
    await target.kill();
  }
});

test('the helper host killed with SIGKILL while it holds an attach leaves no hints, and the target can be attached again', async () => {
  const target = await startTarget();
  const local = await world.client();
  const host = await TldClient.create({ pinPath: world.pinPath, transport: 'host', launcher: [] });
  try {
    await host.attach(target.pid, KEYS);
    assert.equal(await hasHints(local, target.pid), true);
    const hosts = ourHelperHosts(world.pinPath);
    assert.equal(hosts.length, 1, 'one helper host runs for this client');
    process.kill(hosts[0] as number, 'SIGKILL');
    assert.ok(await hintsGone(local, target.pid), 'the hints went with the host that pinned them');
    await local.attach(target.pid, KEYS);
    assert.equal(await hasHints(local, target.pid), true);
    await local.detach(target.pid);
  } finally {
    host.dispose();
    await target.kill();
  }
});

test('tldctl detach signals only the recorded tldctl attach: not a process with another command line, not a pid reused since', async () => {
  const target = await startTarget();
  const decoy = world.procs.spawn('sleep', ['1000'], 'sleep decoy');
  const file = path.join(world.runDir, String(target.pid));
  const decoyStart = startTime(decoy.pid) as number;
  const targetRec = { pid: target.pid, start: startTime(target.pid) as number };
  const write = (rec: AttachRecord) => fs.writeFileSync(file, JSON.stringify(rec));
  try {
    // The right pid and start time, but the command line of a tldctl attach it is not running.
    write({ holder: { pid: decoy.pid, start: decoyStart, cmdline: [process.execPath, tldctlScript, 'attach', String(target.pid), 'k:4'] }, target: targetRec });
    let d = await runTldctl(world.procs, ['detach', String(target.pid)], { env: world.env });
    assert.equal(d.code, 1, d.stdout);
    assert.equal(d.stderr, `tldctl: not signalling process ${decoy.pid}: process ${decoy.pid} runs another command line than the one recorded, so it is not the tldctl attach recorded in ${file}\n`);
    assert.ok(isRunning(decoy.pid), 'the decoy was not signalled');

    // Its real command line, which is no tldctl attach of the target.
    write({ holder: { pid: decoy.pid, start: decoyStart, cmdline: commandLine(decoy.pid) as string[] }, target: targetRec });
    d = await runTldctl(world.procs, ['detach', String(target.pid)], { env: world.env });
    assert.equal(d.code, 1, d.stdout);
    assert.match(d.stderr, /^tldctl: not signalling process \d+: the command line recorded for process \d+ is not a tldctl attach of process \d+/);
    assert.ok(isRunning(decoy.pid));

    // Another start time: the recorded attach is gone and its pid names another process now.
    write({ holder: { pid: decoy.pid, start: decoyStart - 1, cmdline: [process.execPath, tldctlScript, 'attach', String(target.pid), 'k:4'] }, target: targetRec });
    d = await runTldctl(world.procs, ['detach', String(target.pid)], { env: world.env });
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /had died and its hints went with it/);
    assert.ok(!fs.existsSync(file), 'the stale run file is gone');
    assert.ok(isRunning(decoy.pid), 'the process now under that pid was not signalled');
    assert.equal(decoy.exit, undefined);
  } finally {
    await decoy.kill();
    await target.kill();
  }
});

test('an ordinary user\'s tldctl attach keeps its run file in its own runtime folder (XDG_RUNTIME_DIR when it is the user\'s, else the temporary folder), and its detach finds it', async () => {
  const u = ensureTestUser();
  // The map must exist and be the user's to open (what `tldctl helper install` arranges).
  const client = await world.client();
  fs.chownSync(world.pinPath, u.uid, u.gid);
  const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-it-xdg-'));
  const runtimeOfRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-it-xdg-root-'));
  fs.chmodSync(runtimeOfRoot, 0o755);
  fs.chownSync(runtime, u.uid, u.gid);
  fs.chmodSync(runtime, 0o700);
  const base = { ...world.env };
  delete base.TLD_RUN_DIR;
  const env = userEnv(u, base, { XDG_RUNTIME_DIR: runtime });
  const prefix = asUser(u, ['bpf', 'perfmon', 'sys_admin']);
  const target = await startTarget(asUser(u), env);
  const argv = [...prefix, process.execPath, tldctlScript];
  const holder = world.procs.spawn(argv[0] as string, [...argv.slice(1), 'attach', String(target.pid), 'hint.gc:4'], 'tldctl attach as the test user', { env });
  try {
    await holder.waitForLine(/^attached /, 20_000);
    const file = path.join(runtime, 'tld-studio', 'attach', String(target.pid));
    assert.ok(fs.existsSync(file), `the run file is in the user's runtime folder: ${holder.describe()}`);
    assert.equal(fs.statSync(file).uid, u.uid);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o077, 0, 'a folder only the user can use');
    assert.ok(!fs.existsSync(path.join('/run/tld-studio/attach', String(target.pid))), 'not in root\'s folder');
    assert.equal(await hasHints(client, target.pid), true);

    // The user's detach (no capabilities needed to signal its own attach) finds the same folder.
    const plain = [...asUser(u), process.execPath, tldctlScript];
    const d = await run(world.procs, plain[0] as string, [...plain.slice(1), 'detach', String(target.pid)], { env, timeoutMs: 20_000 });
    assert.equal(d.code, 0, d.stderr);
    assert.equal(d.stdout.trim(), `detached from process ${target.pid}`);
    assert.deepEqual(await holder.waitForExit(), { code: 0, signal: null }, holder.describe());
    assert.ok(!fs.existsSync(file));
    assert.equal(await hasHints(client, target.pid), false);

    // Without XDG_RUNTIME_DIR: a folder of its own in the temporary folder.
    const envNoXdg = { ...env };
    delete envNoXdg.XDG_RUNTIME_DIR;
    const where = await run(world.procs, plain[0] as string, [...plain.slice(1), 'detach', String(target.pid)], { env: envNoXdg, timeoutMs: 20_000 });
    assert.equal(where.code, 1);
    const inTmp = `tldctl: process ${target.pid} is not attached by tldctl (no ${path.join(os.tmpdir(), `tld-studio-${u.uid}`, 'attach', String(target.pid))})\n`;
    assert.equal(where.stderr, inTmp);
    // Nor with an XDG_RUNTIME_DIR kept from another user (root's here): not the user's folder.
    const borrowed = await run(world.procs, plain[0] as string, [...plain.slice(1), 'detach', String(target.pid)], { env: { ...env, XDG_RUNTIME_DIR: runtimeOfRoot }, timeoutMs: 20_000 });
    assert.equal(borrowed.stderr, inTmp);
  } finally {
    await holder.kill();
    await target.kill();
    fs.rmSync(runtime, { recursive: true, force: true });
    fs.rmSync(runtimeOfRoot, { recursive: true, force: true });
  }
});

test('an ordinary user\'s attach refuses a run folder someone else made in the shared temporary folder, before touching the target', async () => {
  const u = ensureTestUser();
  const client = await world.client();
  fs.chownSync(world.pinPath, u.uid, u.gid);
  // A temporary folder like /tmp (sticky, everyone writes) where another user made the folder first.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-it-tmp-'));
  fs.chmodSync(tmp, 0o1777);
  const squatted = path.join(tmp, `tld-studio-${u.uid}`);
  fs.mkdirSync(squatted, { mode: 0o777 });
  fs.chmodSync(squatted, 0o777);
  const base = { ...world.env };
  delete base.TLD_RUN_DIR;
  const env = userEnv(u, base, { TMPDIR: tmp });
  delete env.XDG_RUNTIME_DIR;
  const target = await startTarget(asUser(u), env);
  try {
    const argv = [...asUser(u, ['bpf', 'perfmon', 'sys_admin']), process.execPath, tldctlScript, 'attach', String(target.pid), 'hint.gc:4'];
    const r = await run(world.procs, argv[0] as string, argv.slice(1), { env, timeoutMs: 20_000 });
    assert.equal(r.code, 1, r.stdout);
    assert.equal(r.stderr, `tldctl: ${squatted} is not a folder of user ${u.uid} that only it can write; remove it, or set TLD_RUN_DIR to one that is\n`);
    assert.equal(await hasHints(client, target.pid), false, 'the target was not touched');
    assert.deepEqual(fs.readdirSync(squatted), [], 'nothing was made in the squatted folder');
  } finally {
    await target.kill();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
