// The sched_ext guest as the extension sees it: whether Run Scheduler in VM has one running,
// how the last run ended, and stopping a run (its qemu is a child of the extension host).
import * as fs from 'node:fs';

import type { SchedulerStats } from './vm/schedulerStats';

/** How a run ended: the scheduler stayed enabled, the kernel disabled it, it did not load or enable, or the user stopped it. */
export type GuestResult = 'enabled' | 'disabled' | 'failed' | 'stopped';

export interface GuestOutcome {
  /** The scheduler's file name (NAME.bpf.c). */
  readonly scheduler: string;
  readonly result: GuestResult;
  /** One sentence for people. */
  readonly message: string;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly accel?: string;
  readonly stats?: SchedulerStats;
}

export function resultWords(r: GuestResult): string {
  switch (r) {
    case 'enabled':
      return 'stayed enabled';
    case 'disabled':
      return 'was disabled by the kernel';
    case 'failed':
      return 'did not load or enable';
    case 'stopped':
      return 'was stopped';
    default: {
      const never: never = r;
      return never;
    }
  }
}

/** The qemu processes this process started (a KVM probe or the guest). */
export function qemuChildren(parent: number = process.pid): number[] {
  const out: number[] = [];
  let names: string[];
  try {
    names = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === parent && comm.startsWith('qemu-system')) out.push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

const STOP_POLL_MS = 250;

/** One Run Scheduler in VM, from its start to its outcome. */
export class GuestRun {
  readonly startedAt = Date.now();
  private current = 'starting';
  private stopTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(
    readonly scheduler: string,
    private readonly changed: () => void,
  ) {}

  get step(): string {
    return this.current;
  }

  get stopRequested(): boolean {
    return this.stopping;
  }

  setStep(message: string): void {
    this.current = message;
    this.changed();
  }

  /**
   * Stops the guest: its qemu is terminated now, or as soon as it starts when the run is still
   * building the scheduler or its initramfs. The run then ends as 'stopped'.
   */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.setStep('stopping the guest');
    const kill = (): void => {
      for (const pid of qemuChildren()) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone meanwhile
        }
      }
    };
    kill();
    this.stopTimer = setInterval(kill, STOP_POLL_MS);
  }

  /** The run is over: no more stopping. */
  finish(): void {
    if (this.stopTimer) clearInterval(this.stopTimer);
    this.stopTimer = undefined;
  }
}
