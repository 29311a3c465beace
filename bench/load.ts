// Benchmark: compile + check + load through tldctl against bare clang + bpftool prog load of
// the same file, alternating, in the same run.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

import { DEFAULT_CFLAGS } from '../extension/src/client/compiler';
import { bpfIncludeDirs } from '../extension/src/client/paths';
import { repoRoot } from '../test/support/repo';
import { Figure, ratioFigure } from './figure';
import { median } from './stats';

export interface LoadFigures {
  file: string;
  rounds: number;
  tldctl_ms: number;
  bare_ms: number;
  /** `node -e 0`, in the same rounds: what any command written for Node pays before its first line. */
  node_start_ms: number;
  /** `tldctl compile` that makes the precompiled vmlinux.h the rounds use (once per kernel and flags). */
  pch_compile_ms: number;
}

/** What users run (package.json's bin): the one-file bundle. */
const tldctl = path.join(repoRoot, 'dist', 'tldctl.js');


function must(r: ReturnType<typeof spawnSync>, what: string): void {
  if (r.status !== 0) throw new Error(`${what} failed: ${String(r.stderr)}${String(r.stdout)}`);
}

export function runLoadBench(quick: boolean): LoadFigures {
  if (!fs.existsSync(tldctl)) throw new Error(`${tldctl} is missing: run npm run build`);
  const file = path.join(repoRoot, 'bpf', 'templates', 'hint_sampler.bpf.c');
  const pinDir = `/sys/fs/bpf/tld-bench-load-${process.pid}`;
  const pinRoot = `${pinDir}/progs`;
  const bare = `${pinDir}/bare`;
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'tld-bench-cache-'));
  const env = { ...process.env, TLD_PIN_DIR: pinDir, TLD_STUDIO_PIN_ROOT: pinRoot, XDG_CACHE_HOME: cache };
  const obj = path.join(cache, 'bare.o');
  const rounds = quick ? 3 : 7;
  const ours: number[] = [];
  const theirs: number[] = [];
  const nodeStart: number[] = [];
  let pchCompile = 0;
  process.stderr.write(`bench: compile + check + load, ${rounds} rounds ...\n`);
  try {
    // vmlinux.h is made once and cached: warm it outside the timing, for both sides. Then the
    // compile that makes tldctl's precompiled vmlinux.h, timed on its own.
    must(spawnSync(process.execPath, [tldctl, 'compile', file], { env, encoding: 'utf8' }), 'tldctl compile');
    fs.rmSync(path.join(cache, 'tld-studio', 'pch'), { recursive: true, force: true });
    let t0 = performance.now();
    must(spawnSync(process.execPath, [tldctl, 'compile', file], { env, encoding: 'utf8' }), 'tldctl compile');
    pchCompile = performance.now() - t0;
    const vmlinux = path.join(cache, 'tld-studio', 'vmlinux', os.release());
    // The same flags as tldctl's, in the same order: like against like.
    const includes = [vmlinux, ...bpfIncludeDirs()].flatMap((d) => ['-I', d]);
    const clangArgs = [...DEFAULT_CFLAGS, '-D__TARGET_ARCH_x86', '-fno-color-diagnostics', ...includes, '-c', file, '-o', obj];
    for (let i = 0; i < rounds; i++) {
      t0 = performance.now();
      const r = spawnSync(process.execPath, [tldctl, 'load', file], { env, encoding: 'utf8' });
      ours.push(performance.now() - t0);
      must(r, 'tldctl load');
      const id = /program id\(s\) (\d+)/.exec(r.stdout)?.[1] ?? '';
      must(spawnSync(process.execPath, [tldctl, 'unload', id], { env, encoding: 'utf8' }), 'tldctl unload');

      t0 = performance.now();
      must(spawnSync('clang-19', clangArgs, { encoding: 'utf8' }), 'clang');
      must(spawnSync('bpftool', ['prog', 'loadall', obj, bare], { encoding: 'utf8' }), 'bpftool prog loadall');
      theirs.push(performance.now() - t0);
      fs.rmSync(bare, { recursive: true, force: true });

      t0 = performance.now();
      must(spawnSync(process.execPath, ['-e', '0'], { encoding: 'utf8' }), 'node -e 0');
      nodeStart.push(performance.now() - t0);
    }
  } finally {
    fs.rmSync(pinDir, { recursive: true, force: true });
    fs.rmSync(cache, { recursive: true, force: true });
  }
  return {
    file: path.relative(repoRoot, file),
    rounds,
    tldctl_ms: Number(median(ours).toFixed(1)),
    bare_ms: Number(median(theirs).toFixed(1)),
    node_start_ms: Number(median(nodeStart).toFixed(1)),
    pch_compile_ms: Number(pchCompile.toFixed(1)),
  };
}

export function loadFigures(l: LoadFigures): Figure[] {
  // Node's own start is a floor under any tldctl: the floor plus it, as a ratio, says how near.
  const node = `node -e 0 alone takes ${l.node_start_ms} ms here: the floor plus Node's start is ${((l.bare_ms + l.node_start_ms) / l.bare_ms).toFixed(2)}x`;
  const pch = `tldctl's clang reads a precompiled vmlinux.h, made by the first compile for a kernel and flags (that compile: ${l.pch_compile_ms} ms)`;
  return [ratioFigure(`compile + check + load of ${l.file} through tldctl (median of ${l.rounds})`, l.tldctl_ms, 'ms', 'clang + bpftool prog loadall of the same file, same flags, alternating', l.bare_ms, 1.1, `${node}; ${pch}`)];
}
