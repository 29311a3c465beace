// A developer's own loader in a real sched_ext guest through `tldctl vm run --share DIR --cmd
// COMMAND`: own_fifo (test/vm/ownloader, a skeleton loader built here against the project's
// libbpf) run from a folder of the test's, which the guest sees at the same path; judged by
// the kernel's sched_ext state and its reason when it disables the scheduler.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { ensureKernel } from '../../extension/src/vm/kernel';
import { repoRoot } from '../support/repo';
import { ensureTestUser } from '../support/user';
import { VmJsonOutcome, guestConsole, vmRun } from '../support/vm';
import { buildOwnFifo } from './ownLoader';

const CACHE = process.env.TLD_VM_CACHE || path.join(os.homedir(), '.cache', 'tld-studio');
const VM_TIMEOUT_MS = 420_000;

let project = '';
before(async () => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-own-loader-'));
  const k = await ensureKernel({ cacheDir: CACHE, onProgress: () => undefined });
  buildOwnFifo(path.join(project, 'build'), k.vmlinuxH);
});
after(() => fs.rmSync(project, { recursive: true, force: true }));

const vmRunHere = (args: readonly string[]) => vmRun(args, { cwd: project, timeoutMs: VM_TIMEOUT_MS - 20_000 });




test('a developer\'s own skeleton loader run with --share/--cmd stays enabled, in the shared folder at its host path, and its output streams back', { timeout: VM_TIMEOUT_MS }, () => {
  const r = vmRunHere(['--cmd', 'pwd > where.txt && ./build/own_fifo --slice-us 3000', '--seconds', '3', '--json']);
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  const o = JSON.parse(r.stdout) as VmJsonOutcome;
  assert.equal(o.exitCode, 0);
  assert.equal(o.enabled, 'own_fifo');
  assert.equal(o.message, 'the scheduler "own_fifo" stayed enabled for 3 s');
  // The guest wrote into the share, at the path the folder has on the host.
  assert.equal(fs.readFileSync(path.join(project, 'where.txt'), 'utf8').trim(), project);
  const lines = guestConsole(r);
  const attached = lines.indexOf('own_fifo: attached (slice 3000000 ns)');
  const counted = lines.findIndex((l) => /^own_fifo: \d+ enqueues$/.test(l));
  const stopping = lines.indexOf('own_fifo: stopping');
  const verdict = lines.findIndex((l) => l.startsWith('tld-vm: verdict 0:'));
  assert.ok(attached >= 0 && counted > attached, `the loader's own lines are missing:\n${lines.join('\n')}`);
  // SIGINT at the end, as Ctrl-C: the loader ends its scheduler itself before the verdict.
  assert.ok(stopping > counted && verdict > stopping, `the loader was not stopped before the verdict:\n${lines.join('\n')}`);
  assert.match(r.stderr, /vm run: the scheduler "own_fifo" stayed enabled for 3 s \((kvm|tcg): /);
});

test('a developer\'s loader whose scheduler the kernel throws out ends the run with exit 2 and the kernel\'s reason', { timeout: VM_TIMEOUT_MS }, () => {
  const r = vmRunHere(['--share', project, '--cmd', './build/own_fifo --give-up-after 50', '--seconds', '20', '--json']);
  assert.equal(r.status, 2, r.stderr.slice(-3000));
  const o = JSON.parse(r.stdout) as VmJsonOutcome;
  assert.equal(o.exitCode, 2);
  assert.equal(o.enabled, 'own_fifo');
  assert.equal(o.disabled, '"own_fifo" (scx_bpf_error): own_fifo gives up after 50 enqueues');
  assert.match(r.stderr, /vm run: the kernel disabled the scheduler "own_fifo" \(scx_bpf_error\): own_fifo gives up after 50 enqueues/);
  // The loader's own view of it streamed back too.
  assert.match(r.stderr, /\| own_fifo: the kernel disabled it: scx_bpf_error: own_fifo gives up after 50 enqueues/);
});

test('a command that never enables a scheduler ends the run with exit 1 and its status', { timeout: VM_TIMEOUT_MS }, () => {
  const r = vmRunHere(['--cmd', 'echo preparing the scheduler; exit 3', '--seconds', '2']);
  assert.equal(r.status, 1, r.stdout.slice(-3000));
  assert.match(r.stdout, /\| preparing the scheduler/);
  assert.match(r.stdout, /vm run: the command exited with status 3 before a sched_ext scheduler was enabled/);
  assert.doesNotMatch(r.stdout, /tld-vm: scheduler ".*" enabled/);
});

test('--cpus and --memory size the guest, and cgroup2 is mounted at /sys/fs/cgroup', { timeout: VM_TIMEOUT_MS }, () => {
  const probe = 'echo "cpus $(nproc)"; grep MemTotal /proc/meminfo; grep " /sys/fs/cgroup cgroup2 " /proc/mounts && echo "cgroup2 mounted"';
  const r = vmRunHere(['--default-scheduler', '--cpus', '3', '--memory', '768', '--workload', probe, '--seconds', '1']);
  assert.equal(r.status, 0, r.stdout.slice(-3000));
  assert.match(r.stdout, /\| cpus 3$/m);
  const kb = Number(/\| MemTotal:\s+(\d+) kB/.exec(r.stdout)?.[1]);
  // MemTotal is what is left after the kernel's own reservations: most of 768 MiB, not 1 GiB.
  assert.ok(kb > 600 * 1024 && kb <= 768 * 1024, `MemTotal ${kb} kB for --memory 768`);
  assert.match(r.stdout, /\| cgroup2 mounted$/m);
});

test('vm run --cmd with a share folder that does not exist, or out-of-range --cpus/--memory, says so without booting', () => {
  const missing = path.join(project, 'no-such-folder');
  let r = vmRunHere(['--share', missing, '--cmd', 'true']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, new RegExp(`the folder to share with the guest, ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}, does not exist`));
  assert.doesNotMatch(r.stderr, /booting/);
  r = vmRunHere(['--cmd', 'true', '--cpus', '65']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /the guest takes 1 to 64 CPUs, not 65/);
  r = vmRunHere(['--cmd', 'true', '--memory', '64']);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /the guest takes 256 to 65536 MiB of memory, not 64/);
  r = vmRunHere(['--share', project, '--scheduler', path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c')]);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /vm run takes one of --scheduler, --default-scheduler and --cmd|--share goes with --cmd/);
});

test("an ordinary user's run copies the folder into the guest (virtiofsd needs root), and the loader there stays enabled", { timeout: VM_TIMEOUT_MS }, () => {
  const u = ensureTestUser();
  // The user's own world: a project folder and a kernel cache of its own (root's home is closed to it).
  const world = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-own-user-'));
  try {
    const dir = path.join(world, 'project');
    const cache = path.join(world, 'cache');
    fs.mkdirSync(path.join(dir, 'build'), { recursive: true });
    fs.copyFileSync(path.join(project, 'build', 'own_fifo'), path.join(dir, 'build', 'own_fifo'));
    fs.cpSync(path.join(CACHE, 'kernel'), path.join(cache, 'tld-studio', 'kernel'), { recursive: true });
    for (const p of [world, dir, path.join(dir, 'build'), path.join(dir, 'build', 'own_fifo')]) fs.chownSync(p, u.uid, u.gid);
    execFileSync('chown', ['-R', `${u.uid}:${u.gid}`, cache]);
    fs.chmodSync(world, 0o755);
    const r = vmRun(['--cmd', 'pwd && ./build/own_fifo', '--seconds', '2', '--json'], {
      cwd: dir,
      timeoutMs: VM_TIMEOUT_MS - 20_000,
      user: u,
      env: { XDG_CACHE_HOME: cache },
    });
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    assert.match(r.stderr, new RegExp(`copying ${dir.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\([\\d.]+ MiB\\) into the guest: qemu's virtiofsd needs root`));
    const lines = guestConsole(r);
    assert.ok(lines.includes(dir), `the command did not run in ${dir}:\n${lines.join('\n')}`);
    assert.ok(lines.includes('own_fifo: stopping'), lines.join('\n'));
    assert.equal((JSON.parse(r.stdout) as VmJsonOutcome).enabled, 'own_fifo');
  } finally {
    fs.rmSync(world, { recursive: true, force: true });
  }
});

/**
 * scx_tally (test/vm/schedulers, built there by its Makefile) run as a developer's own loader:
 * that folder shared, `./build/scx_tally @flags` the command, for @seconds once enabled.
 */
function runScxTally(flags: string, seconds: number): ReturnType<typeof vmRunHere> {
  const dir = path.join(repoRoot, 'test', 'vm', 'schedulers');
  execFileSync('make', ['-C', dir], { stdio: ['ignore', 'inherit', 'inherit'] });
  return vmRunHere(['--share', dir, '--cmd', `./build/scx_tally ${flags}`, '--seconds', String(seconds), '--json']);
}

test("scx_tally, an scx-style skeleton loader of test/vm/schedulers (.struct_ops.link, kernel enums, resized arrays), runs through --share/--cmd and stays enabled", { timeout: VM_TIMEOUT_MS }, () => {
  const r = runScxTally('-s 3000', 3);
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  const o = JSON.parse(r.stdout) as VmJsonOutcome;
  assert.equal(o.enabled, 'tally');
  const lines = guestConsole(r);
  assert.ok(lines.some((l) => /^scx_tally: enabled on \d+ CPUs \(nr_cpus \d+, slice 3000 us\)$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^scx_tally: stayed enabled for \d+ s$/.test(l)), lines.join('\n'));
});

test('scx_tally left without nr_cpus (-u) is thrown out by the kernel: exit 2 with its reason, even when it goes within one poll of the judge', { timeout: VM_TIMEOUT_MS }, () => {
  const r = runScxTally('-u', 10);
  assert.equal(r.status, 2, r.stderr.slice(-3000));
  const o = JSON.parse(r.stdout) as VmJsonOutcome;
  assert.equal(o.enabled, 'tally');
  assert.match(o.disabled ?? '', /^"tally" \(scx_bpf_error\): CPU \d+ is not below nr_cpus \(0\)/);
});
