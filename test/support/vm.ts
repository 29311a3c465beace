// `tldctl vm run` as the VM tests call it: synchronously, with the kernel cache the suite uses,
// its --json outcome typed and the guest's console lines ("| ...") picked out of stderr.
import { SpawnSyncReturns, spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { SchedulerOutcome } from '../../extension/src/vm/schedulerStats';
import { repoRoot } from './repo';

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

/** `tldctl vm run ARGS`, with vmEnv(). */
export function vmRun(args: readonly string[], opts: { cwd?: string; timeoutMs?: number; kernel?: 'debian' | 'minimal' } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [tldctl, 'vm', 'run', ...args], {
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 280_000,
    env: vmEnv(opts.kernel),
  });
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
