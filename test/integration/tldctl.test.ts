// tldctl's contract with people and scripts: exit 1 and one line for a pid that does not
// exist or has no hints, exit 2 for usage errors, help with exit 0, a reader that stops, ps,
// and doctor.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { after, test } from 'node:test';

import { runTldctl, stackLines, tldctlScript } from '../support/processes';
import { World } from '../support/world';

const world = new World('tldctl');
after(() => world.dispose());

const tldctl = (args: readonly string[]) => runTldctl(world.procs, args, { env: world.env });

function assertOneLineError(r: { code: number | null; stdout: string; stderr: string }, code: number, message: RegExp): void {
  assert.equal(r.code, code, `exit code; stdout: ${r.stdout}; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, message);
  assert.deepEqual(stackLines(r.stderr), [], 'no stack trace');
}

test('tldctl snapshot of a pid that does not exist exits 1 saying so', async () => {
  // A pid that existed a moment ago, and one beyond any pid.
  const gone = world.procs.spawn('/bin/true', []);
  const pids = [gone.pid, 2 ** 30];
  assert.deepEqual(await gone.waitForExit(), { code: 0, signal: null });
  for (const pid of pids) {
    assert.ok(!fs.existsSync(`/proc/${pid}`));
    const r = await tldctl(['snapshot', String(pid)]);
    assertOneLineError(r, 1, new RegExp(`^tldctl: process ${pid} does not exist\\n$`));
  }
});

test('tldctl snapshot of a process without task local data exits 1 saying it has none', async () => {
  const sleeper = world.procs.spawn('/bin/sleep', ['30']);
  try {
    const r = await tldctl(['snapshot', String(sleeper.pid)]);
    assertOneLineError(r, 1, new RegExp(`^tldctl: process ${sleeper.pid} \\(sleep\\) has no task local data\\n$`));
    const w = await tldctl(['watch', String(sleeper.pid), '--interval', '50']);
    assertOneLineError(w, 1, /has no task local data/);
  } finally {
    await sleeper.kill();
  }
});

test('tldctl watch whose reader stops reading (tldctl watch | head) ends quietly with 0', async () => {
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '2', '--keys', '2']);
  const w = spawn(process.execPath, [tldctlScript, 'watch', String(proc.pid), '--interval', '50'], { env: world.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  w.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => w.on('exit', (code, signal) => done({ code, signal })));
  try {
    // The first refresh, then the pipe's reading end closed, as head does after its lines.
    const first = await new Promise<string>((done) => w.stdout.once('data', (d: Buffer) => done(d.toString())));
    assert.match(first, /fixture_threads/);
    w.stdout.destroy();
    assert.deepEqual(await ended, { code: 0, signal: null }, stderr);
    assert.equal(stderr, '');
  } finally {
    w.kill();
    await proc.kill();
  }
});

test('tldctl usage errors exit 2 with the reason and a pointer to --help', async () => {
  const cases: [string[], RegExp][] = [
    [['snapshot', 'abc'], /^tldctl: PID must be a positive whole number, not 'abc'\n\(see tldctl --help\)\n$/],
    [['snapshot'], /^tldctl: PID must be a positive whole number\n/],
    [['snapshot', '0'], /PID must be a positive whole number, not '0'/],
    [['set', '12:x', 'k', '1'], /TID must be a positive whole number, not 'x'/],
    [['set', '12'], /set needs PID\[:TID\] KEY VALUE/],
    [['attach', '12', 'nosize'], /'nosize' is not KEY:SIZE/],
    [['watch', '12', '--interval', 'soon'], /--interval must be a positive whole number, not 'soon'/],
    [['frobnicate'], /^tldctl: unknown command 'frobnicate'\n/],
    [['snapshot', '12', '--bogus'], /^tldctl: unknown option --bogus\n/],
  ];
  for (const [args, message] of cases) {
    assertOneLineError(await tldctl(args), 2, message);
  }
});

test('tldctl --help and COMMAND --help print their usage and exit 0', async () => {
  const top = await tldctl(['--help']);
  assert.equal(top.code, 0, top.stderr);
  assert.match(top.stdout, /^Usage: tldctl \[--pin PATH\] COMMAND \[ARGS\]/);
  for (const cmd of ['doctor', 'ps', 'snapshot', 'watch', 'trace', 'set', 'attach', 'detach']) {
    assert.match(top.stdout, new RegExp(`^  ${cmd} `, 'm'), `the help lists ${cmd}`);
    const r = await tldctl([cmd, '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Usage: tldctl ${cmd}\\b`), cmd);
    assert.equal(r.stderr, '');
  }
  const snap = await tldctl(['snapshot', '--help']);
  assert.ok(snap.stdout.includes('{"pid":N,"comm":S,"keys":[{"name":S,"size":N,"offset":N}],"threads":[{"tid":N,"comm":S,"values":{"KEY":V},"sched":{...}}]}'));
  // No command at all: the help, as a usage error.
  const none = await tldctl([]);
  assert.equal(none.code, 2);
  assert.match(none.stdout, /^Usage: tldctl/);
});

test('tldctl ps lists the processes using this pin with their threads, keys and fill', async () => {
  const empty = await tldctl(['ps']);
  assert.equal(empty.code, 0, empty.stderr);
  assert.equal(empty.stdout, 'no process uses task local data\n');
  const a = await world.procs.fixture(['--mode', 'hints', '--threads', '3', '--keys', '5']);
  const b = await world.procs.fixture(['--mode', 'hints', '--threads', '2', '--keys', '2']);
  try {
    const r = await tldctl(['ps', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as { pid: number; comm: string; threads: number; keys: number; used: number; capacity: number }[];
    assert.deepEqual(
      list,
      [
        { pid: a.proc.pid, comm: 'fixture_threads', threads: 3, keys: 5, used: 40, capacity: 4088 },
        { pid: b.proc.pid, comm: 'fixture_threads', threads: 2, keys: 2, used: 16, capacity: 4088 },
      ].sort((x, y) => x.pid - y.pid),
    );
    const text = await tldctl(['ps']);
    assert.match(text.stdout, /^PID\s+COMMAND\s+THREADS\s+KEYS\s+FILL$/m);
    assert.match(text.stdout, new RegExp(`^${a.proc.pid}\\s+fixture_threads\\s+3\\s+5\\s+40/4088 B \\(1\\.0%\\)$`, 'm'));
  } finally {
    await a.proc.kill();
    await b.proc.kill();
  }
});

test('tldctl doctor passes on this host with a line for kernel, bpffs, privileges, uptr, the pinned map and the toolchain versions', async () => {
  const checkLines = (out: string) => {
    for (const name of ['kernel', 'kernel BTF', 'bpffs', 'privileges', 'uptr task storage', 'pinned map']) {
      assert.match(out, new RegExp(`^✓ ${name}: `, 'm'), `a passing ${name} line in:\n${out}`);
    }
    assert.doesNotMatch(out, /✗/);
  };
  // Before anything pinned the map here...
  fs.rmSync(`${world.pinDir}/tld_data_map`, { force: true });
  const r = await tldctl(['doctor']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  checkLines(r.stdout);
  assert.match(r.stdout, new RegExp(`^✓ pinned map: ${world.pinDir}/tld_data_map not pinned yet`, 'm'));
  assert.match(r.stdout, /^✓ privileges: CAP_BPF and CAP_PERFMON$/m);
  assert.match(r.stdout, /^✓ toolchain: libbpf (\d+)\.(\d+)\.\d+ \(.+\), bpftool 7\.\d+\.\d+ \(.+\), clang \d+\.\d+\.\d+ /m);

  // ...and with the map pinned and in use by a helper (this process's client).
  const { proc } = await world.procs.fixture(['--mode', 'hints', '--threads', '1', '--keys', '1']);
  const client = await world.client();
  try {
    // A read loads the helper's iterators, which use the pinned map.
    await client.snapshot(proc.pid);
    const report = await client.hostReport();
    assert.ok(report.pinExists && report.pinMapId > 0);
    const p = await tldctl(['doctor']);
    assert.equal(p.code, 0, p.stdout + p.stderr);
    checkLines(p.stdout);
    assert.match(p.stdout, new RegExp(`^✓ pinned map: ${world.pinDir}/tld_data_map \\(map id ${report.pinMapId}, used by [1-9]\\d* program\\(s\\) and 1 task\\(s\\)\\)$`, 'm'));
  } finally {
    world.release(client);
    await proc.kill();
  }
});
