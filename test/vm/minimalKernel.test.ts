// The minimal kernel (`tldctl vm kernel --build`) in real guests: its configuration has every
// option guestKernelConfig.ts lists, `vm run` says it boots it, scx_hints stays enabled on it
// with hints read, tp_btf tracing works, and Node (the guest inspector) starts on it.
//
// Building the kernel takes tens of minutes on two cores, so `npm test` never builds it: these
// tests run on the build cached by `tldctl vm kernel --build` and are skipped, saying so, when
// there is none. The rest of the VM suite boots Debian's cloud kernel (TLD_VM_KERNEL=debian).
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { TldError } from '../../extension/src/client/errors';
import { GUEST_KERNEL_OPTIONS, describeMissing, missingOptions, parseKernelConfig } from '../../extension/src/vm/guestKernelConfig';
import { configureKernel } from '../../extension/src/vm/kernelBuild';
import { newestBuiltEntry } from '../../extension/src/vm/kernelCache';
import { unpackedSource, upstreamRelease } from '../../extension/src/vm/kernelSource';
import { repoRoot } from '../support/repo';
import { VmJsonOutcome, guestConsole, onceMoreIfGuestCrashed, tldctl, vmEnv, vmRun } from '../support/vm';

const CACHE = process.env.TLD_VM_CACHE || path.join(os.homedir(), '.cache', 'tld-studio');
const built = newestBuiltEntry(path.join(CACHE, 'kernel'), '6.18');
const skip = built ? false : `no minimal kernel is built in ${CACHE}/kernel: run \`node dist/tldctl.js vm kernel --build\` (tens of minutes, once) to run these tests`;
const scxHints = path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c');
const source = built?.record.source.kind === 'built' ? unpackedSource(path.join(CACHE, 'kernel-build'), upstreamRelease(built.record.source.debVersion)) : null;

test("the configuration check names an option Kconfig dropped, and what needs it, on Debian's source", { skip: source ? false : skip || 'the kernel source of the minimal build is not in the cache', timeout: 300_000 }, async () => {
  const obj = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-kconfig-'));
  try {
    // Without BTF in the fragment, Kconfig drops sched_ext, which depends on it.
    const noBtf = GUEST_KERNEL_OPTIONS.filter((o) => o.name !== 'DEBUG_INFO_BTF');
    await assert.rejects(configureKernel(source!.dir, obj, noBtf, () => undefined), (e: unknown) => {
      assert.ok(e instanceof TldError);
      assert.match(e.message, /^CONFIG_SCHED_CLASS_EXT=y \(not set\): sched_ext/m);
      assert.match(e.message, /pahole/);
      return true;
    });
    await configureKernel(source!.dir, obj, GUEST_KERNEL_OPTIONS, () => undefined);
  } finally {
    fs.rmSync(obj, { recursive: true, force: true });
  }
});

test('the built kernel has every option of the minimal configuration, and tldctl vm kernel names it', { skip }, () => {
  const config = fs.readFileSync(path.join(built!.dir, 'config'), 'utf8');
  const missing = missingOptions(parseKernelConfig(config), GUEST_KERNEL_OPTIONS);
  assert.deepEqual(missing, [], describeMissing(missing));
  const r = spawnSync(process.execPath, [tldctl, 'vm', 'kernel'], { encoding: 'utf8', env: vmEnv('minimal'), timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`kernel ${built!.record.version.replace(/[.+]/g, '\\$&')} \\(cached\\): sched_ext yes, BTF yes`));
  assert.match(r.stdout, /source +\S+, the minimal kernel built from Debian's linux \S+ source/);
  // --debian-kernel still boots the cloud kernel beside it.
  const d = spawnSync(process.execPath, [tldctl, 'vm', 'kernel', '--debian-kernel'], { encoding: 'utf8', env: vmEnv('minimal'), timeout: 600_000 });
  assert.equal(d.status, 0, d.stderr);
  assert.match(d.stdout, /source +\S+, Debian's linux-image-/);
});

test('scx_hints stays enabled on the minimal kernel with hints read, and vm run says which kernel it booted', { skip, timeout: 300_000 }, () => {
  const r = vmRun(['--scheduler', scxHints, '--seconds', '4', '--json'], { kernel: 'minimal' });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.match(r.stderr, new RegExp(`\\[vm\\] booting ${built!.record.version.replace(/[.+]/g, '\\$&')}, the minimal kernel built from Debian's linux`));
  assert.match(r.stderr, /\| tld-scx-run: hints_ops enabled \(sched_ext state: enabled\)/);
  const o = JSON.parse(r.stdout) as VmJsonOutcome;
  assert.equal(o.enabled, 'hints_ops');
  assert.ok(o.stats, `no final statistics:\n${r.stderr.slice(-3000)}`);
  assert.ok((o.stats.counters.nr_tasks_hinted ?? 0) >= 4, `only ${o.stats.counters.nr_tasks_hinted} hinted tasks seen`);
  assert.ok((o.stats.counters.nr_queued ?? 0) > 0, 'nothing went through the vtime queue');
});

test("the minimal guest runs a workload under the kernel's own scheduler, its release is the built one, and it has the CPUs asked for", { skip, timeout: 300_000 }, () => {
  // Its command line has acpi=noirq (qemu.ts's kernelAppend): the CPUs still come up.
  const r = vmRun(['--default-scheduler', '--seconds', '2', '--cpus', '3', '--workload', 'echo "release=$(uname -r) cpus=$(nproc)"', '--json'], { kernel: 'minimal' });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.ok(guestConsole(r).includes(`release=${built!.record.version} cpus=3`), guestConsole(r).slice(-20).join('\n'));
});

test('vm run --trace writes a Perfetto trace on the minimal kernel (tp_btf sched_switch and sched_wakeup)', { skip, timeout: 300_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-minimal-trace-'));
  try {
    const trace = path.join(dir, 'run.perfetto-trace');
    const r = vmRun(['--scheduler', scxHints, '--seconds', '4', '--trace', trace, '--json'], { kernel: 'minimal' });
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    assert.ok(fs.statSync(trace).size > 1000, `trace of ${fs.statSync(trace).size} bytes`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

interface Listed {
  readonly pid: number;
  readonly comm: string;
  readonly threads: number;
}

/** Runs a guest with the inspector on the minimal kernel; @check gets tld-demo's pid and vm ps's rows. */
function withInspectedDemo(check: (demoPid: number, rows: Listed[]) => void): Promise<void> {
  return onceMoreIfGuestCrashed('vm run --inspect (minimal kernel)', async (seen) => {
    const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-minimal-inspect-'));
    const env = { ...vmEnv('minimal'), TLD_VM_RUN_DIR: runDir };
    const run: ChildProcess = spawn(process.execPath, [tldctl, 'vm', 'run', '--inspect', '--scheduler', scxHints, '--seconds', '90', '--workload', 'tld-demo --threads 2 --seconds 300'], { env });
    run.stdout!.on('data', (d: Buffer) => (seen.text += d.toString()));
    run.stderr!.on('data', (d: Buffer) => (seen.text += d.toString()));
    try {
      const deadline = Date.now() + 300_000;
      let rows: Listed[] | undefined;
      let demoPid: number | undefined;
      while (Date.now() < deadline && run.exitCode === null) {
        demoPid ??= Number(/\| tld-demo: pid (\d+),/.exec(seen.text)?.[1]) || undefined;
        if (demoPid !== undefined && /the guest's helper host is up/.test(seen.text)) {
          const r = spawnSync(process.execPath, [tldctl, 'vm', 'ps', '--json'], { encoding: 'utf8', env, timeout: 60_000 });
          if (r.status === 0) {
            const listed = JSON.parse(r.stdout) as Listed[];
            if (listed.some((p) => p.pid === demoPid)) {
              rows = listed;
              break;
            }
          }
        }
        await new Promise((res) => setTimeout(res, 2000));
      }
      assert.ok(rows && demoPid !== undefined, `the guest's tld-demo was never listed:\n${seen.text.split('\n').filter((l) => !/tld-scx-run: \d+ s:/.test(l)).slice(-30).join('\n')}`);
      check(demoPid, rows);
    } finally {
      run.kill('SIGINT');
      await new Promise((res) => (run.exitCode !== null ? res(undefined) : run.once('close', res)));
      fs.rmSync(runDir, { recursive: true, force: true });
    }
  });
}

test("the guest inspector's Node starts on the minimal kernel: vm ps lists the guest's tld-demo with its threads", { skip, timeout: 400_000 }, async () => {
  await withInspectedDemo((pid, rows) => {
    const demo = rows.find((p) => p.pid === pid)!;
    assert.equal(demo.threads, 2, JSON.stringify(demo));
  });
});

// The guest's pids are not this machine's: the name comes from the guest's records, never from
// the host's /proc/PID/comm of the same number (which once named the guest's tld-demo after a
// host process).
test("vm ps names the guest's tld-demo by its command on the minimal kernel", { skip, timeout: 400_000 }, async () => {
  await withInspectedDemo((pid, rows) => assert.equal(rows.find((p) => p.pid === pid)!.comm, 'tld-demo'));
});
