// `tldctl vm run` as the VM tests call it: synchronously, with the kernel cache the suite uses,
// its --json outcome typed and the guest's console lines ("| ...") picked out of stderr.
import { SpawnSyncReturns, spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { SchedulerOutcome } from '../../extension/src/vm/schedulerStats';
import { repoRoot } from './repo';
import { TestUser, asUser, userEnv } from './user';

export const tldctl = path.join(repoRoot, 'out', 'extension', 'src', 'cli', 'tldctl.js');

/**
 * The environment of a vm run: TLD_VM_CACHE (a tld-studio cache folder) overrides the user's
 * cache, and @kernel chooses the guest kernel (TLD_VM_KERNEL: npm test sets `debian`, so the suite
 * boots Debian's cloud kernel even where a minimal one is built; minimalKernel.test boots that one).
 */
export function vmEnv(kernel?: 'debian' | 'minimal'): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...(process.env.TLD_VM_CACHE ? { XDG_CACHE_HOME: path.dirname(process.env.TLD_VM_CACHE) } : {}),
    ...(kernel ? { TLD_VM_KERNEL: kernel } : {}),
  };
}

/**
 * Whether a run's guest kernel crashed without being asked to (the one test that crashes it on
 * purpose does so through sysrq). Under TCG, qemu 7.2 has been seen to run a stale translation of
 * kernel text a moment after it was patched (a static key in __schedule, around a sched_ext
 * scheduler's enable and disable): the guest kernel then dies of it, a few runs in a hundred.
 * Not always with a panic: an oops in a system call (the loader's bpf() that enables the
 * scheduler) kills only the calling process, and the guest goes on without its scheduler.
 */
export function guestKernelCrashed(output: string): boolean {
  return /Kernel panic - not syncing|\bOops: /.test(output) && !/sysrq/i.test(output);
}

/** Says on stderr that @what is run once more because its guest kernel crashed. */
export function sayRunningOnceMore(what: string): void {
  process.stderr.write(`${what}: the guest kernel crashed (an emulator fault, see guestKernelCrashed); running it once more\n`);
}

/**
 * `tldctl vm run ARGS`, with vmEnv(). A run whose guest kernel crashed (guestKernelCrashed) is
 * run once more, saying so on stderr: what is tested is TLD Studio, not the emulator. @user runs
 * it as that ordinary user, with @env added to userEnv's environment.
 */
export function vmRun(
  args: readonly string[],
  opts: { cwd?: string; timeoutMs?: number; kernel?: 'debian' | 'minimal'; user?: TestUser; env?: NodeJS.ProcessEnv } = {},
): SpawnSyncReturns<string> {
  const [cmd, ...pre] = opts.user ? [...asUser(opts.user), process.execPath] : [process.execPath];
  const env = opts.user ? userEnv(opts.user, vmEnv(opts.kernel), opts.env) : { ...vmEnv(opts.kernel), ...opts.env };
  const once = () =>
    spawnSync(cmd!, [...pre, tldctl, 'vm', 'run', ...args], {
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 280_000,
      env,
    });
  const r = once();
  if (!guestKernelCrashed(`${r.stdout}${r.stderr}`)) return r;
  sayRunningOnceMore(`vm run ${args.join(' ')}`);
  return once();
}

/**
 * For a test that drives a vm run of its own (spawned, and talked to while it runs): runs
 * @attempt, and when it fails with a guest kernel crash in what it saw (its `seen.text`, the
 * run's output as it arrived), runs it once more, as vmRun does.
 */
export async function onceMoreIfGuestCrashed(what: string, attempt: (seen: { text: string }) => Promise<void>): Promise<void> {
  const seen = { text: '' };
  try {
    await attempt(seen);
  } catch (e) {
    if (!guestKernelCrashed(seen.text)) throw e;
    sayRunningOnceMore(what);
    await attempt({ text: '' });
  }
}

/** What `vm run --json` prints on stdout. */
export interface VmJsonOutcome extends SchedulerOutcome {
  readonly exitCode: number;
  /** --cmd runs: the verdict in words. */
  readonly message?: string;
}

/** The guest's console lines of a run, without their "| " prefix. */
export const guestConsole = (r: SpawnSyncReturns<string>): string[] =>
  r.stderr.split('\n').filter((l) => l.startsWith('| ')).map((l) => l.slice(2));
