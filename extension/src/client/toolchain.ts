// The libbpf and bpftool TLD Studio builds with, as scripts/libbpf.sh records them in
// toolchain.json (this file mirrors the shape that script writes).
import * as fs from 'node:fs';

/** Oldest versions today's sched_ext schedulers build with (struct_ops.link, struct_ops.s, skeletons). */
export const LIBBPF_MIN = '1.5.0';
export const BPFTOOL_MIN = '7.5.0';

export interface Toolchain {
  readonly libbpf: {
    /** "system": the distribution's (pkg-config), "cache": built by scripts/libbpf.sh. */
    readonly source: 'system' | 'cache';
    readonly version: string;
    /** The folder holding bpf/libbpf.h, bpf/bpf_helpers.h... */
    readonly include: string;
    /** The static libbpf.a, when it is the cached one. */
    readonly static: string | null;
    /** How long building the cached one took (download, unpack, compile). */
    readonly buildSeconds: number | null;
  };
  readonly bpftool: { readonly path: string; readonly version: string };
  /** The file it was read from. */
  readonly file: string;
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** toolchain.json's text as a Toolchain, or null when it is not one. */
export function parseToolchain(text: string, file: string): Toolchain | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObj(v) || v.format !== 1 || !isObj(v.libbpf) || !isObj(v.bpftool)) return null;
  const l = v.libbpf;
  const b = v.bpftool;
  if ((l.source !== 'system' && l.source !== 'cache') || !isStr(l.version) || !isStr(l.include)) return null;
  if (!(l.static === null || isStr(l.static)) || !(l.buildSeconds === null || typeof l.buildSeconds === 'number')) return null;
  if (!isStr(b.path) || !isStr(b.version)) return null;
  return {
    libbpf: { source: l.source, version: l.version, include: l.include, static: l.static, buildSeconds: l.buildSeconds },
    bpftool: { path: b.path, version: b.version },
    file,
  };
}

/** The first readable, valid toolchain.json of @files, or null. */
export function loadToolchain(files: readonly string[]): Toolchain | null {
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const t = parseToolchain(text, f);
    if (t) return t;
  }
  return null;
}

/** a >= b for dotted version numbers ("1.5.0" >= "1.5"); a Debian revision or suffix is ignored. */
export function versionAtLeast(a: string, b: string): boolean {
  const nums = (s: string): number[] => (s.replace(/^\d+:/, '').split(/[-+~ ]/)[0] ?? '').split('.').map((x) => Number(x) || 0);
  const x = nums(a);
  const y = nums(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}
