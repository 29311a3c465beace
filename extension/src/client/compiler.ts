// Compiling BPF C with clang, and clang's output as structured diagnostics.
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TldError } from './errors';
import { lookupTool } from './hostTool';
import { bpfIncludeDirs, cacheDir } from './paths';
import { PchRequest, buildPch, keptPch, learnFromCompile, planPch, pchRefused } from './vmlinuxPch';

export type Severity = 'error' | 'warning' | 'note';

/** Another place that explains a diagnostic: where a pointer came from, the call an inlined line sits in. */
export interface RelatedLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface Diagnostic {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly severity: Severity;
  readonly message: string;
  /** Which step said it. */
  readonly source: 'clang' | 'check' | 'verifier' | 'build';
  readonly related?: readonly RelatedLocation[];
}

export interface CompileResult {
  readonly ok: boolean;
  readonly object: string;
  readonly diagnostics: Diagnostic[];
  readonly command: readonly string[];
}

export interface CompileOptions {
  readonly clang?: string;
  /** Folder holding vmlinux.h; default: made from the running kernel's BTF and cached. */
  readonly vmlinuxDir?: string;
  readonly output?: string;
  /** The user's include folders (-I DIR), searched before TLD Studio's and libbpf's headers. */
  readonly includeDirs?: readonly string[];
  /** The user's compiler flags (--cflag), after the defaults so that they win. */
  readonly cflags?: readonly string[];
  readonly extraFlags?: readonly string[];
  /**
   * What choosing the build's kernel and flags said (buildOptions.ts): notes shown with the
   * build, or an error that stops it before clang runs.
   */
  readonly preflight?: readonly Diagnostic[];
  /** Use (and make once) a precompiled vmlinux.h when it can stand in (vmlinuxPch.ts); default true. */
  readonly precompiledVmlinux?: boolean;
}

/** What every build gets first: debug info for line info, the BPF target, and the ISA of today's schedulers (atomics need v3). */
export const DEFAULT_CFLAGS: readonly string[] = ['-g', '-O2', '-target', 'bpf', '-mcpu=v3'];

const DIAG = /^(.+?):(\d+):(\d+): (fatal error|error|warning|note): (.*)$/;

/** clang's "file:line:col: severity: message" lines; other lines are context and dropped. */
export function parseClangDiagnostics(stderr: string, cwd = process.cwd()): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const line of stderr.split('\n')) {
    const m = DIAG.exec(line);
    if (!m) continue;
    const [, file, l, c, sev, message] = m as unknown as [string, string, string, string, string, string];
    out.push({
      file: path.resolve(cwd, file),
      line: Number(l),
      column: Number(c),
      severity: sev === 'fatal error' ? 'error' : (sev as Severity),
      message,
      source: 'clang',
    });
  }
  return out;
}

/** The clangs to try, in order: @preferred, or clang-19 then clang. */
export function clangCandidates(preferred?: string): string[] {
  return preferred ? [preferred] : ['clang-19', 'clang'];
}

/** The first clang of @candidates that runs, with its version ("19.1.7"), or null. */
export function clangVersion(candidates: readonly string[] = clangCandidates()): { clang: string; version: string } | null {
  for (const clang of candidates) {
    const r = spawnSync(clang, ['--version'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    const m = /clang version (\d+\.\d+\.\d+)/.exec(r.stdout);
    return { clang, version: m ? m[1]! : r.stdout.split('\n')[0]!.trim() };
  }
  return null;
}

function clangMissing(candidates: readonly string[]): TldError {
  return new TldError('ENOENT', `${candidates.join(' or ')} not found: install it with sudo apt-get install clang-19`);
}

/** A folder with vmlinux.h for the running kernel, made once with bpftool and cached. */
export function vmlinuxDir(): string {
  const dir = path.join(cacheDir(), 'vmlinux', os.release());
  const header = path.join(dir, 'vmlinux.h');
  if (fs.existsSync(header)) return dir;
  const bpftool = ['bpftool', '/usr/sbin/bpftool'].find((b) => spawnSync(b, ['version'], { stdio: 'ignore' }).status === 0);
  if (!bpftool) throw new TldError('ENOENT', 'bpftool not found: install it with sudo apt-get install bpftool');
  if (!fs.existsSync('/sys/kernel/btf/vmlinux')) {
    throw new TldError('ENOENT', 'the running kernel has no BTF (/sys/kernel/btf/vmlinux), so there is no vmlinux.h to make');
  }
  const r = spawnSync(bpftool, ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'c'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0) throw new TldError('EIO', `bpftool could not make vmlinux.h: ${r.stderr.trim()}`);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${header}.${process.pid}`;
  fs.writeFileSync(tmp, r.stdout);
  fs.renameSync(tmp, header);
  return dir;
}

/** The default object path: in the cache, one folder per source path. */
export function defaultObjectPath(file: string): string {
  const abs = path.resolve(file);
  const hash = crypto.createHash('sha256').update(abs).digest('hex').slice(0, 16);
  return path.join(cacheDir(), 'objects', hash, path.basename(abs).replace(/\.c$/, '') + '.o');
}

/**
 * Runs clang with @args in @cwd. @alongside: work to do meanwhile (making the precompiled header
 * the next compile uses), awaited before this returns, so that no clang outlives the compile.
 */
async function runClang(clang: string, args: readonly string[], cwd: string, alongside?: () => Promise<unknown>): Promise<{ code: number; stderr: string }> {
  // Its failure is not the compile's: without the header, the next compile parses vmlinux.h again.
  const other = alongside?.().catch(() => undefined);
  const result = await new Promise<{ code: number; stderr: string }>((resolve, reject) => {
    const child = spawn(clang, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c ?? 1, stderr: err }));
  });
  await other;
  return result;
}

/** Compiles @file with clang (DEFAULT_CFLAGS, then the user's) against vmlinux.h, the user's include folders, TLD Studio's and libbpf's headers. */
export async function compile(file: string, opts: CompileOptions = {}): Promise<CompileResult> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw new TldError('ENOENT', `${file} does not exist`);
  if (!/\.c$/.test(abs)) throw new TldError('EINVAL', `${file} is not a C source file (.c or .bpf.c)`);
  const object = opts.output ?? defaultObjectPath(abs);
  const preflight = opts.preflight ?? [];
  if (preflight.some((d) => d.severity === 'error')) return { ok: false, object, diagnostics: [...preflight], command: [] };
  fs.mkdirSync(path.dirname(object), { recursive: true });
  // vmlinux.h's folder first: the kernel chosen for the build wins over a vmlinux.h in a user's include folder.
  const headerDir = opts.vmlinuxDir ?? vmlinuxDir();
  const includes = [headerDir, ...(opts.includeDirs ?? []).map((d) => path.resolve(d)), ...bpfIncludeDirs()]
    .flatMap((d) => ['-I', d]);
  const userFlags = [...(opts.cflags ?? []), ...(opts.extraFlags ?? [])];
  const flags = [...DEFAULT_CFLAGS, `-D__TARGET_ARCH_${os.arch() === 'arm64' ? 'arm64' : 'x86'}`, '-fno-color-diagnostics', ...includes, ...userFlags];
  const candidates = clangCandidates(opts.clang);
  const clang = candidates.map((c) => lookupTool(c, process.env, false)).find((c) => c !== null);
  if (!clang) throw clangMissing(candidates);
  const cwd = path.dirname(abs);
  const output = ['-c', abs, '-o', object];
  const pchReq: PchRequest = { clang, source: abs, header: path.join(headerDir, 'vmlinux.h'), flags, userFlags };
  const { pch, learn } = opts.precompiledVmlinux === false ? {} : planPch(pchReq);
  const kept = pch && keptPch(pch);
  let args = kept ? [...flags, '-include-pch', kept, ...output] : [...flags, ...(learn ? ['-H'] : []), ...output];
  let { code, stderr } = await runClang(clang, args, cwd, pch && !kept ? () => buildPch(pchReq, pch) : undefined);
  if (learn) stderr = learnFromCompile(pchReq, learn, stderr, cwd);
  if (kept && code !== 0 && pchRefused(stderr, kept)) {
    // A header or clang changed under the kept one in a way its name missed: build without it.
    fs.rmSync(kept, { force: true });
    args = [...flags, ...output];
    ({ code, stderr } = await runClang(clang, args, cwd));
  }
  const command = [clang, ...args];
  const diagnostics = [...preflight, ...parseClangDiagnostics(stderr, cwd)];
  if (code !== 0 && !diagnostics.some((d) => d.severity === 'error' && d.source === 'clang')) {
    diagnostics.push({ file: abs, line: 1, column: 1, severity: 'error', message: stderr.trim() || `clang exited ${code}`, source: 'clang' });
  }
  if (code !== 0) fs.rmSync(object, { force: true });
  return { ok: code === 0, object, diagnostics, command };
}
