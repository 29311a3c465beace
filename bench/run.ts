// npm run bench: runs the benchmarks, each beside its floor measured in the same run,
// and prints one JSON document of figures, ratios and goals on stdout.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { nativeBuild } from '../test/support/repo';

/** One figure set against its floor: the ratio is what the goal bounds. */
interface Comparison {
  readonly name: string;
  readonly unit: 'ns';
  readonly value: number;
  readonly baseline: string;
  readonly baselineValue: number;
  readonly ratio: number;
  readonly goal: string;
  readonly met: boolean;
}

/** What native/bench/bench_libtld.cpp prints. */
interface LibtldFigures {
  store: { iterations: number; rounds: number; tls_ns: number; pointer_ns: number; variable_ns: number };
  first_resolve: { threads: number; floor_ns: number; tld_ns: number };
  bpf_read: {
    iterations: number;
    rounds: number;
    floor_ns: number;
    tld_ns: number;
    cached_map_ns: number;
    upstream_ns: number;
  };
}

function compare(
  name: string,
  value: number,
  baseline: string,
  baselineValue: number,
  maxRatio: number,
): Comparison {
  const ratio = Number((value / baselineValue).toFixed(3));
  return {
    name,
    unit: 'ns',
    value,
    baseline,
    baselineValue,
    ratio,
    goal: `at most ${maxRatio}x`,
    met: ratio <= maxRatio,
  };
}

function runLibtld(scale: number): LibtldFigures {
  const binary = path.join(nativeBuild, 'bench', 'bench_libtld');
  const pinDir = `/sys/fs/bpf/tld-bench-${process.pid}`;
  process.stderr.write(`bench: libtld (scale ${scale}) ...\n`);
  const r = spawnSync(binary, [String(scale)], {
    encoding: 'utf8',
    env: { ...process.env, TLD_PIN_DIR: pinDir },
  });
  fs.rmSync(pinDir, { recursive: true, force: true });
  if (r.error) throw new Error(`cannot run ${binary}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${path.basename(binary)} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as LibtldFigures;
}

function main(): number {
  const quick = process.argv.includes('--quick');
  const f = runLibtld(quick ? 0.1 : 1);
  const comparisons: Comparison[] = [
    compare('store through a cached tld_resolve_key() pointer', f.store.pointer_ns,
      'store to a plain __thread variable', f.store.tls_ns, 1.2),
    compare('store through tld::variable<T>::operator=', f.store.variable_ns,
      'store to a plain __thread variable', f.store.tls_ns, 1.5),
    compare("a thread's first tld_resolve_key() (allocate + pin)", f.first_resolve.tld_ns,
      'bare pidfd_open + map update + close', f.first_resolve.floor_ns, 1.3),
    compare('BPF hint read per event, tld_lookup() with the key cached in a per-task context',
      f.bpf_read.tld_ns, 'bpf_task_storage_get + one uptr load (bpf_loop)', f.bpf_read.floor_ns, 1.25),
    compare('BPF hint read per event, tld_lookup() with the key cached in a per-task context',
      f.bpf_read.tld_ns, "upstream header's per-event pattern (object init + cached get)",
      f.bpf_read.upstream_ns, 1.0),
    compare('BPF hint read per event, tld_lookup_cached() (ready-made cache map)',
      f.bpf_read.cached_map_ns, "upstream header's per-event pattern (object init + cached get)",
      f.bpf_read.upstream_ns, 1.1),
  ];
  const report = {
    kernel: os.release(),
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    quick,
    figures: { libtld: f },
    comparisons,
    allGoalsMet: comparisons.every((c) => c.met),
  };
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  return 0;
}

try {
  process.exitCode = main();
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
