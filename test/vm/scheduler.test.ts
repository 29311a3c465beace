// Schedulers in a real sched_ext guest through `tldctl vm run`: the example scheduler enabled
// while tld-demo publishes hints (thread 0, 4, ... latency critical; every thread a weight),
// with its statistics read back, and under tld-latency's CPU hogs, where its hinted threads
// preempt busy CPUs; a scheduler the guest's verifier rejects, reported at its
// source line; one that ends itself with scx_bpf_error(), and one the watchdog throws out,
// each reported with its reason; and a guest that panics.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import { LatencyClass, parseLatencyReport } from '../../extension/src/vm/latencyReport';
import { latencyCommand } from '../../extension/src/vm/run';
import { repoRoot } from '../support/repo';
import { VmJsonOutcome, guestConsole, tldctl, vmEnv, vmRun } from '../support/vm';

const schedulers = path.join(repoRoot, 'test', 'vm', 'schedulers');



test('tldctl vm run enables scx_hints in a sched_ext guest: hints are read, tasks are queued by vtime, wake-ups are measured', { timeout: 300_000 }, () => {
  const r = vmRun(['--scheduler', path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c'), '--seconds', '4', '--json']);
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.match(r.stderr, /\| tld-scx-run: hints_ops enabled \(sched_ext state: enabled\)/);
  assert.match(r.stderr, /vm run: the scheduler stayed enabled \((kvm|tcg): /);
  const o = JSON.parse(r.stdout) as VmJsonOutcome;
  assert.equal(o.exitCode, 0);
  assert.equal(o.enabled, 'hints_ops');
  assert.ok(o.stats, `no final statistics:\n${r.stderr.slice(-3000)}`);
  const c = o.stats.counters;
  assert.ok((c.nr_tasks_hinted ?? 0) >= 4, `only ${c.nr_tasks_hinted} hinted tasks seen`);
  assert.ok((c.nr_queued ?? 0) > 0, 'nothing went through the shared vtime queue');
  assert.ok((c.nr_weighted ?? 0) > 0, 'no weight hint was used');
  const hinted = o.stats.histograms.lat_hinted;
  const unhinted = o.stats.histograms.lat_unhinted;
  assert.ok(hinted && hinted.count > 0, 'no wake-up of a latency-critical thread was measured');
  assert.ok(unhinted && unhinted.count > 0, 'no wake-up of an unhinted thread was measured');
  assert.equal(hinted.buckets.reduce((n, [, k]) => n + k, 0), hinted.count);
  assert.ok(hinted.p50_ns <= hinted.p99_ns && hinted.p99_ns <= hinted.max_ns);
});

test("scx_hints stays enabled under tld-latency's CPU hogs: its hinted threads wake on the CPU it keeps for them, or preempt a busy one", { timeout: 400_000 }, () => {
  // 4 hogs on 2 CPUs: while hinted threads are about, scx_hints keeps the second CPU for them
  // (rule 4), and a hinted wake-up that finds it taken preempts (rule 3).
  // The run ends with the workload (4 s); --seconds only bounds it, generously for a busy host.
  const r = vmRun(['--scheduler', path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c'), '--cpus', '2', '--seconds', '200',
    '--workload', latencyCommand(4), '--json'], { timeoutMs: 380_000 });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  assert.match(r.stderr, /vm run: the scheduler stayed enabled \((kvm|tcg): /);
  const o = JSON.parse(r.stdout) as VmJsonOutcome;
  assert.equal(o.enabled, 'hints_ops');
  assert.ok(o.stats, `no final statistics:\n${r.stderr.slice(-3000)}`);
  const c = o.stats.counters;
  assert.ok((c.nr_tasks_hinted ?? 0) >= 2, `only ${c.nr_tasks_hinted} hinted tasks seen`);
  assert.ok((c.nr_reserved_direct ?? 0) > 0, 'no latency-critical wake-up ran on the kept CPU');
  assert.ok((c.nr_reserved_direct ?? 0) > (c.nr_critical_preempt ?? 0), `most hinted wake-ups find the kept CPU idle: ${JSON.stringify(c)}`);
  assert.ok((c.nr_critical_preempt ?? 0) > 0, 'no latency-critical wake-up preempted a busy CPU (two hinted threads wake together)');
  assert.ok((c.nr_queued ?? 0) > 0, 'the hogs and unhinted threads did not go through the vtime queue');
  const hinted = o.stats.histograms.lat_hinted;
  assert.ok(hinted && hinted.count > 0, 'no wake-up of a hinted thread was measured');
  const report = parseLatencyReport(guestConsole(r));
  assert.ok(report, `tld-latency printed no report:\n${r.stderr.slice(-3000)}`);
  for (const k of ['hinted', 'unhinted'] as const) {
    const cls: LatencyClass = report[k];
    assert.ok(cls.n > 0 && cls.missed < cls.n, `${k}: ${cls.n} periods, ${cls.missed} missed`);
    // Missed periods are in n and in the histogram, not dropped.
    assert.equal(cls.hist.reduce((n, [, count]) => n + count, 0), cls.n, `${k}: the histogram holds every period`);
    assert.ok(cls.p50_us <= cls.p99_us && cls.p99_us <= cls.max_us);
  }
});

test('a task that may run on the kept CPU only is not starved while scx_hints keeps that CPU for hinted threads', { timeout: 400_000 }, () => {
  // The same starvation threw scx_hints out once (ksoftirqd/1, a per-CPU kernel thread, waited 30 s):
  // here a user task pinned to CPU 1 must finish while tld-latency's hinted threads keep CPU 1 reserved.
  const pinned = "taskset 2 sh -c 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done'; echo 'pinned: finished'";
  const r = vmRun(['--scheduler', path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c'), '--cpus', '2', '--seconds', '200',
    '--workload', `${latencyCommand(8)} & sleep 2; ${pinned}; wait`, '--json'], { timeoutMs: 380_000 });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  const o = JSON.parse(r.stdout) as VmJsonOutcome;
  assert.ok(o.stats && (o.stats.counters.nr_reserved_direct ?? 0) > 0, `CPU 1 was never kept:\n${r.stderr.slice(-3000)}`);
  const lines = guestConsole(r);
  const finished = lines.findIndex((l) => l.includes('pinned: finished'));
  const report = lines.findIndex((l) => l.startsWith('tld-latency: {'));
  assert.ok(finished >= 0 && report >= 0, r.stderr.slice(-3000));
  assert.ok(finished < report, `the pinned task finished only after tld-latency (its hinted threads) had stopped:\n${lines.slice(-40).join('\n')}`);
});

test('a scheduler the guest verifier rejects is reported at its source line, and the run fails', { timeout: 300_000 }, () => {
  const source = path.join(schedulers, 'scx_null_deref.bpf.c');
  const r = vmRun(['--scheduler', source, '--seconds', '2']);
  assert.equal(r.status, 1, r.stdout.slice(-3000));
  const line = fs.readFileSync(source, 'utf8').split('\n').findIndex((l) => l.includes('THE ERROR')) + 1;
  assert.ok(line > 0);
  // At the line and the column clang's debug info gives the read (tctx->enqueues++), not column 1.
  const column = Number(new RegExp(`scx_null_deref\\.bpf\\.c:${line}:(\\d+): error: R0 may be NULL here`).exec(r.stdout)?.[1]);
  assert.ok(column > 1, r.stdout.slice(-3000));
  assert.match(r.stdout, /: note: R0: bpf_task_storage_get\(\) returns it here/);
  assert.doesNotMatch(r.stdout, /____null_enqueue/, "BPF_PROG's inner function is not shown");
  assert.match(r.stdout, /vm run: the scheduler did not load or enable/);
});

test('vm run builds with -I and --cflag; a NULL-able value read in an inlined helper of a header is reported there, with the lookup and the call as notes', { timeout: 300_000 }, () => {
  const dir = path.join(schedulers, 'inlined');
  const source = path.join(dir, 'scx_inlined_null.bpf.c');
  const header = path.join(dir, 'include', 'weights.bpf.h');
  const lineOf = (file: string, mark: string): number => fs.readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes(mark)) + 1;
  const without = vmRun(['--scheduler', source, '--seconds', '2']);
  assert.equal(without.status, 1);
  assert.match(without.stdout, /weights\.bpf\.h' file not found/);
  const r = vmRun(['--scheduler', source, '-I', path.join(dir, 'include'), '--cflag', '-DWEIGHT_SCALE=100', '--seconds', '2']);
  assert.equal(r.status, 1, r.stdout.slice(-3000) + r.stderr.slice(-3000));
  const rel = (f: string) => path.relative(process.cwd(), f);
  const error = `${rel(header)}:${lineOf(header, 'THE ERROR')}:`;
  assert.ok(r.stdout.includes(error), `no error at ${error}:\n${r.stdout.slice(-3000)}`);
  assert.match(r.stdout, /: error: R\d may be NULL here/);
  assert.ok(r.stdout.includes(`${rel(source)}:${lineOf(source, 'THE CALL')}:`) && /note: weighted_slice\(\) inlined into inlined_enqueue\(\) here/.test(r.stdout) && !/____/.test(r.stdout), r.stdout.slice(-3000));
  assert.ok(new RegExp(`${rel(source).replace(/[.]/g, '\\.')}:${lineOf(source, 'THE LOOKUP')}:\\d+: note: R\\d: bpf_task_storage_get\\(\\) returns it here`).test(r.stdout), r.stdout.slice(-3000));
});

test('a scheduler that calls scx_bpf_error() is disabled by the kernel, and the run says why', { timeout: 300_000 }, () => {
  const r = vmRun(['--scheduler', path.join(schedulers, 'scx_gives_up.bpf.c'), '--seconds', '4']);
  assert.equal(r.status, 2, r.stdout.slice(-3000));
  assert.match(r.stdout, /\| tld-scx-run: the kernel disabled the scheduler \(error, kind \d+, exit code 0\): scx_bpf_error: giving up after 20 enqueues/);
  assert.match(r.stdout, /vm run: the kernel disabled the scheduler .*giving up after 20 enqueues/);
});

test("a scheduler that leaves tasks waiting is thrown out by the kernel's watchdog, and the run says so", { timeout: 300_000 }, () => {
  const r = vmRun(['--scheduler', path.join(schedulers, 'scx_stalls.bpf.c'), '--seconds', '6']);
  assert.equal(r.status, 2, r.stdout.slice(-3000));
  // The watchdog names the task that waited, or, when the loaded host starves the guest's own
  // timer first, itself: either way the kernel threw the scheduler out for a stall.
  assert.match(r.stdout, /vm run: the kernel disabled the scheduler \(error, kind \d+, exit code 0\): runnable task stall: (.* failed to run for|watchdog failed to check in for)/);
});

test('tldctl vm run refuses a file that is not a scheduler source, with a clear message', () => {
  const r = vmRun(['--scheduler', path.join(repoRoot, 'README.md')]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /README\.md is not a scheduler source \(NAME\.bpf\.c\)/);
});

test('tldctl vm run takes one way to run: a scheduler, the default one or a command', () => {
  const r = vmRun(['--scheduler', path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c'), '--default-scheduler']);
  assert.equal(r.status, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /vm run takes one of --scheduler, --default-scheduler and --cmd/);
});

test("a scheduler that does not compile fails the run with clang's error at its line: the guest that booted meanwhile is stopped unseen, and no qemu is left", { timeout: 300_000 }, () => {
  const dir = fs.mkdtempSync('/tmp/tld-vm-nocompile-');
  try {
    const source = path.join(dir, 'broken.bpf.c');
    fs.writeFileSync(source, '#include "vmlinux.h"\n\nint broken = ;\n');
    const r = vmRun(['--scheduler', source, '--seconds', '2']);
    const out = r.stdout + r.stderr;
    assert.equal(r.status, 1, out.slice(-3000));
    assert.match(out, /broken\.bpf\.c:3:\d+: error: expected expression/);
    assert.doesNotMatch(out, /^\| |booting /m, 'nothing of the guest is shown');
    assert.equal(spawnSync('pgrep', ['-f', 'qemu-system-x86_64.*tld-vm-run']).status, 1, 'a qemu of this run is still running');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a guest that panics ends the run with a clear message, and no qemu is left', { timeout: 300_000 }, () => {
  // More lines than the run keeps as the guest's last: the panic still comes after /init, so
  // the guest is not booted again (its workload would run twice). The console drains first
  // (stty waits for it, as /init does before it powers off): lines still in the tty when the
  // kernel panics never reach the serial port, which cut the workload's output short one run in six.
  const r = vmRun(['--default-scheduler', '--seconds', '2', '--workload',
    'for i in $(seq 60); do echo workload-line-$i; done; stty "$(stty -g </dev/console)" </dev/console; echo c > /proc/sysrq-trigger']);
  assert.equal(r.status, 1, r.stdout.slice(-3000));
  assert.equal(r.stdout.match(/workload-line-60$/gm)?.length, 1, 'the workload ran once');
  assert.doesNotMatch(r.stdout, /booting it once more/);
  assert.match(r.stdout, /the guest stopped before its \/init finished \(a kernel panic or crash\?\); its last lines are above/);
  assert.match(r.stdout, /\| .*(sysrq|Kernel panic)/i);
  assert.equal(spawnSync('pgrep', ['-f', 'qemu-system-x86_64.*tld-vm-run']).status, 1, 'a qemu of this run is still running');
});

/** The pids of @parent's children (the children files of its tasks in /proc). */
function childrenOf(parent: number): number[] {
  try {
    return fs.readdirSync(`/proc/${parent}/task`).flatMap((t) =>
      fs.readFileSync(`/proc/${parent}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

test('SIGTERM to vm run alone (not its process group) stops the guest: it exits 130 and its qemu is gone', { timeout: 300_000 }, async () => {
  const run = spawn(process.execPath, [tldctl, 'vm', 'run', '--default-scheduler', '--seconds', '120', '--workload', 'sleep 200'], { env: vmEnv() });
  let out = '';
  run.stdout.on('data', (b: Buffer) => (out += b.toString()));
  run.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => run.on('exit', (code) => resolve(code)));
  // Signalled once the guest's /init runs: qemu is up by then.
  const deadline = Date.now() + 240_000;
  while (!out.includes('TLD-VM-INIT') && Date.now() < deadline && run.exitCode === null) await new Promise((r) => setTimeout(r, 200));
  assert.ok(out.includes('TLD-VM-INIT'), out.slice(-3000));
  const qemus = childrenOf(run.pid!).filter((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('qemu');
    } catch {
      return false;
    }
  });
  assert.equal(qemus.length, 1, `vm run's children: ${childrenOf(run.pid!).join(' ')}`);
  run.kill('SIGTERM');
  assert.equal(await exited, 130, out.slice(-3000));
  assert.match(out, /vm run: SIGTERM: stopping the guest/);
  assert.equal(fs.existsSync(`/proc/${qemus[0]}`), false, 'qemu is still running');
});
