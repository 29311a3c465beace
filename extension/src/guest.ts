// The sched_ext guest as the extension sees it: whether Run Scheduler in VM has one running,
// how the last run ended, and stopping a run (through the runner's abort signal).
import type { RunVerdict } from './vm/run';
import type { SchedulerStats } from './vm/schedulerStats';

/** How a run ended: the scheduler stayed enabled, the kernel disabled it, it did not load or enable, or the user stopped it. */
export type GuestResult = RunVerdict | 'stopped';

/** What loads the scheduler: the generic loader (tld-scx-run) on a NAME.bpf.c, or the developer's own command. */
export type GuestLoader =
  | { readonly kind: 'generic' }
  | {
      readonly kind: 'command';
      /** The shell command, run as root in the guest. */
      readonly command: string;
      /** The folder shared at the same path, the command's working directory. */
      readonly share: string;
      /** Where it came from: the tldStudio.vm.command setting, or a tasks.json task (its label). */
      readonly from: { readonly kind: 'setting' } | { readonly kind: 'task'; readonly label: string };
    };

/** The loader in a few words, for the VM view ("generic loader", "your command: ./scx_simple"). */
export function loaderWords(l: GuestLoader): string {
  switch (l.kind) {
    case 'generic':
      return 'generic loader';
    case 'command':
      return l.from.kind === 'task' ? `task ${l.from.label}: ${l.command}` : `your command: ${l.command}`;
    default: {
      const never: never = l;
      return never;
    }
  }
}

export interface GuestOutcome {
  /** The scheduler's file name (NAME.bpf.c), or the name of the developer's command's run. */
  readonly scheduler: string;
  readonly loader: GuestLoader;
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

/** One Run Scheduler in VM, from its start to its outcome. */
export class GuestRun {
  readonly startedAt = Date.now();
  private current = 'starting';
  private readonly abort = new AbortController();

  constructor(
    readonly scheduler: string,
    readonly loader: GuestLoader,
    private readonly changed: () => void,
  ) {}

  get step(): string {
    return this.current;
  }

  get stopRequested(): boolean {
    return this.abort.signal.aborted;
  }

  /** For the runner: aborted when the user stops the guest. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  setStep(message: string): void {
    this.current = message;
    this.changed();
  }

  /**
   * Stops the guest: the runner stops its qemu now, or does not start one when it is still
   * building the scheduler or its initramfs. The run then ends as 'stopped'.
   */
  stop(): void {
    if (this.stopRequested) return;
    this.setStep('stopping the guest');
    this.abort.abort();
  }
}
