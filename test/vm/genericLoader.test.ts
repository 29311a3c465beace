// The generic loader (tld-scx-run) on schedulers written the way sched_ext schedulers are,
// in a real sched_ext guest through `tldctl vm run`: scx_tally (.struct_ops.link, a
// struct_ops.s init, kernel constants resolved at load, a per-CPU array declared resizable,
// an nr_cpus rodata the loader must set, an exit record with a debug dump buffer) stays
// enabled with --set, is thrown out without it with the kernel's reason, the likely cause and
// the kernel's debug dump; a constant the guest kernel lacks is named
// as the cause of a disable known only from the kernel log; SCX_OPS_SWITCH_PARTIAL gets the
// workload started in SCHED_EXT; --set mistakes are refused with
// a clear message, in the guest and (every kind) by tld-scx-run on the host before loading.
import assert from 'node:assert/strict';
import { SpawnSyncReturns, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, test } from 'node:test';

import { nativeBuild, repoRoot } from '../support/repo';
import { VmJsonOutcome, vmRun } from '../support/vm';

const schedulers = path.join(repoRoot, 'test', 'vm', 'schedulers');
const include = path.join(schedulers, 'include');
const tally = path.join(schedulers, 'scx_tally.bpf.c');



test('scx_tally stays enabled under tld-scx-run: kernel constants filled, its per-CPU array resized, nr_cpus set with --set', { timeout: 300_000 }, () => {
  const r = vmRun(['--scheduler', tally, '-I', include, '--set', 'nr_cpus=2', '--set', 'slice_us=4000', '--seconds', '4', '--json']);
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.match(r.stderr, /\| tld-scx-run: resized cpu_dispatches \(\.data\.cpu_dispatches\) from 1 to 2 elements, one per possible CPU/);
  assert.match(r.stderr, /\| tld-scx-run: 4 kernel constants from the running kernel: SCX_DSQ_LOCAL=0x8000000000000002, SCX_DSQ_GLOBAL=0x8000000000000001, SCX_SLICE_DFL=0x[0-9a-f]+, SCX_ENQ_WAKEUP=0x1\n/);
  assert.match(r.stderr, /\| tld-scx-run: set nr_cpus=2\n/);
  assert.match(r.stderr, /\| tld-scx-run: tally_ops enabled \(sched_ext state: enabled\)/);
  assert.match(r.stderr, /vm run: the scheduler stayed enabled/);
  const o = JSON.parse(r.stdout) as VmJsonOutcome;
  assert.equal(o.exitCode, 0);
  assert.equal(o.enabled, 'tally_ops');
  assert.equal(o.disabled, undefined);
  const c = o.stats?.counters ?? {};
  assert.ok((c.nr_direct ?? 0) + (c.nr_shared ?? 0) > 0, `scx_tally scheduled no task: ${JSON.stringify(c)}`);
});

test('without --set nr_cpus the kernel throws scx_tally out, and the run gives its reason and names nr_cpus as the likely cause', { timeout: 300_000 }, () => {
  const r = vmRun(['--scheduler', tally, '-I', include, '--seconds', '4']);
  assert.equal(r.status, 2, r.stdout.slice(-3000));
  assert.match(r.stdout, /\| tld-scx-run: the kernel disabled the scheduler \(error, kind \d+, exit code 0\): scx_bpf_error: CPU \d+ is not below nr_cpus \(0\)/);
  assert.match(
    r.stdout,
    /vm run: the kernel disabled the scheduler \(error, kind \d+, exit code 0\): scx_bpf_error: CPU \d+ is not below nr_cpus \(0\).*; likely cause: the rodata global nr_cpus is still its default 0 and the exit message names it: set it with --set nr_cpus=VALUE/,
  );
  // The kernel's debug dump, kept in the exit dump buffer that tld-scx-run sized.
  assert.match(r.stdout, /\| tld-scx-run: sized the exit dump buffer tally_uei_dump \(\.data\.tally_uei_dump\) to 32768 bytes/);
  assert.match(r.stdout, /\| tld-scx-run: the kernel's debug dump follows \(\d+ bytes\)\n(\|.*\n)*?\| Backtrace:\n(\|.*\n)*?\|.*tally_dispatch\+0x[0-9a-f]+/);
  assert.match(r.stdout, /\| tld-scx-run: end of the debug dump/);
});

test('a kernel constant the guest lacks stays 0, and the disable read from the kernel log names it as the likely cause', { timeout: 300_000 }, () => {
  const r = vmRun(['--scheduler', path.join(schedulers, 'scx_future_dsq.bpf.c'), '-I', include, '--seconds', '4']);
  assert.equal(r.status, 2, r.stdout.slice(-3000));
  assert.match(r.stdout, /\| tld-scx-run: warning: the running kernel has no SCX_DSQ_FROM_THE_FUTURE, so __SCX_DSQ_FROM_THE_FUTURE stays 0/);
  assert.match(r.stdout, /\| tld-scx-run: the kernel disabled the scheduler \(from the kernel log\): BPF scheduler "future_dsq" disabled \([^)]+\); future_dsq: non-existent DSQ 0x0/);
  assert.match(r.stdout, /likely cause: __SCX_DSQ_FROM_THE_FUTURE was left 0: the running kernel has no SCX_DSQ_FROM_THE_FUTURE/);
});

test("a scheduler with SCX_OPS_SWITCH_PARTIAL gets the workload: tld-scx-run names the flag and starts the workload in SCHED_EXT", { timeout: 300_000 }, () => {
  const workload = 'grep policy /proc/self/sched; i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done; sleep 1; echo done';
  const r = vmRun(['--scheduler', path.join(schedulers, 'scx_partial.bpf.c'), '-I', include, '--seconds', '4', '--workload', workload, '--json']);
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.match(r.stderr, /\| tld-scx-run: ops flags SCX_OPS_SWITCH_PARTIAL \(only SCHED_EXT tasks run on it: the command is started in SCHED_EXT\)/);
  // SCHED_EXT is policy 7.
  assert.match(r.stderr, /\| policy +: +7\n/);
  const o = JSON.parse(r.stdout) as VmJsonOutcome;
  assert.equal(o.enabled, 'partial_ops');
  assert.ok((o.stats?.counters.nr_enqueued ?? 0) > 0, `no task reached the scheduler: ${JSON.stringify(o.stats)}`);
});

test('--set of a global the scheduler does not have fails in the guest before loading, listing the ones it has', { timeout: 300_000 }, () => {
  const r = vmRun(['--scheduler', tally, '-I', include, '--set', 'nr_cpu=2', '--seconds', '2']);
  assert.equal(r.status, 1, r.stdout.slice(-3000));
  assert.match(r.stdout, /\| tld-scx-run: --set nr_cpu=2: the scheduler has no global variable named nr_cpu \(it has: nr_cpus, slice_us, nr_direct, nr_shared, nr_wakeups\)/);
  assert.match(r.stdout, /vm run: the scheduler did not load or enable/);
  assert.doesNotMatch(r.stdout, /tally_ops enabled/);
});

test('tldctl vm run refuses a --set that is not NAME=VALUE before booting', () => {
  for (const bad of ['nr_cpus', 'nr_cpus=', '=2', "nr_cpus=2'; reboot '"]) {
    const r = vmRun(['--scheduler', tally, '--set', bad]);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /--set .*: give NAME=VALUE, where VALUE is a number, true\/false or an enumerator/);
    assert.doesNotMatch(r.stderr, /booting/);
  }
});

// --- The same checks of every kind, by tld-scx-run on the host (before any load) ------------

let tallyObject = '';
before(() => {
  const make = spawnSync('make', ['-s', '-C', schedulers, 'build/scx_tally.bpf.o'], { encoding: 'utf8' });
  assert.equal(make.status, 0, make.stderr);
  tallyObject = path.join(schedulers, 'build', 'scx_tally.bpf.o');
});

function scxRun(...sets: string[]): SpawnSyncReturns<string> {
  return spawnSync(path.join(nativeBuild, 'tld-scx-run'), [...sets.flatMap((s) => ['--set', s]), tallyObject], { encoding: 'utf8', timeout: 60_000 });
}

test('tld-scx-run --from-port without such a port says so, and loads nothing', () => {
  const dest = path.join(os.tmpdir(), `tld-from-port-${process.pid}.bpf.o`);
  try {
    const r = spawnSync(path.join(nativeBuild, 'tld-scx-run'), ['--from-port', 'tld-object', dest], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^tld-scx-run: no virtio-serial port tld-object for the scheduler's object$/m);
    assert.doesNotMatch(r.stdout, /enabled/);
    assert.ok(!fs.existsSync(dest), 'no object was written');
  } finally {
    fs.rmSync(dest, { force: true });
  }
});

test('tld-scx-run --set refuses a type it cannot set, a value that does not fit and a value that is not a number', () => {
  const cases: ReadonlyArray<[string, RegExp]> = [
    ['cpu_dispatches=1', /--set cpu_dispatches=1: cpu_dispatches is an array; --set takes integers, booleans and enums/],
    ['tally_uei=1', /--set tally_uei=1: tally_uei is struct scx_test_exit; --set takes integers, booleans and enums/],
    ['nr_cpus=4294967296', /--set nr_cpus=4294967296: 4294967296 does not fit in nr_cpus \(u32: 0\.\.4294967295\)/],
    ['nr_cpus=-1', /--set nr_cpus=-1: -1 does not fit in nr_cpus \(u32: 0\.\.4294967295\)/],
    ['slice_us=99999999999999999999', /does not fit in slice_us \(u64: 0\.\.18446744073709551615\)/],
    ['nr_cpus=two', /--set nr_cpus=two: "two" is not an integer for nr_cpus \(u32\)/],
    ['nr_cpus', /--set takes NAME=VALUE, not "nr_cpus"/],
    ['nope=1', /--set nope=1: the scheduler has no global variable named nope \(it has: nr_cpus, slice_us, nr_direct, nr_shared, nr_wakeups\)/],
  ];
  for (const [set, message] of cases) {
    const r = scxRun(set);
    assert.equal(r.status, 1, `${set}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, set);
    assert.doesNotMatch(r.stdout + r.stderr, /enabled/, set);
  }
});

test('tld-scx-run --set takes hex and octal numbers and stops at the first bad one', () => {
  const r = scxRun('nr_cpus=0x4', 'slice_us=010', 'nr_cpus=x');
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /tld-scx-run: set nr_cpus=0x4\ntld-scx-run: set slice_us=010\n/);
  assert.match(r.stderr, /--set nr_cpus=x: "x" is not an integer for nr_cpus/);
});
