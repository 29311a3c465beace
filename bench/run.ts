// npm run bench: runs the benchmarks, each beside its floor measured in the same run. Every
// section's figures are written to the results file as soon as it completes; a section that
// fails is named there and on stderr, and the run goes on. Exits with the number of sections
// that failed (a missed goal is a figure, not a failure). Prints the whole document on stdout.
//
//   node out/bench/run.js [--quick] [--only a,b] [--out FILE]    (npm run bench:readme: the README's table)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { toolchainFiles } from '../extension/src/client/paths';
import { loadToolchain } from '../extension/src/client/toolchain';
import { nativeBuild } from '../test/support/repo';
import { Figure, RatioSpread, ratioFigure, spreadNote } from './figure';
import { helperFigures, runHelperBench } from './helper';
import { inspectCommandFigures, runInspectCommandBench } from './inspectCommand';
import { inspectorFigures, runInspectorBench } from './inspector';
import { loadFigures, runLoadBench } from './load';
import { runLatencyBench } from './latency';
import { BenchResults, DEFAULT_RESULTS, Section, runSections, save } from './results';
import { runOwnLoaderBench } from './vm';
import { runVmStartBench, vmStartFigures } from './vmStart';

/** What native/bench/bench_libtld.cpp prints: medians, and percentiles of the per-round ratios. */
interface LibtldFigures {
  store: {
    iterations: number;
    rounds: number;
    tls_ns: number;
    pointer_ns: number;
    variable_ns: number;
    variable_ratio: RatioSpread;
    pointer_ratio: RatioSpread;
  };
  first_resolve: { threads: number; floor_ns: number; tld_ns: number; ratio: RatioSpread };
  bpf_read: {
    iterations: number;
    rounds: number;
    floor_ns: number;
    tld_ns: number;
    cached_map_ns: number;
    upstream_ns: number;
    tld_ratio: RatioSpread;
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

function libtldFigures(f: LibtldFigures): Figure[] {
  const tls = 'store to a plain __thread variable';
  const upstream = "upstream header's per-event pattern (object init + cached get)";
  const stores = `${f.store.rounds} rounds of ${f.store.iterations.toLocaleString('en-US')} stores, interleaved on one CPU`;
  return [
    ratioFigure('store through a cached tld_resolve_key() pointer', f.store.pointer_ns, 'ns', tls, f.store.tls_ns, 1.2, spreadNote(f.store.pointer_ratio, stores)),
    ratioFigure('store through tld::variable<T>::operator=', f.store.variable_ns, 'ns', tls, f.store.tls_ns, 1.2, spreadNote(f.store.variable_ratio, stores)),
    ratioFigure("a thread's first tld_resolve_key() (allocate + pin)", f.first_resolve.tld_ns, 'ns', 'bare pidfd_open + map update + close', f.first_resolve.floor_ns, 1.15, spreadNote(f.first_resolve.ratio, `${f.first_resolve.threads} threads each, alternating`)),
    ratioFigure('BPF hint read per event, tld_lookup() with the key cached in a per-task context', f.bpf_read.tld_ns, 'ns', 'bpf_task_storage_get + one uptr load of the same value (bpf_loop)', f.bpf_read.floor_ns, 1.05, spreadNote(f.bpf_read.tld_ratio, `${f.bpf_read.rounds} rounds of ${f.bpf_read.iterations.toLocaleString('en-US')} events, interleaved`)),
    ratioFigure('BPF hint read per event, tld_lookup() with the key cached in a per-task context', f.bpf_read.tld_ns, 'ns', upstream, f.bpf_read.upstream_ns, 1.0),
    ratioFigure('BPF hint read per event, tld_lookup_cached() (ready-made cache map)', f.bpf_read.cached_map_ns, 'ns', upstream, f.bpf_read.upstream_ns, 1.1),
  ];
}

const SECTIONS: readonly Section[] = [
  { name: 'libtld', run: async (quick) => { const f = runLibtld(quick ? 0.1 : 1); return { raw: f, figures: libtldFigures(f) }; } },
  { name: 'helper', run: async (quick) => { const f = await runHelperBench(quick); return { raw: f, figures: helperFigures(f) }; } },
  { name: 'load', run: async (quick) => { const f = runLoadBench(quick); return { raw: f, figures: loadFigures(f) }; } },
  { name: 'vm_start', run: async (quick) => { const f = await runVmStartBench(quick); return { raw: f, figures: vmStartFigures(f) }; } },
  { name: 'vm_start_minimal', run: async (quick) => { const f = await runVmStartBench(quick, true); return { raw: f, figures: vmStartFigures(f) }; } },
  {
    name: 'latency',
    run: async (quick) => {
      const lat = runLatencyBench(quick);
      return {
        raw: lat,
        figures: lat.comparisons.map((c) => ({
          name: c.name,
          value: c.value,
          unit: c.unit,
          against: { name: c.baseline, value: c.baselineValue, unit: c.unit, ratio: c.ratio },
          goal: c.goal,
          met: c.met,
        })),
      };
    },
  },
  {
    name: 'own_loader',
    run: async (quick) => {
      const own = await runOwnLoaderBench(quick);
      return {
        raw: own,
        figures: [
          ratioFigure(`tldctl vm run to enabled with a developer's own loader (--share DIR --cmd ./own_fifo; ${own.accel}, median of ${own.runs})`, own.own_to_enabled_ms, 'ms', 'the generic loader on the same scheduler (--scheduler own_fifo.bpf.c), runs interleaved', own.generic_to_enabled_ms, 1.2),
        ],
      };
    },
  },
  { name: 'inspect_command', run: async (quick) => { const f = await runInspectCommandBench(quick); return { raw: f, figures: inspectCommandFigures(f) }; } },
  { name: 'inspector', run: async (quick) => { const f = await runInspectorBench(quick); return { raw: f, figures: inspectorFigures(f) }; } },
];

/** The libbpf builds use, and how long building it into the cache took (null: the system's). */
function libbpfFigure(): BenchResults['libbpf'] {
  const t = loadToolchain(toolchainFiles());
  return t ? { version: t.libbpf.version, source: t.libbpf.source, build_seconds: t.libbpf.buildSeconds } : null;
}

function option(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}

async function main(argv: readonly string[]): Promise<number> {
  // The VM sections boot Debian's cloud kernel unless told otherwise, as npm test does: figures
  // stay comparable between runs whether or not a minimal kernel is built (vm_start_minimal
  // measures that one beside it).
  process.env.TLD_VM_KERNEL ??= 'debian';
  const quick = argv.includes('--quick');
  const out = path.resolve(option(argv, '--out') ?? DEFAULT_RESULTS);
  const only = option(argv, '--only')?.split(',');
  const unknown = only?.filter((n) => !SECTIONS.some((s) => s.name === n)) ?? [];
  if (unknown.length) throw new Error(`no section ${unknown.join(', ')}; the sections: ${SECTIONS.map((s) => s.name).join(', ')}`);
  const doc: BenchResults = {
    kernel: os.release(),
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    quick,
    started: new Date().toISOString(),
    finished: null,
    load_average_start: Number((os.loadavg()[0] ?? 0).toFixed(2)),
    load_average_end: null,
    libbpf: libbpfFigure(),
    sections: {},
    figures: [],
    failed: [],
    goals_missed: 0,
    all_goals_met: false,
  };
  await runSections(SECTIONS.filter((s) => !only || only.includes(s.name)), doc, { quick, out, log: (line) => process.stderr.write(`bench: ${line}\n`) });
  doc.finished = new Date().toISOString();
  doc.load_average_end = Number((os.loadavg()[0] ?? 0).toFixed(2));
  save(out, doc);
  process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  process.stderr.write(`bench: results in ${out}; ${doc.failed.length} section(s) failed${doc.failed.length ? ` (${doc.failed.join(', ')})` : ''}, ${doc.goals_missed} goal(s) missed\n`);
  return doc.failed.length;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = Math.min(code, 125)),
    (e: unknown) => {
      process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 126;
    },
  );
}
