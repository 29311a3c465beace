// Compile, check, load: one flow from a BPF C file to loaded programs, with every problem
// (clang's, the check's, the verifier's) as a diagnostic at its source line.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { CompileOptions, CompileResult, Diagnostic, RelatedLocation, compile } from './compiler';
import { ProgramSource, SourceFrame } from './insnSource';
import { bpfIncludeDirs } from './paths';
import { Finding, LoadResult, RawHelper } from './protocol';

/** The helper calls the flow needs: checking needs no privileges, loading does. */
export type Checker = Pick<RawHelper, 'objectCheck'>;
export type Loader = Pick<RawHelper, 'objectCheck' | 'objectLoad'>;
import { VerifierError, parseVerifierLog } from './verifierLog';

export interface BuildOutcome {
  readonly compile: CompileResult;
  readonly findings: readonly Finding[];
  /** Everything to show, clang's first, at source lines. */
  readonly diagnostics: readonly Diagnostic[];
  readonly load?: LoadResult;
  readonly verifier?: VerifierError;
}

/** The line of @source that declares @subject (a map, program or struct), or 1. */
function lineOf(source: string, subject: string): number {
  const lines = source.split('\n');
  const word = new RegExp(`\\b${subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`);
  const decl = lines.findIndex((l) => word.test(l) && /SEC\(|struct\s|\(/.test(l));
  const any = decl >= 0 ? decl : lines.findIndex((l) => word.test(l));
  return any >= 0 ? any + 1 : 1;
}

function findingDiagnostic(file: string, source: string, f: Finding): Diagnostic {
  return {
    file,
    line: f.code === 'no-license' ? 1 : lineOf(source, f.subject),
    column: 1,
    severity: f.severity,
    message: f.message,
    source: 'check',
  };
}

/** The file a verifier annotation names: the source itself, or a header beside it or in the include folders. */
function resolveAnnotated(name: string, sourceFile: string): string {
  if (path.basename(sourceFile) === name || path.resolve(path.dirname(sourceFile), name) === sourceFile) return sourceFile;
  for (const dir of [path.dirname(sourceFile), ...bpfIncludeDirs()]) {
    const candidate = path.resolve(dir, name);
    if (fs.existsSync(candidate)) return candidate;
  }
  return path.resolve(path.dirname(sourceFile), name);
}

/** What to say about an instruction the compiler merged from several lines (DWARF line 0). */
function mergedNote(merged: SourceFrame['merged']): string {
  if (!merged) return '';
  return merged.twin
    ? ` The compiler merged this access from several inlined copies of ${merged.func}(); this is its line there.`
    : ` The compiler merged this instruction from several lines of ${merged.func}(), inlined here: the access is in it.`;
}

/** The first frame's place, with the line the kernel annotated as the fallback. */
function place(sourceFile: string, frame: SourceFrame | undefined, file: string | undefined, line: number | undefined): { file: string; line: number; column: number } {
  if (frame) return { file: resolveAnnotated(frame.file, sourceFile), line: frame.line, column: Math.max(1, frame.column) };
  return { file: file ? resolveAnnotated(file, sourceFile) : sourceFile, line: line ?? 1, column: 1 };
}

/**
 * The verifier's error at the source of the failing instruction. With the @object that was
 * loaded, the instruction is found in it as libbpf laid the program out, and its line and
 * column come from the object's debug info (through inlined functions: each call site is a
 * related location); without it, or when that fails, the line the kernel annotated is used.
 * Where the log shows where the register came from (a lookup that may fail), that line is
 * related too.
 */
export function verifierDiagnostic(sourceFile: string, v: VerifierError, object?: string): Diagnostic {
  return placeVerifierError(sourceFile, v, object).diagnostic;
}

/** verifierDiagnostic, and the name of the program the log belongs to (found in @object when it is given). */
export function placeVerifierError(sourceFile: string, v: VerifierError, object?: string): { diagnostic: Diagnostic; program: string } {
  const where = v.insn !== undefined ? ` (instruction ${v.insn}${v.insnText ? `: ${v.insnText}` : ''})` : '';
  const program = object ? ProgramSource.open(object, v.program, v.printed) : undefined;
  // The failing instruction and the one that made its value, looked up together.
  const looked = program && v.insn !== undefined
    ? program.framesOf([{ index: v.insn, ...(v.opcode !== undefined ? { opcode: v.opcode } : {}) }, ...(v.origin ? [{ index: v.origin.insn, ...(v.origin.opcode !== undefined ? { opcode: v.origin.opcode } : {}) }] : [])])
    : [];
  const frames = looked[0] ?? [];
  const at = place(sourceFile, frames[0], v.file, v.line);
  const related: RelatedLocation[] = [];
  for (let i = 1; i < frames.length; i++) {
    const f = frames[i] as SourceFrame;
    // BPF_PROG(NAME) puts the body in ____NAME, inlined into NAME: the user knows it as NAME.
    const shown = (func: string | undefined) => func?.replace(/^____/, '');
    const inner = shown(frames[i - 1]?.func);
    if (inner && inner === shown(f.func)) continue;
    related.push({ ...place(sourceFile, f, undefined, undefined), message: `${inner ? `${inner}() ` : ''}inlined into ${f.func ? `${shown(f.func)}()` : 'its caller'} here` });
  }
  const merged = frames[0]?.merged;
  if (merged?.file && merged.line) {
    related.push({ file: resolveAnnotated(merged.file, sourceFile), line: merged.line, column: 1, message: `${merged.func}(), whose lines the failing instruction was merged from` });
  }
  if (v.origin) {
    const o = v.origin;
    const from = looked[1]?.[0];
    if (from || o.line !== undefined) {
      const reg = /^(R\d+) /.exec(v.message)?.[1] ?? /\bR\d+\b/.exec(v.summary)?.[0];
      const what = o.call ? `${o.call}() returns it here` : 'it comes from here';
      const nullable = /or_null|NULL/.test(v.message) ? ' (it may be NULL)' : '';
      related.push({ ...place(sourceFile, from, o.file, o.line), message: `${reg ? `${reg}: ` : ''}${what}, as ${o.type}${nullable}` });
    }
  }
  const diagnostic: Diagnostic = {
    file: at.file,
    line: at.line,
    column: at.column,
    severity: 'error',
    message: `${v.summary}${mergedNote(frames[0]?.merged)} [verifier: ${v.message}${where}]`,
    source: 'verifier',
    ...(related.length ? { related } : {}),
  };
  return { diagnostic, program: program?.name ?? v.program };
}

/**
 * Compiles @file and checks the object; loads nothing. When only compiling (@forLoad false),
 * a scheduler this kernel cannot run is a note: the object is fine, for a VM.
 */
export async function compileAndCheck(helper: Checker, file: string, opts: CompileOptions = {}, forLoad = false): Promise<BuildOutcome> {
  return checkCompiled(helper, file, await compile(file, opts), forLoad);
}

/** compileAndCheck after the compile: checks the object @result made from @file. */
export async function checkCompiled(helper: Checker, file: string, result: CompileResult, forLoad = false): Promise<BuildOutcome> {
  if (!result.ok) return { compile: result, findings: [], diagnostics: result.diagnostics };
  const source = fs.readFileSync(file, 'utf8');
  const findings = await helper.objectCheck(result.object);
  const abs = path.resolve(file);
  const shown = (f: Finding): Diagnostic => {
    const d = findingDiagnostic(abs, source, f);
    return !forLoad && f.code === 'no-sched-ext' ? { ...d, severity: 'note' } : d;
  };
  return {
    compile: result,
    findings,
    diagnostics: [...result.diagnostics, ...findings.map(shown)],
  };
}

/**
 * Compiles, checks and, when nothing is in the way, loads @file (attaching with @attach).
 * A verifier rejection comes back as a diagnostic at the failing source line, with the whole
 * log in `load.log`.
 */
export async function compileCheckLoad(
  helper: Loader,
  file: string,
  pinRoot: string,
  attach: boolean,
  opts: CompileOptions = {},
): Promise<BuildOutcome> {
  return loadCompiled(helper, file, await compile(file, opts), pinRoot, attach);
}

/**
 * compileCheckLoad after the compile (@compiled, the result of compiler.compile): a caller that
 * starts clang first can open the helper while clang runs.
 */
export async function loadCompiled(helper: Loader, file: string, compiled: CompileResult, pinRoot: string, attach: boolean): Promise<BuildOutcome> {
  const checked = await checkCompiled(helper, file, compiled, true);
  if (!checked.compile.ok || checked.findings.some((f) => f.severity === 'error')) return checked;
  const load = await helper.objectLoad(checked.compile.object, pinRoot, attach);
  if (load.ok) return { ...checked, load };
  const parsed = load.log ? parseVerifierLog(load.log, load.failedProgram) : undefined;
  const abs = path.resolve(file);
  const placed = parsed ? placeVerifierError(abs, parsed, checked.compile.object) : undefined;
  // The program the log's instructions belong to, which the object tells better than the loader.
  const verifier = parsed && placed ? { ...parsed, program: placed.program } : undefined;
  const failure: Diagnostic = placed?.diagnostic
    ?? { file: abs, line: 1, column: 1, severity: 'error', message: load.error?.message ?? 'the load failed', source: 'verifier' };
  return { ...checked, load, ...(verifier ? { verifier } : {}), diagnostics: [...checked.diagnostics, failure] };
}

/** "file:line:col: severity: message", which terminals and editors jump to; related places follow as notes. */
export function formatDiagnostic(d: Diagnostic, cwd = process.cwd()): string {
  const shown = (file: string): string => {
    const rel = path.relative(cwd, file);
    return rel && !rel.startsWith('..') ? rel : file;
  };
  const notes = (d.related ?? []).map((r) => `\n${shown(r.file)}:${r.line}:${r.column}: note: ${r.message}`);
  return `${shown(d.file)}:${d.line}:${d.column}: ${d.severity}: ${d.message}${notes.join('')}`;
}
