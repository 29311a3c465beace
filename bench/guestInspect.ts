// The guest inspector's costs, through tldctl vm run as a user runs it (warm kernel cache):
// - boot: time to the guest's /init with the helper host's overlay (Node, about 44 MB of gzip)
//   appended to the initramfs, beside the same run without --inspect, runs interleaved; and
//   from /init to the helper host's hello (Node's start in the guest);
// - transport: one snapshot of the guest's tld-demo from the host, through the relay and the
//   virtio-serial port, beside the smallest request (hostReport: a round trip and next to no
//   work, the transport's floor) in the same run; medians.
//   `node out/bench/guestInspect.js [--quick]` prints only these figures.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TldClient } from '../extension/src/client/client';
import { pickVm } from '../extension/src/vm/guestRelay';
import { repoRoot } from '../test/support/repo';
import { median } from './stats';

const tldctl = path.join(repoRoot, 'out', 'extension', 'src', 'cli', 'tldctl.js');
const scxHints = path.join(repoRoot, 'bpf', 'schedulers', 'scx_hints.bpf.c');

export interface GuestInspectFigures {
  readonly runs: number;
  readonly to_init_ms: { readonly inspect: number; readonly no_inspect: number; readonly samples_inspect: readonly number[]; readonly samples_no_inspect: readonly number[] };
  /** From /init to the helper host's hello reaching the host. */
  readonly init_to_helper_ms: number;
  readonly snapshot: { readonly threads: number; readonly keys: number; readonly samples: number; readonly snapshot_ms: number; readonly report_ms: number };
}

interface Run {
  readonly marks: Map<string, number>;
  readonly done: Promise<number>;
  readonly out: () => string;
}

function vmRun(args: readonly string[], marks: readonly [string, RegExp][], env: NodeJS.ProcessEnv): Run {
  const started = performance.now();
  const child = spawn(process.execPath, [tldctl, 'vm', 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const seen = new Map<string, number>();
  let text = '';
  let pending = '';
  const onData = (d: Buffer): void => {
    const now = performance.now() - started;
    text += d.toString();
    pending += d.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) for (const [name, re] of marks) if (!seen.has(name) && re.test(l)) seen.set(name, now);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return { marks: seen, done: new Promise((resolve) => child.on('close', (code) => resolve(code ?? -1))), out: () => text };
}

const MARKS: [string, RegExp][] = [
  ['init', /\| TLD-VM-INIT/],
  ['helper', /the guest's helper host is up/],
];

async function until(what: string, ms: number, f: () => Promise<boolean> | boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`bench: no ${what} in ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function runGuestInspectBench(quick: boolean): Promise<GuestInspectFigures> {
  const runs = quick ? 1 : 3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-bench-guest-'));
  const env = { ...process.env, TLD_VM_RUN_DIR: path.join(dir, 'vm') };
  try {
    const withInit: number[] = [];
    const withoutInit: number[] = [];
    const toHelper: number[] = [];
    for (let i = 0; i < runs; i++) {
      for (const inspect of [true, false]) {
        process.stderr.write(`bench: vm run to /init ${inspect ? 'with' : 'without'} the guest's helper host (${i + 1}/${runs}) ...\n`);
        const r = vmRun(['--default-scheduler', '--seconds', '1', '--workload', inspect ? 'sleep 60' : 'true', ...(inspect ? ['--inspect'] : [])], MARKS, env);
        if (inspect) await until("helper host's hello", 600_000, () => r.marks.has('helper'));
        const code = await r.done;
        const init = r.marks.get('init');
        if (init === undefined) throw new Error(`bench: the guest never reached /init (exit ${code}):\n${r.out().slice(-3000)}`);
        (inspect ? withInit : withoutInit).push(Math.round(init));
        if (inspect) toHelper.push(Math.round(r.marks.get('helper')! - init));
      }
    }

    process.stderr.write('bench: snapshots of the guest\'s tld-demo through the relay ...\n');
    const samples = quick ? 20 : 100;
    // Long enough for the samples once the helper host is up; the run then ends by itself.
    const r = vmRun(['--inspect', '--scheduler', scxHints, '--seconds', '90', '--workload', 'tld-demo --threads 16 --seconds 300'], MARKS, env);
    let client: TldClient | undefined;
    try {
      await until("helper host's hello", 600_000, () => r.marks.has('helper'));
      const vm = pickVm(undefined, env.TLD_VM_RUN_DIR);
      client = await TldClient.create({ guestSocket: vm.socket, guestName: 'the bench guest' });
      let pid = 0;
      await until('tld-demo in the guest', 300_000, async () => {
        pid = (await client!.processes()).find((p) => p.comm === 'tld-demo' && p.threads >= 16)?.pid ?? 0;
        return pid !== 0;
      });
      const snapMs: number[] = [];
      const listMs: number[] = [];
      let threads = 0;
      let keys = 0;
      for (let i = 0; i < samples; i++) {
        let t = performance.now();
        const s = await client.snapshot(pid);
        snapMs.push(performance.now() - t);
        threads = s.threads.length;
        keys = s.keys.length;
        t = performance.now();
        await client.hostReport();
        listMs.push(performance.now() - t);
      }
      return {
        runs,
        to_init_ms: { inspect: median(withInit), no_inspect: median(withoutInit), samples_inspect: withInit, samples_no_inspect: withoutInit },
        init_to_helper_ms: median(toHelper),
        snapshot: { threads, keys, samples, snapshot_ms: Number(median(snapMs).toFixed(2)), report_ms: Number(median(listMs).toFixed(2)) },
      };
    } finally {
      client?.dispose();
      await r.done;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  runGuestInspectBench(process.argv.includes('--quick')).then(
    (f) => process.stdout.write(JSON.stringify(f, null, 2) + '\n'),
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
