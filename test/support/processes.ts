// Real child processes for the integration tests: fixtures that say "ready", tldctl runs,
// and a set that kills whatever is still running when a test ends, even when it failed.
import { ChildProcess, SpawnOptions, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { nativeBuild, repoRoot } from './repo';

export const fixtureBinary = path.join(nativeBuild, 'tests', 'fixture_threads');
export const demoBinary = path.join(nativeBuild, 'tld-demo');
export const tldctlScript = path.join(repoRoot, 'out', 'extension', 'src', 'cli', 'tldctl.js');

const DEFAULT_TIMEOUT_MS = 10_000;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running child whose output is collected line by line. */
export class Proc {
  readonly lines: string[] = [];
  private out = '';
  private err = '';
  private partial = '';
  private readonly waiters = new Set<() => void>();
  private exitInfo: Exit | undefined;
  /** Settles once the process has exited and its stdio is closed. */
  readonly closed: Promise<Exit>;

  constructor(
    readonly child: ChildProcess,
    readonly what: string,
    /** Takes stdout's bytes as they come instead (a binary protocol): no lines are collected. */
    rawStdout?: (chunk: Buffer) => void,
  ) {
    child.stderr?.setEncoding('utf8');
    if (rawStdout) {
      child.stdout?.on('data', (d: Buffer) => {
        rawStdout(d);
        this.wake();
      });
    } else {
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (d: string) => {
        this.out += d;
        const parts = (this.partial + d).split('\n');
        this.partial = parts.pop() ?? '';
        this.lines.push(...parts);
        this.wake();
      });
    }
    child.stderr?.on('data', (d: string) => {
      this.err += d;
      this.wake();
    });
    // A child that is gone must not fail the test with EPIPE on a late write.
    child.stdin?.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      child.on('error', (e) => {
        this.err += `spawn failed: ${e.message}\n`;
        this.exitInfo = { code: null, signal: null };
        this.wake();
        resolve(this.exitInfo);
      });
      child.on('close', (code, signal) => {
        if (this.partial) this.lines.push(this.partial);
        this.partial = '';
        this.exitInfo = { code, signal };
        this.wake();
        resolve(this.exitInfo);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.what} did not start: ${this.err}`);
    return this.child.pid;
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** The exit, once the process has exited and its stdio closed; undefined while it runs. */
  get exit(): Exit | undefined {
    return this.exitInfo;
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves with the first stdout line matching @match (earlier lines count too).
   * Rejects when the process ends first or @timeoutMs pass, with its output.
   */
  waitForLine(match: RegExp, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<string> {
    return new Promise((resolve, reject) => {
      let from = 0;
      const check = () => {
        for (; from < this.lines.length; from++) {
          const line = this.lines[from] as string;
          if (match.test(line)) return done(undefined, line);
        }
        if (this.exitInfo) done(new Error(`${this.what} ended (${JSON.stringify(this.exitInfo)}) before printing ${match}\n${this.describe()}`));
        return undefined;
      };
      const timer = setTimeout(() => done(new Error(`${this.what} printed no ${match} within ${timeoutMs} ms\n${this.describe()}`)), timeoutMs);
      const done = (e: Error | undefined, line?: string) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        if (e) reject(e);
        else resolve(line as string);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The exit, waiting at most @timeoutMs (rejects, with the output, when it does not end). */
  async waitForExit(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.what} did not end within ${timeoutMs} ms\n${this.describe()}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  send(text: string): void {
    this.child.stdin?.write(text);
  }

  /** Closes its stdin (fixtures then end by themselves). */
  endInput(): void {
    this.child.stdin?.end();
  }

  /** SIGKILL unless it has exited, then waits for it (and its stdio) to close. */
  async kill(): Promise<void> {
    if (!this.exitInfo && this.child.exitCode === null && this.child.signalCode === null) {
      try {
        this.child.kill('SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    this.child.stdin?.destroy();
    await this.closed;
  }

  describe(): string {
    return `--- ${this.what} stdout:\n${this.out.slice(-2000)}\n--- stderr:\n${this.err.slice(-2000)}`;
  }
}

const everyChild = new Set<ChildProcess>();
// Last resort: a test file that dies leaves no fixture behind.
process.on('exit', () => {
  for (const c of everyChild) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  }
});

/** Children of one test file; killAll() in after() ends whatever is left. */
export class ProcessSet {
  private readonly procs = new Set<Proc>();

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** @rawStdout: see Proc. */
  spawn(cmd: string, args: readonly string[], what = path.basename(cmd), opts: SpawnOptions = {}, rawStdout?: (chunk: Buffer) => void): Proc {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: this.env, ...opts });
    everyChild.add(child);
    const p = new Proc(child, what, rawStdout);
    this.procs.add(p);
    void p.closed.then(() => everyChild.delete(child));
    return p;
  }

  /** The test fixture (test/native/fixture_threads.c) with @args, once it printed "ready". */
  async fixture(args: readonly string[], timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ proc: Proc; ready: string[] }> {
    if (!fs.existsSync(fixtureBinary)) throw new Error(`${fixtureBinary} is not built: run npm run build`);
    const proc = this.spawn(fixtureBinary, args, `fixture_threads ${args.join(' ')}`);
    const line = await proc.waitForLine(/^ready \d+/, timeoutMs);
    const ready = line.trim().split(/\s+/);
    if (Number(ready[1]) !== proc.pid) throw new Error(`the fixture says it is ${ready[1]}, spawn says ${proc.pid}`);
    return { proc, ready };
  }

  /** tldctl with @args, as a running process (for watch and attach). */
  tldctl(args: readonly string[], opts: SpawnOptions = {}): Proc {
    return this.spawn(process.execPath, [tldctlScript, ...args], `tldctl ${args.join(' ')}`, opts);
  }

  async killAll(): Promise<void> {
    await Promise.all([...this.procs].map((p) => p.kill()));
    this.procs.clear();
  }
}

export interface RunResult extends Exit {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (SIGKILL after @timeoutMs, which fails). */
export async function run(
  set: ProcessSet,
  cmd: string,
  args: readonly string[],
  opts: SpawnOptions & { timeoutMs?: number } = {},
): Promise<RunResult> {
  const { timeoutMs = DEFAULT_TIMEOUT_MS, ...spawnOpts } = opts;
  const p = set.spawn(cmd, args, `${path.basename(cmd)} ${args.join(' ')}`, spawnOpts);
  p.endInput();
  try {
    const exit = await p.waitForExit(timeoutMs);
    return { ...exit, stdout: p.stdout, stderr: p.stderr };
  } finally {
    await p.kill();
  }
}

/** tldctl run to its end. */
export function runTldctl(set: ProcessSet, args: readonly string[], opts: SpawnOptions & { timeoutMs?: number } = {}): Promise<RunResult> {
  return run(set, process.execPath, [tldctlScript, ...args], opts);
}

/** Thread ids of @pid from /proc, ascending; [] when it is gone. */
export function taskIds(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .sort((a, b) => a - b);
  } catch {
    return [];
  }
}

/** Whether @pid has a thread that has not exited (a zombie or a reaped process has none). */
export function isRunning(pid: number): boolean {
  for (const tid of taskIds(pid)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state !== 'Z' && state !== 'X') return true;
    } catch {
      // that thread is gone
    }
  }
  return false;
}

/** Lines that look like a JavaScript stack trace. */
export function stackLines(text: string): string[] {
  return text.split('\n').filter((l) => /^\s{4}at /.test(l));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls @cond every 20 ms until it holds; false after @timeoutMs. */
export async function until(cond: () => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}
